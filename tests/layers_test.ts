/**
 * The import graph (`deno info --json` of mod.ts and every task) has no circle between files,
 * and every import goes down the layers below or stays in its folder: a model knows nothing of
 * tasks, training knows no architecture, the kernels' wrappers know no model.
 */

import assert from "node:assert/strict";
import { relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** Lowest first; a folder may import its own files and any folder of a lower layer. */
export const LAYERS: readonly (readonly string[])[] = [
  ["src"], // cli, io, random, safetensors, progress, debug: no project imports
  ["src/gpu", "src/plot"],
  ["src/ops"],
  ["src/reference"],
  ["src/likelihood"],
  ["src/data"],
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

async function _graph(): Promise<Map<string, string[]>> {
  const roots = ["mod.ts", ...[...Deno.readDirSync(`${ROOT}tasks`)].map((e) => `tasks/${e.name}`)];
  const graph = new Map<string, string[]>();
  const local = (s: string) =>
    s.startsWith(`file://${ROOT}`) ? relative(ROOT, new URL(s).pathname) : null;
  for (const r of roots.filter((f) => f.endsWith(".ts"))) {
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
      const deps = (m.dependencies ?? []).flatMap((d: { code?: { specifier?: string } }) => {
        const to = d.code?.specifier ? local(d.code.specifier) : null;
        return to && !to.endsWith(".wgsl") ? [to] : [];
      });
      graph.set(from, deps);
    }
  }
  return graph;
}

const graph = await _graph();

Deno.test("every import stays in its folder or goes to a lower layer", () => {
  const wrong: string[] = [];
  for (const [from, deps] of graph) {
    for (const to of deps) {
      const a = _folder(from), b = _folder(to);
      if (a !== b && _layer(b) > _layer(a)) wrong.push(`${from} -> ${to} (${a} is below ${b})`);
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(graph.size > 100, `only ${graph.size} modules: is deno info reading the project?`);
});

Deno.test("no circle between files", () => {
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
  assert.deepEqual(circles, []);
});
