/**
 * Every TypeScript mirror of a kernel's uniform struct (`/** Mirror of \`struct Shape\` in
 * linear_forward{,_tiled,_subgroup}.wgsl. *\/ export const LinearShape = struct({...})`) has
 * the WGSL struct's fields, in its order, with its types, in every kernel it names: a field
 * added to one side only would shift every field after it.
 */

import assert from "node:assert/strict";
import { relative } from "node:path";
import { assembleKernel, kernelFilesFromDisk } from "../src/gpu/kernel_source.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const KERNELS = [...Deno.readDirSync(`${ROOT}kernels`)].map((e) => e.name).filter((n) =>
  n.endsWith(".wgsl")
);

/** "a_{x,y}{,_z}.wgsl and b.wgsl" or "every <name>_output.wgsl" -> the kernel files it names. */
function _kernelsNamed(spec: string): string[] {
  const out: string[] = [];
  for (let part of spec.split(/\s+and\s+/)) {
    part = part.trim().replace(/^kernels\//, "").replace(/\s*\(a prefix\)$/, "");
    const every = /^every <name>(\S+\.wgsl)$/.exec(part);
    let patterns = [every ? `*${every[1]}` : part];
    // Brace expansion, innermost first, each option (the empty one too) in turn.
    while (patterns.some((p) => p.includes("{"))) {
      patterns = patterns.flatMap((p) => {
        const m = /\{([^{}]*)\}/.exec(p);
        return m
          ? m[1].split(",").map((o) => p.slice(0, m.index) + o + p.slice(m.index + m[0].length))
          : [p];
      });
    }
    for (const p of patterns) {
      const re = new RegExp(`^${p.replace(/[.]/g, "\\.").replace(/\*/g, ".*")}$`);
      const hits = KERNELS.filter((k) => re.test(k));
      assert.ok(hits.length > 0, `"${spec}" names ${p}, which is no kernel`);
      out.push(...hits);
    }
  }
  return out;
}

/** The fields of `struct name` in a WGSL source, as [field, type]. */
function _wgslStruct(source: string, name: string): [string, string][] | null {
  const m = new RegExp(`struct\\s+${name}\\s*\\{([^}]*)\\}`).exec(source.replace(/\/\/.*$/gm, ""));
  if (!m) return null;
  return [...m[1].matchAll(/(\w+)\s*:\s*(\w+)/g)].map((f) => [f[1], f[2]]);
}

const MIRROR =
  /Mirror of `struct (\w+)` in ([^*]*?\.wgsl(?: \(a prefix\))?)[\s\S]*?export const (\w+)\s*=\s*struct\(/g;

Deno.test("every TS uniform mirror matches its WGSL struct in every kernel it names", async () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(`${dir}/${e.name}`);
      else if (e.name.endsWith(".ts")) files.push(`${dir}/${e.name}`);
    }
  };
  walk(`${ROOT}src`);
  const wrong: string[] = [];
  let mirrors = 0, checked = 0;
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    const found = [...text.matchAll(MIRROR)];
    if (found.length === 0) continue;
    const mod = await import(`file://${file}`);
    for (const [, name, spec, exported] of found) {
      mirrors++;
      const layout = mod[exported]?.layout as Record<string, string> | undefined;
      assert.ok(layout, `${relative(ROOT, file)}: ${exported} is no exported struct`);
      const ts = Object.entries(layout);
      for (const k of _kernelsNamed(spec.replace(/\s+/g, " "))) {
        checked++;
        // The assembled text: a struct may come from an included library.
        const code = assembleKernel(k, kernelFilesFromDisk(new URL("../kernels/", import.meta.url)))
          .code;
        const wgsl = _wgslStruct(code, name);
        // A kernel that reads only the first fields may declare just those (same offsets), if
        // the mirror's comment says so; otherwise the fields must be the same.
        const prefix = /\(a prefix\)/.test(spec) && wgsl !== null && wgsl.length < ts.length &&
          JSON.stringify(wgsl) === JSON.stringify(ts.slice(0, wgsl.length));
        if (wgsl === null) wrong.push(`${k} has no struct ${name} (${exported} mirrors it)`);
        else if (!prefix && JSON.stringify(wgsl) !== JSON.stringify(ts)) {
          wrong.push(
            `${k} struct ${name}: ${JSON.stringify(wgsl)}; ${exported}: ${JSON.stringify(ts)}`,
          );
        }
      }
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(mirrors >= 29 && checked >= mirrors, `${mirrors} mirrors, ${checked} kernels checked`);
});
