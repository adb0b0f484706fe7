/**
 * The import graph (`deno info --json` of mod.ts, every task and every file under src/, so that
 * the f64 references the tests alone import are in it) has no circle between files or folders,
 * and every import goes down the layers below or stays in its folder: a model knows nothing of
 * tasks, training knows no architecture, the kernels' wrappers know no model. Type-only imports
 * count as well, for the layers and the circles: a type lives in the layer (and the file) that owns
 * it, at or below everything that names it.
 */

import assert from "node:assert/strict";
import { relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** Lowest first; a folder may import its own files and any folder of a lower layer. */
const LAYERS: readonly (readonly string[])[] = [
  ["src"], // cli, io, random, safetensors, progress, debug: no project imports
  ["src/gpu", "src/plot"],
  ["src/ops"],
  ["src/data"],
  ["src/reference"],
  ["src/likelihood"],
  ["src/model"],
  ["src/conv", "src/mlp"],
  ["src/train"],
  ["src/study"],
  ["src/bench", "src/course"],
  ["src/report", "src/doctor", "src/explore"],
  ["src/app"],
  ["tasks", "mod.ts"],
];

function _layer(folder: string): number {
  const i = LAYERS.findIndex((l) => l.includes(folder));
  if (i < 0) throw new Error(`${folder} is in no layer: add it to LAYERS in tests/layers_test.ts`);
  return i;
}

/** src/ops/linear.ts -> src/ops; src/cli.ts -> src; tasks/x.ts -> tasks; mod.ts -> mod.ts. */
function _folder(file: string): string {
  const parts = file.split("/");
  if (parts.length === 1) return file;
  return parts[0] === "src" && parts.length > 2 ? `src/${parts[1]}` : parts[0];
}

/** Every .ts file under `dir` (relative to the root), depth first. */
function _files(dir: string): string[] {
  return [...Deno.readDirSync(`${ROOT}${dir}`)].flatMap((e) =>
    e.isDirectory ? _files(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : []
  );
}

/** Each file's imports: `code` those that run, `types` the type-only ones. */
async function _graph(): Promise<{ code: Map<string, string[]>; types: Map<string, string[]> }> {
  const roots = ["mod.ts", ..._files("tasks"), ..._files("src")];
  const code = new Map<string, string[]>(), types = new Map<string, string[]>();
  const local = (s?: string) =>
    s?.startsWith(`file://${ROOT}`) && !s.endsWith(".wgsl")
      ? relative(ROOT, new URL(s).pathname)
      : null;
  for (const r of roots) {
    if (code.has(r)) continue;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", r],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.ok(out.success, `deno info ${r} failed`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    for (const m of info.modules) {
      const from = local(m.specifier);
      if (!from) continue;
      type Dep = { code?: { specifier?: string }; type?: { specifier?: string } };
      const deps: Dep[] = m.dependencies ?? [];
      code.set(from, deps.flatMap((d) => local(d.code?.specifier) ?? []));
      types.set(from, deps.flatMap((d) => local(d.type?.specifier) ?? []));
    }
  }
  return { code, types };
}

/** The circles of a graph, each as "a -> b -> a". */
function _circles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, "open" | "done">(), path: string[] = [];
  const circles: string[] = [];
  const visit = (f: string) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") {
      circles.push([...path.slice(path.indexOf(f)), f].join(" -> "));
      return;
    }
    state.set(f, "open");
    path.push(f);
    for (const d of graph.get(f) ?? []) visit(d);
    path.pop();
    state.set(f, "done");
  };
  for (const f of graph.keys()) visit(f);
  return circles;
}

const { code, types } = await _graph();

Deno.test("every import stays in its folder or goes to a lower layer", () => {
  const wrong: string[] = [];
  for (const [graph, what] of [[code, "imports"], [types, "imports types of"]] as const) {
    for (const [from, deps] of graph) {
      const a = _folder(from);
      for (const to of deps) {
        const b = _folder(to);
        if (a !== b && _layer(b) > _layer(a)) {
          wrong.push(`${from} ${what} ${to} (${a} is below ${b})`);
        }
      }
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(code.size > 100, `only ${code.size} modules: is deno info reading the project?`);
});

Deno.test("no circle between files, type-only imports included", () => {
  const files = new Map<string, string[]>();
  for (const graph of [code, types]) {
    for (const [from, deps] of graph) files.set(from, [...(files.get(from) ?? []), ...deps]);
  }
  assert.deepEqual(_circles(files), []);
});

Deno.test("no circle between folders, type-only imports included", () => {
  const folders = new Map<string, string[]>();
  for (const graph of [code, types]) {
    for (const [from, deps] of graph) {
      const a = _folder(from), out = folders.get(a) ?? [];
      for (const b of deps.map(_folder)) if (b !== a && !out.includes(b)) out.push(b);
      folders.set(a, out);
    }
  }
  assert.deepEqual(_circles(folders), []);
});
