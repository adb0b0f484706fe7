/**
 * The report reads only its runs: every path a manifest names resolves inside its run
 * directory (no `..`, no absolute path, no symlink out), only PNG and SVG files are shown or
 * linked as figures, a malformed manifest is skipped with its reason while the other runs
 * are reported, and `--out` inside a run directory is refused before anything is written.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { imageGrid, writePng } from "../src/plot/png.ts";
import { buildReport } from "../src/report/html.ts";
import { MANIFEST_VERSION } from "../src/report/manifest.ts";

const ROOT_DIR = new URL("..", import.meta.url).pathname;
const _write = (path: string, v: unknown) => Deno.writeTextFile(path, JSON.stringify(v));

function _manifest(task: string, extra: Record<string, unknown>) {
  return {
    version: MANIFEST_VERSION,
    task,
    title: `Hostile ${task}`,
    figures: [],
    adapter: "fixture adapter",
    created: "2026-12-07T08:00:00.000Z",
    commit: null,
    args: [],
    ...extra,
  };
}

/** A root with one good run, one whose manifest points out of it, and three malformed ones. */
async function _hostile(): Promise<{ base: string; root: string }> {
  const base = await Deno.makeTempDir({ prefix: "report_safety_" });
  const root = join(base, "out");
  const secret = join(base, "secret.png");
  await writePng(secret, imageGrid(new Float32Array(784), { h: 28, w: 28, rows: 1, cols: 1 }));
  await _write(join(base, "secret.json"), { password: "hunter2" });

  const good = join(root, "train-bernoulli");
  await Deno.mkdir(good, { recursive: true });
  await writePng(
    join(good, "ok.png"),
    imageGrid(new Float32Array(784).fill(0.5), { h: 28, w: 28, rows: 1, cols: 1 }),
  );
  await Deno.writeTextFile(join(good, "fig.html"), "<script>alert(1)</script>");
  await Deno.symlink(secret, join(good, "link.png"));
  await _write(
    join(good, "manifest.json"),
    _manifest("train-bernoulli", {
      figures: [
        { file: "ok.png", caption: "The run's own figure." },
        { file: "../../secret.png", caption: "Up and out." },
        { file: secret, caption: "Absolute." },
        { file: "link.png", caption: "A link out." },
        { file: "fig.html", caption: "Not an image." },
      ],
      metrics: "../../secret.json",
    }),
  );
  const bad = async (name: string, manifest: unknown) => {
    await Deno.mkdir(join(root, name));
    await _write(join(root, name, "manifest.json"), manifest);
  };
  await bad("null-manifest", null);
  await bad("no-args", { ..._manifest("infer", {}), args: undefined });
  await bad("figure-42", _manifest("interpolate", { figures: [{ file: 42, caption: "x" }] }));
  return { base, root };
}

Deno.test("report shows no file from outside a run and only PNG or SVG figures", async () => {
  const { base, root } = await _hostile();
  try {
    const r = await buildReport(root, join(root, "report"), { inline: true });
    assert.equal(r.runs.length, 1);
    assert.equal(r.figures, 1, "only ok.png is on the page");
    const [run] = r.runs;
    assert.equal(run.metrics, null, "a metrics file outside the run is not read");
    assert.doesNotMatch(r.html, /hunter2|secret\.json"|alert\(1\)|href="[^"]*fig\.html/);
    for (
      const why of [
        "../../secret.png: refused: the path leaves the run directory",
        "secret.png: refused: the path leaves the run directory",
        "link.png: refused: a link that leads out of the run directory",
        "fig.html: refused: not a PNG or SVG image",
        "../../secret.json: refused: the path leaves the run directory",
      ]
    ) {
      assert.ok(run.problems.some((p) => p.endsWith(why)), `no problem "${why}"`);
    }
    // The one embedded image is the run's own (a mid-grey PNG), not the black secret.
    assert.equal(r.html.match(/src="data:image\/png;base64,/g)?.length, 1);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("report skips malformed manifests with their reason and reports the rest", async () => {
  const { base, root } = await _hostile();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tasks/report.ts", "--in", root],
      cwd: ROOT_DIR,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.doesNotMatch(stderr, /TypeError|\n\s+at /);
    assert.match(stderr, /null-manifest\/manifest\.json: not a JSON object/);
    assert.match(stderr, /no-args\/manifest\.json: no args list/);
    assert.match(stderr, /figure-42\/manifest\.json: figure 1 has no file name or caption/);
    const page = await Deno.readTextFile(join(root, "report", "index.html"));
    assert.match(page, /Hostile train-bernoulli/);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("report --out inside a run directory exits 2 and leaves its manifest alone", async () => {
  const { base, root } = await _hostile();
  try {
    const manifest = join(root, "train-bernoulli", "manifest.json");
    const before = await Deno.readTextFile(manifest);
    for (const dir of ["train-bernoulli", "train-bernoulli/sub"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "tasks/report.ts", "--in", root, "--out", join(root, dir)],
        cwd: ROOT_DIR,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 2, stderr);
      assert.match(stderr, /holds the train-bernoulli run's manifest\.json/);
      assert.doesNotMatch(stderr, /\n\s+at /);
    }
    assert.equal(await Deno.readTextFile(manifest), before);
    assert.ok(!(await Deno.stat(join(root, "train-bernoulli", "index.html")).catch(() => null)));
    assert.ok(!(await Deno.stat(join(root, "train-bernoulli", "sub")).catch(() => null)));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
