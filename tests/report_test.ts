/**
 * `deno task report` on a fixture root whose runs were written by the project's own writers
 * (PNG grids, SVG charts, metrics, manifests), checked twice: the HTML's structure here, and
 * the page as a real headless Chromium renders it (puppeteer-core): every image decoded
 * (naturalWidth > 0), every section present in the course's order, nothing logged an error
 * or failed to load. A corrupted PNG must make that check fail, so it is not one that
 * cannot. CI installs Chromium and sets REQUIRE_CHROMIUM=1, so there it cannot be skipped.
 */

/// <reference lib="dom" />
import assert from "node:assert/strict";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { imageGrid, writePng } from "../src/plot/png.ts";
import { lineChart, scatterPlot, writeSvg } from "../src/plot/svg.ts";
import { writeManifest } from "../src/report/manifest.ts";
import { buildReport, SECTIONS } from "../src/report/html.ts";
import { chromiumPath } from "./helpers.ts";

const ROOT_DIR = new URL("..", import.meta.url).pathname;
const DATA = { dir: "/fixture/mnist", sha256: "ab".repeat(32) };

const CHROMIUM = chromiumPath();
if (!CHROMIUM && Deno.env.get("REQUIRE_CHROMIUM")) {
  throw new Error("REQUIRE_CHROMIUM is set but no Chromium was found (apt-get install chromium)");
}

/** A root with the runs of four tasks, an extra run of one of them, and a quick course. */
async function _fixture(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "report_fixture_" });
  const rand = (n: number, seed: number) =>
    Float32Array.from({ length: n }, (_, i) => (Math.sin(i * 12.9898 + seed) * 43758.5453) % 1);
  const grid = (seed: number) =>
    imageGrid(rand(8 * 784, seed).map(Math.abs), { h: 28, w: 28, rows: 2, cols: 4, scale: 2 });

  // A training run: curve, reconstructions, metrics, log.
  const bern = join(root, "train-bernoulli");
  await Deno.mkdir(bern);
  await writeSvg(
    join(bern, "elbo.svg"),
    lineChart({
      title: "train-bernoulli: negative ELBO per epoch",
      xLabel: "epoch",
      yLabel: "-ELBO",
      series: [{ name: "train", x: [1, 2, 3], y: [120, 100, 95] }],
    }),
  );
  await writePng(join(bern, "reconstructions.png"), grid(1));
  await Deno.writeTextFile(
    join(bern, "metrics.json"),
    JSON.stringify({
      likelihood: "bernoulli",
      test_neg_elbo: 95.123456,
      posterior_collapse: true,
      collapse: "posterior collapse: KL 0.02 nats per image, 0 of 16 latent units active",
      train_limit: 2000,
      eval_images: 500,
      data: DATA,
      note: "nats per image",
    }),
  );
  await writeManifest(bern, {
    task: "train-bernoulli",
    title: "Conv VAE, bernoulli likelihood",
    figures: [
      { file: "elbo.svg", caption: "The -ELBO per epoch." },
      { file: "reconstructions.png", caption: "Test images & their <reconstructions>." },
    ],
    metrics: "metrics.json",
    loss: "negative ELBO",
    adapter: "fixture adapter",
    data: DATA,
  });

  // A comparison table, read from JSON rows.
  const cmp = join(root, "compare-likelihoods");
  await Deno.mkdir(cmp);
  await writePng(join(cmp, "compare.png"), grid(2));
  await Deno.writeTextFile(
    join(cmp, "compare.json"),
    JSON.stringify({
      rows: [
        { likelihood: "bernoulli", test_neg_elbo: 95.1, test_bpd: null, adapter: "x" },
        { likelihood: "gaussian", test_neg_elbo: -2000.5, test_bpd: 1.234567, adapter: "x" },
      ],
      comparability: "words",
    }),
  );
  await writeManifest(cmp, {
    task: "compare-likelihoods",
    title: "The four likelihoods compared",
    figures: [{ file: "compare.png", caption: "Reconstructions and samples of `train-<x>`." }],
    tables: [{
      file: "compare.json",
      caption: "Which rows compare.",
      columns: [
        { key: "likelihood", label: "likelihood" },
        { key: "test_neg_elbo", label: "test -ELBO" },
        { key: "test_bpd", label: "bits/dim" },
        { key: "not_in_rows", label: "dropped" },
      ],
    }],
    metrics: "compare.json",
    adapter: "fixture adapter",
  });

  // A scatter, in the default directory and in an extra one of the same task.
  for (const name of ["latent-2d", "latent-2d-seed1"]) {
    const dir = join(root, name);
    await Deno.mkdir(dir);
    await writeSvg(
      join(dir, "latent_scatter.svg"),
      scatterPlot({
        x: [0, 1, 2, -1],
        y: [1, 0, -1, 2],
        labels: [0, 1, 2, 3],
        title: "mu",
        xLabel: "z1",
        yLabel: "z2",
      }),
    );
    await writeManifest(dir, {
      task: "latent-2d",
      title: "A 2-D latent space",
      figures: [{ file: "latent_scatter.svg", caption: "mu by digit." }],
      adapter: "fixture adapter",
    });
  }

  // The benchmark's entries.
  const bench = join(root, "bench");
  await Deno.mkdir(bench);
  await Deno.writeTextFile(
    join(bench, "bench.json"),
    JSON.stringify([{ name: "matmul 256^3", ms: 1.5, gflops: 22.4 }, {
      name: "MLP step",
      images_per_s: 1100,
    }]),
  );
  await writeManifest(bench, {
    task: "bench",
    title: "Benchmark",
    figures: [],
    tables: [{ file: "bench.json", caption: "Kernels and steps." }],
    adapter: "fixture adapter",
  });

  // A directory without a manifest (written by an older version) is not a run.
  await Deno.mkdir(join(root, "train-gaussian"));
  await Deno.writeTextFile(join(root, "train-gaussian", "metrics.json"), "{}");

  await Deno.mkdir(join(root, "course"));
  await Deno.writeTextFile(
    join(root, "course", "course.json"),
    JSON.stringify({
      version: 1,
      quick: true,
      started: "2026-01-02T03:04:05.000Z",
      finished: null,
      steps: [
        { task: "train-bernoulli", status: "ran", seconds: 75.2 },
        { task: "report", status: "planned", seconds: null },
      ],
    }),
  );
  return root;
}

async function _report(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/report.ts", ...args],
    cwd: ROOT_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** What Chromium made of the page: images, sections, errors, and a screenshot. */
async function _render(page: string, screenshot?: string) {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM!,
    headless: true,
    // As root (CI), Chromium refuses its sandbox; the page is our own file.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const tab = await browser.newPage();
    await tab.setViewport({ width: 1280, height: 900 });
    const errors: string[] = [];
    tab.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    tab.on("pageerror", (e) => errors.push(`page: ${(e as Error).message}`));
    tab.on("requestfailed", (r) => errors.push(`request failed: ${r.url().slice(0, 120)}`));
    await tab.goto(`file://${page}`, { waitUntil: "load" });
    const seen = await tab.evaluate(() => ({
      images: [...document.images].map((i) => ({
        src: i.getAttribute("src")!.slice(0, 80),
        ok: i.complete && i.naturalWidth > 0,
      })),
      sections: [...document.querySelectorAll("section")].map((s) => s.dataset.task!),
      headings: [...document.querySelectorAll("h2")].map((h) => h.textContent!),
      tables: document.querySelectorAll("table").length,
      offline: [...document.querySelectorAll("[src],[href]")]
        .map((e) => e.getAttribute("src") ?? e.getAttribute("href")!)
        .filter((u) => /^(https?:)?\/\//.test(u)),
    }));
    if (screenshot) await tab.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
    return { ...seen, errors };
  } finally {
    await browser.close();
  }
}

Deno.test("report: sections in the course's order, tables, quick marks, missing tasks", async () => {
  const root = await _fixture();
  try {
    const r = await buildReport(root, join(root, "report"), { now: new Date(0) });
    const html = r.html;
    assert.deepEqual(
      r.runs.map((x) => x.dir.slice(root.length + 1)),
      ["train-bernoulli", "compare-likelihoods", "latent-2d", "latent-2d-seed1", "bench"],
    );
    // Relative paths from the report's directory; captions escaped, never raw.
    assert.match(html, /<img src="..\/train-bernoulli\/reconstructions.png"/);
    assert.match(html, /Test images &#38; their &#60;reconstructions&#62;\./);
    assert.doesNotMatch(html, /<reconstructions>/);
    // Metrics: scalars as rows, numbers to five digits, nested data named, not dumped.
    assert.match(html, /<th>test_neg_elbo<\/th><td>95.123<\/td>/);
    assert.match(html, /Also in metrics.json: data\./);
    // compare.json as a table of rows (null as a dash), not also as metrics: only the
    // manifest's columns that the rows hold, under its labels, one precision per column.
    assert.match(html, /<th>likelihood<\/th><th>test -ELBO<\/th><th>bits\/dim<\/th><\/tr>/);
    assert.match(
      html,
      /<td>gaussian<\/td><td class="num">-2000.50<\/td><td class="num">1.235<\/td><\/tr>/,
    );
    assert.match(html, /<td>bernoulli<\/td><td class="num">95.10<\/td><td class="num">–<\/td>/);
    assert.doesNotMatch(html, /<th>adapter<\/th>|dropped/);
    // Markdown code spans in captions are code, escaped inside.
    assert.match(html, /samples of <code>train-&#60;x&#62;<\/code>\./);
    assert.doesNotMatch(html, /<th>comparability<\/th>/);
    // bench.json: the union of the entries' columns.
    assert.match(html, /<th>name<\/th><th>ms<\/th><th>gflops<\/th><th>images_per_s<\/th>/);
    // Quick course and small budgets are said.
    assert.match(html, /Quick course/);
    assert.match(html, /Course run: started 2026-01-02 03:04 UTC, 2 steps, 1 min 15 s of step/);
    assert.match(html, /<td>report<\/td><td>planned<\/td><td>–<\/td>/);
    assert.match(html, /small budget: quick course, 2000 training images, 500 evaluation images/);
    // A collapsed run carries a badge with the verdict; the others none.
    assert.match(
      html,
      /<span class="badge collapse" title="posterior collapse: KL 0.02 nats[^"]*">posterior collapse<\/span>/,
    );
    assert.equal(html.match(/class="badge collapse"/g)?.length, 1);
    // Every course section without a run is listed with its command; a directory without
    // a manifest does not count as a run.
    // The bench is not a course step: never listed as missing.
    const missing = SECTIONS.filter((s) => s.course !== false).map((s) => s.task).filter(
      (t) => !["train-bernoulli", "compare-likelihoods", "latent-2d", "bench"].includes(t),
    );
    assert.deepEqual(r.missing, missing);
    for (const t of missing) assert.match(html, new RegExp(`<code>deno task ${t}</code>`));
    assert.equal(r.figures, 5);
    // The run's facts: the command, adapter, commit, data.
    assert.match(html, /adapter fixture adapter/);
    assert.match(html, /sha256 abababababab/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("report: a figure the manifest names but that is gone is said, not a broken image", async () => {
  const root = await _fixture();
  try {
    await Deno.remove(join(root, "train-bernoulli", "reconstructions.png"));
    const r = await buildReport(root, join(root, "report"));
    assert.equal(r.figures, 4);
    assert.match(r.html, /reconstructions.png is missing: rerun <code>deno task train-bernoulli/);
    assert.doesNotMatch(r.html, /<img src="[^"]*reconstructions.png"/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("report task: refuses an input that is not there, or holds no runs", async () => {
  const empty = await Deno.makeTempDir();
  try {
    let r = await _report(["--in", join(empty, "nope")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /is not a directory of task outputs; run some tasks first/);
    r = await _report(["--in", empty]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no task outputs with a manifest.json under/);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test({
  name: "report in headless Chromium: every image decodes, every section, no errors",
  ignore: CHROMIUM === null,
  async fn() {
    const root = await _fixture();
    try {
      const r = await _report(["--in", root]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /wrote .*report\/index.html/);
      const page = join(root, "report", "index.html");
      const shot = Deno.env.get("REPORT_SCREENSHOT");
      const seen = await _render(page, shot);
      assert.deepEqual(seen.errors, []);
      assert.equal(seen.images.length, 5);
      for (const i of seen.images) assert.ok(i.ok, `${i.src} did not decode`);
      assert.deepEqual(seen.sections, [
        "train-bernoulli",
        "compare-likelihoods",
        "latent-2d",
        "latent-2d",
        "bench",
        "not-run",
      ]);
      assert.ok(seen.headings[3].includes("latent-2d-seed1/"), seen.headings[3]);
      assert.ok(seen.tables >= 3);
      assert.deepEqual(seen.offline, []);

      // The check can fail: a corrupted PNG is reported as not decoded.
      await Deno.writeFile(
        join(root, "train-bernoulli", "reconstructions.png"),
        new TextEncoder().encode("not a png"),
      );
      const bad = await _render(page);
      assert.deepEqual(
        bad.images.filter((i) => !i.ok).map((i) => i.src),
        ["../train-bernoulli/reconstructions.png"],
      );

      // --inline: one file that renders anywhere, the run directories out of reach.
      await writePng(
        join(root, "train-bernoulli", "reconstructions.png"),
        imageGrid(new Float32Array(784), { h: 28, w: 28, rows: 1, cols: 1 }),
      );
      const alone = join(root, "alone");
      assert.equal((await _report(["--in", root, "--out", alone, "--inline"])).code, 0);
      const moved = await Deno.makeTempDir();
      await Deno.copyFile(join(alone, "index.html"), join(moved, "index.html"));
      const inl = await _render(join(moved, "index.html"));
      await Deno.remove(moved, { recursive: true });
      assert.deepEqual(inl.errors, []);
      assert.equal(inl.images.length, 5);
      for (const i of inl.images) assert.ok(i.ok && i.src.startsWith("data:image/"), i.src);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
