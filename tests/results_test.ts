/**
 * `deno task results` on a fake course root: two training steps and one study, written with
 * the project's own PNG and SVG writers, with seeded random metrics so that a number on the
 * page can only have come from the files. The pure builder is checked on its own, then the
 * task as a user runs it: figures copied, hostile manifest paths refused, a bad root exit 2.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { imageGrid, writePng } from "../src/plot/png.ts";
import { lineChart, writeSvg } from "../src/plot/svg.ts";
import { seededRandom } from "../src/random.ts";
import { resultsMarkdown } from "../src/report/results.ts";
import { seedSpread } from "../src/report/results_extras.ts";
import { fmt } from "../src/report/results_format.ts";
import { MAX_FIGURE_BYTES, type PytorchRun, type StepEntry } from "../src/report/results_input.ts";
import { pytorchRun } from "../src/report/results_pytorch.ts";
import { type Manifest, MANIFEST_VERSION } from "../src/report/manifest.ts";

const PROJECT = new URL("..", import.meta.url).pathname;
const rand = seededRandom(20261207);
const between = (lo: number, hi: number) => lo + (hi - lo) * rand();

/** A training run's metrics.json, its numbers drawn at random. */
function _metrics(likelihood: string, epochs: number, continuous: boolean) {
  return {
    model: "conv",
    likelihood,
    data_space: continuous ? "8-bit grey levels, uniformly dequantized to (0, 1)" : "binary",
    latent: 16,
    binarize: continuous ? "none" : "static",
    epochs,
    best_epoch: epochs - 1,
    stopped_early: false,
    adapter: "fixture adapter",
    images_per_s: Math.round(between(100, 400)),
    train_images: 50000,
    batch: 256,
    lr: 0.001,
    loss: "negative ELBO",
    test_neg_elbo: between(80, 120) * (continuous ? -10 : 1),
    test_recon: between(60, 100),
    test_kl: between(5, 30),
    test_images: 10000,
    val_images: 10000,
    active_units: 10 + Math.floor(between(0, 6)),
    collapse: "no collapse: 12 of 16 units active (fixture words)",
    test_nll_is: between(70, 110) * (continuous ? -10 : 1),
    is_samples: 100,
    is_images: 1000,
    ...(continuous ? { test_bpd: between(1, 5), test_nll_is_bpd: between(1, 5) } : {}),
    best_val_neg_elbo: between(80, 120),
  };
}

function _log(epochs: number) {
  return Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1,
    train_neg_elbo: between(90, 200),
    train_recon: between(80, 180),
    train_kl: between(1, 20),
    val_neg_elbo: between(90, 200),
    val_recon: between(80, 180),
    val_kl: between(1, 20),
    val_active_units: 16 - i,
    seconds: between(100, 200),
    images_per_s: 300,
  }));
}

function _manifest(task: string, figures: Manifest["figures"], extra: Partial<Manifest> = {}) {
  return {
    version: MANIFEST_VERSION,
    task,
    title: `Fixture ${task}`,
    figures,
    adapter: "fixture adapter (vulkan)",
    created: "2026-12-07T06:01:02.000Z",
    commit: "0123456789abcdef0123456789abcdef01234567",
    args: ["--out", `out/standard/${task}`, "--epochs", "3"],
    ...extra,
  } satisfies Manifest;
}

const _write = (path: string, v: unknown) => Deno.writeTextFile(path, JSON.stringify(v, null, 2));

interface Fixture {
  base: string;
  root: string;
  pytorch: string;
  remedies: string;
  readme: string;
  bernoulli: ReturnType<typeof _metrics>;
  collapsed: ReturnType<typeof _metrics>;
  freeBits: ReturnType<typeof _metrics>;
  seed1: Record<string, unknown>;
  gaussian: ReturnType<typeof _metrics>;
  log: ReturnType<typeof _log>;
  infer: Record<string, unknown>;
}

/**
 * train-bernoulli (figures, one of each hostile kind), train-gaussian (no figures), infer (its
 * own results JSON), course.json; PyTorch files for Bernoulli (same epochs) and Gaussian (not).
 */
async function _fixture(): Promise<Fixture> {
  const base = await Deno.makeTempDir({ prefix: "results_fixture_" });
  globalThis.addEventListener("unload", () => Deno.removeSync(base, { recursive: true }));
  const root = join(base, "standard"), pytorch = join(base, "pytorch");
  const bern = join(root, "train-bernoulli"), gauss = join(root, "train-gaussian");
  const infer = join(root, "infer");
  for (const d of [bern, gauss, infer, pytorch, join(root, "course")]) {
    await Deno.mkdir(d, { recursive: true });
  }
  const bernoulli = _metrics("bernoulli", 3, false), gaussian = _metrics("gaussian", 3, true);
  const log = _log(3);

  const pixels = Float32Array.from({ length: 4 * 784 }, () => rand());
  await writePng(
    join(bern, "reconstructions.png"),
    imageGrid(pixels, { h: 28, w: 28, rows: 2, cols: 2 }),
  );
  await writeSvg(
    join(bern, "elbo.svg"),
    lineChart({
      title: "fixture",
      xLabel: "epoch",
      yLabel: "-ELBO",
      series: [{ name: "val", x: log.map((e) => e.epoch), y: log.map((e) => e.val_neg_elbo) }],
    }),
  );
  await Deno.writeTextFile(join(bern, "big.svg"), `<svg>${" ".repeat(MAX_FIGURE_BYTES + 1)}</svg>`);
  await Deno.writeTextFile(join(base, "secret.png"), "not the run's");
  await Deno.symlink(join(base, "secret.png"), join(bern, "escape.png"));
  await _write(join(bern, "metrics.json"), bernoulli);
  await _write(join(bern, "log.json"), log);
  await _write(
    join(bern, "manifest.json"),
    _manifest("train-bernoulli", [
      { file: "elbo.svg", caption: "The -ELBO per epoch." },
      { file: "reconstructions.png", caption: "Test images and their reconstructions." },
      { file: "../../etc/passwd", caption: "A path out of the run." },
      { file: "/etc/passwd", caption: "An absolute path." },
      { file: "escape.png", caption: "A link out of the run." },
      { file: "big.svg", caption: "A figure too large for docs/." },
    ], { metrics: "metrics.json", log: "log.json" }),
  );

  await _write(join(gauss, "metrics.json"), gaussian);
  await _write(
    join(gauss, "manifest.json"),
    _manifest("train-gaussian", [], { metrics: "metrics.json" }),
  );

  const inferJson = {
    task: "infer",
    optimizer: "sgd",
    lr: 0.001,
    images: 10,
    mean_neg_elbo_psi: between(80, 100),
    mean_gap: between(1, 5),
    gap_definition: "-ELBO(encoder q) - -ELBO(q(z | psi*)), nats; > 0 where psi* is the better q",
    per_image: [{ test_index: 7, gap: between(0, 3) }],
  };
  await _write(join(infer, "infer.json"), inferJson);
  await _write(join(infer, "manifest.json"), _manifest("infer", [], { metrics: "infer.json" }));

  const step = (task: string, status: string, seconds: number | null) => ({
    task,
    out: `out/standard/${task}`,
    status,
    seconds,
    command: `deno task ${task} --out out/standard/${task} --fixture-flag`,
    reason: "fixture",
  });
  await _write(join(root, "course", "course.json"), {
    version: 1,
    quick: false,
    budget: "standard",
    root: "out/standard",
    started: "2026-12-07T05:40:35.812Z",
    finished: null,
    steps: [
      step("train-bernoulli", "ran", between(900, 1000)),
      step("train-gaussian", "ran", between(900, 1000)),
      step("train-beta", "planned", null),
      step("infer", "ran", between(5, 10)),
    ],
  });

  const torch = (likelihood: string, epochs: number) => ({
    likelihood,
    epochs,
    test_neg_elbo: between(80, 120),
    test_nll_is: between(70, 110),
    is_samples: 100,
    is_images: 1000,
    test_bpd: null,
    test_nll_is_bpd: null,
    active_units: 11,
    seed: 0,
    framework: "torch 2.fixture",
    threads: 2,
    images_per_s: 250,
  });
  await _write(join(pytorch, "bernoulli.json"), torch("bernoulli", 3));
  await _write(join(pytorch, "gaussian.json"), torch("gaussian", 7));
  const seed1 = { ...torch("bernoulli", 3), seed: 1 };
  await _write(join(pytorch, "bernoulli-seed1.json"), seed1);

  // Remedies: the same Gaussian model collapsed, and with free bits; a study is not listed.
  const remedies = join(base, "remedies");
  const collapsed = { ..._metrics("gaussian", 2, true), posterior_collapse: true, active_units: 0 };
  const freeBits = { ..._metrics("gaussian", 2, true), posterior_collapse: false, free_bits: 0.5 };
  for (
    const [name, m, flags] of [
      ["plain", collapsed, ["--epochs", "2"]],
      ["free-bits", freeBits, ["--epochs", "2", "--free-bits", "0.5"]],
    ] as const
  ) {
    const dir = join(remedies, name);
    await Deno.mkdir(dir, { recursive: true });
    await _write(join(dir, "metrics.json"), m);
    await writePng(
      join(dir, "reconstructions.png"),
      imageGrid(pixels, { h: 28, w: 28, rows: 2, cols: 2 }),
    );
    await writeSvg(
      join(dir, "elbo.svg"),
      lineChart({ title: "f", xLabel: "e", yLabel: "l", series: [{ name: "v", x: [1], y: [1] }] }),
    );
    await _write(
      join(dir, "manifest.json"),
      _manifest("train-gaussian", [
        { file: "elbo.svg", caption: "Curves." },
        { file: "reconstructions.png", caption: "Reconstructions." },
      ], { metrics: "metrics.json", args: ["--out", dir, ...flags] }),
    );
  }
  const readme = join(base, "README.md");
  await Deno.writeTextFile(
    readme,
    "# Fixture\n\nBefore.\n\n<!-- results:begin -->\nold table\n<!-- results:end -->\n\nAfter.\n",
  );
  await Deno.mkdir(join(remedies, "study"));
  await _write(join(remedies, "study", "manifest.json"), _manifest("infer", []));
  return {
    base,
    root,
    pytorch,
    remedies,
    readme,
    bernoulli,
    gaussian,
    log,
    infer: inferJson,
    collapsed,
    freeBits,
    seed1,
  };
}

/** The page's section of step `name`: from its heading to the next experiment's. */
function _section(page: string, title: string): string {
  const start = page.indexOf(`. ${title}`);
  assert.ok(start >= 0, `no section titled ${title}`);
  const end = page.indexOf("\n## ", start);
  return page.slice(start, end < 0 ? undefined : end);
}

function _pureInput(fx: Fixture, torch: PytorchRun): Parameters<typeof resultsMarkdown>[0] {
  const entry = (name: string, metrics: Record<string, unknown> | null): StepEntry => ({
    name,
    task: name,
    command: `deno task ${name} --fixture-flag`,
    record: null,
    run: metrics
      ? {
        manifest: _manifest(name, []),
        metrics,
        metricsFile: "metrics.json",
        log: name === "train-bernoulli" ? fx.log : null,
        figures: [],
        problems: [],
      }
      : null,
    ...(name.startsWith("train-") ? { pytorch: { file: `pt/${name}.json`, run: torch } } : {}),
  });
  return {
    root: fx.root,
    course: null,
    command: "deno task results",
    steps: [
      entry("train-bernoulli", fx.bernoulli),
      entry("train-gaussian", { ...fx.gaussian, epochs: torch.epochs + 1 }),
      entry("train-beta", null),
    ],
  };
}

const fixture = _fixture();
const TORCH = pytorchRun({ likelihood: "bernoulli", epochs: 3, test_neg_elbo: 99.123 });

Deno.test("resultsMarkdown shows metrics.json's and log.json's numbers as the files hold them", async () => {
  const fx = await fixture;
  const page = resultsMarkdown(_pureInput(fx, TORCH as PytorchRun));
  const b = _section(page, "Fixture train-bernoulli"), m = fx.bernoulli;
  for (const v of [m.test_neg_elbo, m.test_recon, m.test_kl, m.best_val_neg_elbo]) {
    assert.ok(b.includes(`| ${fmt(v)} |`), `section lacks ${fmt(v)}`);
  }
  assert.ok(b.includes(`${fmt(m.test_nll_is)} (K = ${m.is_samples}, ${m.is_images} images)`));
  assert.ok(b.includes(`${m.active_units} of ${m.latent}`));
  assert.ok(b.includes(m.collapse));
  assert.ok(b.includes(`| ${m.images_per_s} |`));
  for (const e of fx.log) {
    const row = `| ${e.epoch} | ${fmt(e.train_neg_elbo)} | ${fmt(e.val_neg_elbo)} | ` +
      `${fmt(e.val_kl)} | ${e.val_active_units} | ${fmt(e.seconds)} |`;
    assert.ok(b.includes(row), `no epoch row ${row}`);
  }
  const g = _section(page, "Fixture train-gaussian");
  assert.ok(
    g.includes(fmt(fx.gaussian.test_bpd, 3)) && g.includes(fmt(fx.gaussian.test_nll_is_bpd, 3)),
  );
  // The summary at the top carries the same numbers.
  const summary = page.slice(0, page.indexOf("## 1."));
  assert.ok(
    summary.includes(fmt(m.test_neg_elbo)) && summary.includes(fmt(fx.gaussian.test_bpd, 3)),
  );
  assert.ok(summary.includes("not comparable with each other"));
});

Deno.test("resultsMarkdown lists a step without a run as not run, with its command", async () => {
  const page = resultsMarkdown(_pureInput(await fixture, TORCH as PytorchRun));
  const beta = _section(page, "Beta conv VAE (not run)");
  assert.ok(beta.includes("deno task train-beta --fixture-flag"));
  assert.match(page, /\| train-beta \| not run \|/);
});

Deno.test("resultsMarkdown sets PyTorch beside ours only when the epochs match", async () => {
  const fx = await fixture, torch = TORCH as PytorchRun;
  const page = resultsMarkdown(_pureInput(fx, torch));
  const b = _section(page, "Fixture train-bernoulli");
  const diff = fmt(fx.bernoulli.test_neg_elbo - torch.test_neg_elbo);
  assert.ok(b.includes(`| ${fmt(fx.bernoulli.test_neg_elbo)} | ${fmt(torch.test_neg_elbo)} |`));
  assert.ok(b.includes(diff.startsWith("-") ? diff : `+${diff}`), `no difference ${diff}`);
  const g = _section(page, "Fixture train-gaussian");
  assert.ok(g.includes("No PyTorch run at this budget"));
  assert.ok(!g.includes(fmt(torch.test_neg_elbo)));
});

Deno.test("seedSpread sets each seed beside PyTorch's of the same seed, with spread and gap", async () => {
  const fx = await fixture;
  const seed0 = { ...fx.bernoulli, seed: 0 };
  const seed1 = { ..._metrics("bernoulli", 3, false), seed: 1 };
  const seed2 = { ..._metrics("bernoulli", 3, false), seed: 2 };
  const longer = { ..._metrics("bernoulli", 9, false), seed: 3 };
  const torch0 = pytorchRun({ likelihood: "bernoulli", epochs: 3, seed: 0, test_neg_elbo: 91.5 });
  const torch1 = pytorchRun({ likelihood: "bernoulli", epochs: 3, seed: 1, test_neg_elbo: 92.25 });
  const torchLong = pytorchRun({ likelihood: "bernoulli", epochs: 9, seed: 2, test_neg_elbo: 1 });
  const run = (task: string, metrics: Record<string, unknown>) => ({
    manifest: _manifest(task, []),
    metrics,
    metricsFile: "metrics.json",
    log: null,
    figures: [],
    problems: [],
  });
  const steps: StepEntry[] = [{
    name: "train-bernoulli",
    task: "train-bernoulli",
    command: "deno task train-bernoulli",
    record: null,
    run: run("train-bernoulli", seed0),
    pytorch: {
      file: "pt/bernoulli.json",
      run: torch0 as PytorchRun,
      seeds: [{ file: "a", run: torch1 as PytorchRun }, {
        file: "b",
        run: torchLong as PytorchRun,
      }],
    },
  }];
  const extras = {
    dir: "out/seeds",
    title: "Other seeds",
    intro: "x",
    bySeed: true,
    runs: [
      { name: "s2", run: run("train-bernoulli", seed2) },
      { name: "s1", run: run("train-bernoulli", seed1) },
      { name: "long", run: run("train-bernoulli", longer) },
      { name: "other", run: run("train-gaussian", { ...seed1, likelihood: "gaussian" }) },
    ],
  };
  const lines = seedSpread(steps, extras);
  const rows = lines.filter((l) => l.startsWith("| `train-bernoulli`"));
  // Seeds in order, each with its own PyTorch run; the 9-epoch runs are another budget.
  assert.deepEqual(rows, [
    `| \`train-bernoulli\` | 0 | 3 | ${fmt(seed0.test_neg_elbo)} | 91.50 | ` +
    `${fmt(seed0.test_nll_is)} | – |`,
    `| \`train-bernoulli\` | 1 | 3 | ${fmt(seed1.test_neg_elbo)} | 92.25 | ` +
    `${fmt(seed1.test_nll_is)} | – |`,
    `| \`train-bernoulli\` | 2 | 3 | ${fmt(seed2.test_neg_elbo)} | – | ` +
    `${fmt(seed2.test_nll_is)} | – |`,
  ]);
  const ours = [seed0, seed1, seed2].map((m) => m.test_neg_elbo);
  const spread = Math.max(...ours) - Math.min(...ours);
  const gap = (seed0.test_neg_elbo - 91.5 + seed1.test_neg_elbo - 92.25) / 2;
  const note = lines.find((l) => l.startsWith("- `train-bernoulli`"));
  assert.equal(
    note,
    `- \`train-bernoulli\`: ours spread ${fmt(spread)} nats of -ELBO over 3 seeds, PyTorch's ` +
      `0.75 over 2; mean -ELBO of ours - PyTorch's over the seeds both ran (2): ` +
      `${gap >= 0 ? "+" : ""}${fmt(gap)}.`,
  );
  assert.ok(!lines.some((l) => l.includes("gaussian")), "another model's seed counted");
  assert.deepEqual(seedSpread(steps, { ...extras, runs: [extras.runs[2]] }), []);
  const page = resultsMarkdown({
    root: "r",
    course: null,
    command: "c",
    steps,
    extras: [extras],
  });
  assert.ok(page.includes("## Other seeds") && page.includes(rows[1]), "not on the page");
});

/** The task's run on the fixture, once for the tests that read it. */
const taskRun = (async () => {
  const fx = await fixture;
  const out = join(fx.base, "docs", "results.md");
  const r = await _task([
    "--root",
    fx.root,
    "--out",
    out,
    "--pytorch",
    fx.pytorch,
    "--remedies",
    fx.remedies,
    "--seeds",
    join(fx.base, "no-seeds"),
    "--readme",
    fx.readme,
  ]);
  return { fx, out, ...r, page: r.code === 0 ? await Deno.readTextFile(out) : "" };
})();

async function _task(args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/results.ts", ...args],
    cwd: PROJECT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: r.code, stdout: text(r.stdout), stderr: text(r.stderr) };
}

Deno.test("results task copies the figures and writes the page from the run directories", async () => {
  const { fx, out, code, stdout, stderr, page } = await taskRun;
  assert.equal(code, 0, stderr);
  const figs = join(fx.base, "docs", "results");
  for (const name of ["reconstructions.png", "elbo.svg"]) {
    const copy = join(figs, `train-bernoulli_${name}`);
    assert.deepEqual(
      await Deno.readFile(copy),
      await Deno.readFile(join(fx.root, "train-bernoulli", name)),
    );
    assert.ok(page.includes(`](results/train-bernoulli_${name})`), `page lacks ${name}`);
    assert.ok(stdout.includes(copy), `${copy} not printed`);
  }
  assert.ok(stdout.includes(out));
  assert.ok(page.includes(`| ${fmt(fx.bernoulli.test_neg_elbo)} | `));
  assert.ok(page.includes(`**standard**`));
  assert.ok(page.includes("commit `0123456789`"));
  assert.ok(page.includes("deno task train-beta --out out/standard/train-beta --fixture-flag"));
  const inferSection = _section(page, "Fixture infer");
  assert.ok(inferSection.includes(`| \`mean_gap\` | ${fmt(fx.infer.mean_gap)} |`));
  assert.ok(inferSection.includes("| `lr` | 0.001 |"));
  const torch = JSON.parse(await Deno.readTextFile(join(fx.pytorch, "bernoulli.json")));
  const ours = `| ${fmt(fx.bernoulli.test_neg_elbo)} | ${fmt(torch.test_neg_elbo)} |`;
  assert.ok(_section(page, "Fixture train-bernoulli").includes(ours), "no PyTorch beside ours");
  assert.ok(_section(page, "Fixture train-gaussian").includes("trained 7 epochs, this run 3"));
});

Deno.test("results task lists the remedy runs with their flags, verdicts and reconstructions", async () => {
  const { fx, code, stderr, page } = await taskRun;
  assert.equal(code, 0, stderr);
  const section = page.slice(page.indexOf("## Posterior collapse and its remedies"));
  assert.ok(section.length < page.length, "no remedies section");
  assert.ok(!page.includes("## Other seeds"), "a seeds section without runs");
  const row = (name: string, m: ReturnType<typeof _metrics>, flags: string, verdict: string) =>
    `| \`${name}\` | \`train-gaussian ${flags}\` | 2 | ${fmt(m.test_neg_elbo)} | ` +
    `${fmt(m.test_kl)} | ${fmt(m.test_bpd, 3)} | ${m.active_units} of 16 | ${verdict} |`;
  assert.ok(section.includes(row("plain", fx.collapsed, "--epochs 2", "**posterior collapse**")));
  assert.ok(
    section.includes(row("free-bits", fx.freeBits, "--epochs 2 --free-bits 0.5", "no collapse")),
  );
  assert.ok(section.includes("](results/remedies-free-bits_reconstructions.png)"));
  // The course's own run of the treated model comes first, for comparison.
  assert.ok(section.includes("| `train-gaussian (the course's, no remedy)` |"), "no baseline row");
  assert.ok(!section.includes("elbo.svg") && !section.includes("study"));
  const torch = fx.seed1 as { test_neg_elbo: number };
  assert.ok(
    _section(page, "Fixture train-bernoulli").includes(
      `seed 1 test -ELBO ${fmt(torch.test_neg_elbo)}`,
    ),
    "no PyTorch seed 1",
  );
});

Deno.test("results task rewrites only the README's block between its markers", async () => {
  const { fx, code, stderr } = await taskRun;
  assert.equal(code, 0, stderr);
  // Formatted by deno fmt after the rewrite: compare with the table's padding squeezed.
  const text = (await Deno.readTextFile(fx.readme)).replace(/ {2,}/g, " ");
  assert.ok(text.startsWith("# Fixture\n\nBefore.\n\n<!-- results:begin -->\n\n| model |"));
  assert.ok(text.endsWith("<!-- results:end -->\n\nAfter.\n"));
  assert.ok(!text.includes("old table"));
  const torch = JSON.parse(await Deno.readTextFile(join(fx.pytorch, "bernoulli.json")));
  assert.ok(
    text.includes(
      `| Fixture train-bernoulli | 3 | ${fmt(fx.bernoulli.test_neg_elbo)} | ` +
        `${fmt(fx.bernoulli.test_nll_is)} | – | ${fx.bernoulli.active_units} of 16 | ` +
        `${fmt(torch.test_neg_elbo)} / ${fmt(torch.test_nll_is)} |`,
    ),
    text,
  );
  assert.ok(text.includes("Fixture train-gaussian | 3 |"));
  assert.ok(text.includes("Bernoulli data binarized static"));
});

Deno.test("results task refuses manifest paths that leave the run directory", async () => {
  const { fx, code, stderr, page } = await taskRun;
  assert.equal(code, 0, stderr);
  const copied = [...Deno.readDirSync(join(fx.base, "docs", "results"))].map((e) => e.name).sort();
  assert.deepEqual(copied, [
    "remedies-free-bits_reconstructions.png",
    "remedies-plain_reconstructions.png",
    "train-bernoulli_elbo.svg",
    "train-bernoulli_reconstructions.png",
  ]);
  const b = _section(page, "Fixture train-bernoulli");
  assert.ok(
    b.includes("../../etc/passwd is not shown: refused: the path leaves the run directory"),
  );
  assert.ok(b.includes("/etc/passwd is not shown: refused: the path leaves the run directory"));
  assert.ok(b.includes("escape.png is not shown: refused: a link that leads out of the run"));
  assert.ok(!page.includes("root:x:0:0"));
});

Deno.test("results task skips a figure over 400 KB and says so on the page", async () => {
  const { page } = await taskRun;
  assert.match(page, /big\.svg is not shown: \d+ KB, over the page's limit of 400 KB/);
});

Deno.test("results task exits 2 naming a --root that is not a course root", async () => {
  const fx = await fixture;
  const missing = join(fx.base, "no-such-root");
  const r1 = await _task(["--root", missing, "--out", join(fx.base, "x", "results.md")]);
  assert.equal(r1.code, 2);
  assert.ok(r1.stderr.includes(missing), r1.stderr);
  const empty = await Deno.makeTempDir({ dir: fx.base });
  const r2 = await _task(["--root", empty, "--out", join(fx.base, "x", "results.md")]);
  assert.equal(r2.code, 2);
  assert.ok(r2.stderr.includes(`${empty} holds no course steps`), r2.stderr);
});
