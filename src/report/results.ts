/**
 * `deno task results`: the course's results as one Markdown page (docs/results.md). Every
 * number, figure and command on it is read from a course root's run directories (their
 * manifest.json, metrics.json, log.json, results JSON and course/course.json), so the page
 * can be regenerated and never drifts from the runs. This module is the pure half, from what
 * was read off disk to the Markdown string; tasks/results.ts reads the files, copies the
 * figures and decides which paths are safe to follow.
 */

import { shellLine } from "../course/plan.ts";
import type { CourseRecord, CourseStepRecord } from "../course/run.ts";
import type { Budget } from "../course/steps.ts";
import type { EpochLog } from "../train/epoch_log.ts";
import { COMPARABILITY } from "./compare.ts";
import { SECTIONS } from "./html.ts";
import type { Manifest } from "./manifest.ts";

/** A figure larger than this is left out of the page: docs/ is committed. */
export const MAX_FIGURE_BYTES = 400 * 1024;

/** The likelihood each conv training step fits: also the name of its PyTorch reference file. */
export const LIKELIHOOD_STEPS: Readonly<Record<string, string>> = {
  "train-bernoulli": "bernoulli",
  "train-gaussian": "gaussian",
  "train-beta": "beta",
  "train-categorical": "categorical",
};

/** What tools/pytorch_reference.py writes to `<dir>/<likelihood>.json`. */
export interface PytorchRun {
  likelihood: string;
  epochs: number;
  test_neg_elbo: number;
  test_nll_is: number | null;
  is_samples: number;
  is_images: number;
  test_bpd: number | null;
  test_nll_is_bpd: number | null;
  active_units: number | null;
  seed: number;
  framework: string;
  threads: number;
  images_per_s: number | null;
}

export interface PytorchEntry {
  file: string;
  run: PytorchRun | null;
  /** Runs of other seeds, `<likelihood>-seed<N>.json` beside `file`. */
  seeds?: { file: string; run: PytorchRun }[];
  /** Why there is no run to compare: no file, unreadable, another likelihood's. */
  problem?: string;
}

export interface FigureEntry {
  /** The manifest's path, relative to the run directory. */
  file: string;
  caption: string;
  /** The copy's path relative to the page; null when it was not copied. */
  href: string | null;
  /** Why it was not copied: too large, missing, or a path that leaves the run directory. */
  skipped?: string;
}

export interface StepRun {
  manifest: Manifest;
  /** metrics.json, or the task's own results JSON (infer.json, pca.json, compare.json). */
  metrics: Record<string, unknown> | null;
  metricsFile: string | null;
  log: EpochLog[] | null;
  figures: FigureEntry[];
  /** Files the manifest names that could not be read, in words. */
  problems: string[];
}

export interface StepEntry {
  name: string;
  task: string;
  /** The command that makes this step under the root (course.json's, else the step table's). */
  command: string;
  /** This step in course.json, when the course recorded it. */
  record: CourseStepRecord | null;
  run: StepRun | null;
  /** A manifest.json that is there but cannot be used. */
  problem?: string;
  /** Likelihood steps only: the PyTorch reference file, read or not. */
  pytorch?: PytorchEntry;
}

/** Training runs beside the course's (remedies, other seeds), from one directory of runs. */
export interface ExtraRuns {
  /** The directory as given on the command line. */
  dir: string;
  title: string;
  /** What these runs ask, in a sentence or two. */
  intro: string;
  runs: { name: string; run: StepRun }[];
  /** Runs of the course's models under other seeds: the page sets each seed beside PyTorch's. */
  bySeed?: boolean;
}

export interface ResultsInput {
  /** The root as given on the command line. */
  root: string;
  course: CourseRecord | null;
  steps: StepEntry[];
  /** The command that wrote the page. */
  command: string;
  extras?: ExtraRuns[];
}

/** The README's block of results, between these markers, is rewritten by `deno task results`. */
const README_MARKERS = ["<!-- results:begin -->", "<!-- results:end -->"] as const;

const README_STEPS = [
  "train-bernoulli",
  "train-gaussian",
  "train-beta",
  "train-categorical",
  "latent-2d",
  "train-mlp",
];

/**
 * The README's summary: one row per -ELBO model of the course (the four likelihoods, the 2-D
 * latent, the MLP) with PyTorch beside it where a run of the same epochs is there, and the
 * protocol in one sentence, all from the runs.
 */
export function readmeSummary(input: ResultsInput): string {
  const steps = input.steps.filter((s) => README_STEPS.includes(s.name) && s.run?.metrics);
  const rows = steps.map((s) => {
    const m = s.run!.metrics!, p = _matchingPytorch(s);
    const bpd = typeof m.test_bpd === "number"
      ? `${fmt(m.test_bpd, 3)} / ${fmt(m.test_nll_is_bpd, 3)}`
      : "–";
    return [
      _md(s.run!.manifest.title),
      _int(m.epochs),
      fmt(m.test_neg_elbo),
      fmt(m.test_nll_is),
      bpd,
      _units(m) + (m.posterior_collapse === true ? " (**collapsed**)" : ""),
      p ? `${fmt(p.test_neg_elbo)} / ${fmt(p.test_nll_is)}` : "–",
    ];
  });
  const c = input.course;
  const budget = c?.budget ?? (c?.quick ? "quick" : "full");
  const ms = steps.map((s) => s.run!.metrics!);
  const iss = _unique(ms.map((m) => `K = ${_int(m.is_samples)} on ${_int(m.is_images)}`));
  const bin = _unique(ms.map((m) => String(m.binarize)).filter((b) => b !== "none"));
  const adapters = _unique(steps.map((s) => s.run!.manifest.adapter));
  return [
    ..._table([
      "model",
      "epochs",
      "test -ELBO",
      "IS NLL",
      "bits/dim (-ELBO / IS)",
      "active units",
      "PyTorch, same epochs: -ELBO / IS NLL",
    ], rows),
    "",
    `The ${budget} course (\`${input.root}\`), nats per image on all 10,000 test images; IS ` +
    `NLL with ${iss.join(", ")} test images; Bernoulli data binarized ${bin.join(", ")}; ` +
    `adapter ${adapters.map(_md).join(", ")}.`,
  ].join("\n");
}

/** `text` with the block between README_MARKERS replaced by `block`; null without markers. */
export function spliceReadme(text: string, block: string): string | null {
  const [open, close] = README_MARKERS;
  const a = text.indexOf(open), b = text.indexOf(close);
  if (a < 0 || b < a) return null;
  return `${text.slice(0, a + open.length)}\n\n${block}\n\n${text.slice(b)}`;
}

/** The PyTorch reference's fields, checked; a string says what is wrong with it. */
export function pytorchRun(v: unknown): PytorchRun | string {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "it is not a JSON object";
  const o = v as Record<string, unknown>;
  for (const k of ["epochs", "test_neg_elbo"]) {
    if (typeof o[k] !== "number") return `its ${k} is not a number`;
  }
  const num = (k: string) => (typeof o[k] === "number" ? o[k] as number : null);
  return {
    likelihood: String(o.likelihood),
    epochs: o.epochs as number,
    test_neg_elbo: o.test_neg_elbo as number,
    test_nll_is: num("test_nll_is"),
    is_samples: num("is_samples") ?? 0,
    is_images: num("is_images") ?? 0,
    test_bpd: num("test_bpd"),
    test_nll_is_bpd: num("test_nll_is_bpd"),
    active_units: num("active_units"),
    seed: num("seed") ?? 0,
    framework: String(o.framework ?? "PyTorch"),
    threads: num("threads") ?? 0,
    images_per_s: num("images_per_s"),
  };
}

/** Two decimals (bits/dim three); "–" for a missing value; "-0.00" reads "0.00". */
export function fmt(v: unknown, digits = 2): string {
  if (typeof v !== "number") return v === null || v === undefined ? "–" : String(v);
  if (!Number.isFinite(v)) return String(v);
  return v.toFixed(digits).replace(/^-(0\.?0*)$/, "$1");
}

/** The page. */
export function resultsMarkdown(input: ResultsInput): string {
  const lines = [
    ..._header(input),
    ..._summary(input),
    ...input.steps.flatMap((s, i) => _step(s, i + 1, input)),
    ...(input.extras ?? []).filter((e) => e.runs.length > 0).flatMap((e) => [
      ..._extras(e),
      ...(e.bySeed ? seedSpread(input.steps, e) : []),
    ]),
  ];
  return lines.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n";
}

const QUESTIONS: Readonly<Record<string, string>> = {
  "train-bernoulli": "How well does the course's conv VAE model binarized MNIST with a " +
    "Bernoulli likelihood, and does its latent code stay in use rather than collapse?",
  "train-gaussian": "How does the same conv VAE do with a Gaussian likelihood (a mean and a " +
    "variance per pixel) on dequantized grey levels, in nats and in bits per dimension?",
  "train-beta": "Does a Beta likelihood, which lives on (0, 1) as the dequantized grey levels " +
    "do, fit them better than the Gaussian? Their bits per dimension compare directly.",
  "train-categorical": "How does the conv VAE do when each pixel is a Categorical " +
    "distribution over a few grey-level bins?",
  "compare-likelihoods": "What do the four likelihoods' reconstructions and prior samples look " +
    "like side by side, and which of their numbers can be compared?",
  "latent-2d": "With a two-dimensional latent, how does the Bernoulli conv VAE arrange the " +
    "digits, and what does its decoder draw across the prior?",
  "latent-pca": "How are the digits arranged in the 16-D latent space, seen through its first " +
    "two principal components?",
  "interpolate": "Is the latent space smooth: what does the decoder draw along straight lines " +
    "between the codes of two test images?",
  "infer": "How much worse is the encoder's amortized q(z | x) than a q fitted to each image " +
    "alone against the frozen decoder (the amortization gap)?",
  "complete": "Can the trained decoder fill in the hidden part of a test image from a q(z) " +
    "fitted to the observed part alone?",
  "train-mlp": "What does Kingma & Welling's original MLP VAE with a 2-D latent reach on " +
    "binarized MNIST?",
  "mlp-figures": "What has the MLP VAE's 2-D latent learnt: where the digits lie, and what " +
    "prior samples, regenerations and the latent lattice look like?",
  "train-notebook": "What does a popular PyTorch notebook's VAE recipe give when run as " +
    "written, its quirks included?",
  "train-blog": "What does a blog post's VAE recipe (MSE loss, a tiny KL weight) give when " +
    "run as written?",
};

const BUDGET_WORDS: Readonly<Record<Budget, string>> = {
  quick: "small budgets that show every step runs; these numbers are not the course's results",
  standard: "every model trained on all the data for a few epochs: real results, short of " +
    "convergence",
  full: "every task's own defaults, the course's protocol (up to its epoch limit, with early " +
    "stopping)",
};

function _header(input: ResultsInput): string[] {
  const c = input.course;
  const runs = input.steps.flatMap((s) => (s.run ? [s.run] : []));
  const budget: Budget | null = c?.budget ?? (c?.quick ? "quick" : null);
  const dates = runs.map((r) => r.manifest.created).filter(Boolean).sort();
  const commits = _unique(runs.map((r) => _commit(r.manifest.commit)));
  const adapters = _unique(runs.map((r) => r.manifest.adapter));
  const notRun = input.steps.filter((s) => !s.run).map((s) => `\`${s.name}\``);
  const facts: [string, string][] = [
    ["budget", budget ? `**${budget}**: ${BUDGET_WORDS[budget]}` : "unknown (no course.json)"],
    ["adapter", adapters.map(_md).join("; ") || "–"],
    [
      "runs made",
      _unique([dates[0], dates[dates.length - 1]].filter(Boolean).map(_when)).join(" to ") || "–",
    ],
    ["commit", commits.map((x) => `\`${x}\``).join(", ") || "–"],
    ["course time", _courseTime(c)],
    [
      "steps with results",
      `${runs.length} of ${input.steps.length}` +
      (notRun.length ? `; not run: ${notRun.join(", ")}` : ""),
    ],
  ];
  return [
    "# webgpu-vae: the course's results",
    "",
    `Generated by \`${input.command}\` from the run directories under \`${input.root}\`: ` +
    "every number, figure and command here was read from the runs' manifest.json, " +
    "metrics.json, log.json and results files. Do not edit it by hand; rerun the task.",
    "",
    ...(budget === "quick" ? [`> **Quick budget:** ${BUDGET_WORDS.quick}.`, ""] : []),
    ..._table(["fact", "value"], facts),
  ];
}

/**
 * The sum of the step times course.json holds: those of the steps its last run ran, and for
 * steps it skipped as up to date the time an earlier course took to make them.
 */
function _courseTime(c: CourseRecord | null): string {
  if (!c) return "– (no course/course.json)";
  const steps = c.steps ?? [];
  const ran = steps.filter((s) => typeof s.seconds === "number");
  const earlier = steps.filter((s) => s.seconds == null && typeof s.earlier_seconds === "number");
  const total = [...ran.map((s) => s.seconds as number), ...earlier.map((s) => s.earlier_seconds!)]
    .reduce((a, t) => a + t, 0);
  const untimed = steps.filter((s) => s.status === "skipped" && s.earlier_seconds == null).length;
  const when = `last run started ${_when(c.started)}, ` +
    (c.finished ? `finished ${_when(c.finished)}` : "still running when this page was made");
  if (ran.length + earlier.length === 0) return `– (no step timed yet; the course ${when})`;
  return `${_duration(total)}: ${ran.length} step${ran.length === 1 ? "" : "s"} timed in the ` +
    "last run" +
    (earlier.length ? `, ${earlier.length} up to date from an earlier one` : "") +
    ` (${when})` +
    (untimed ? `; ${untimed} skipped step${untimed === 1 ? "" : "s"} untimed here` : "");
}

const SUMMARY_HEAD = "model, epochs, test -ELBO (nats), IS NLL (nats), bits/dim (-ELBO), " +
  "bits/dim (IS NLL), active units, PyTorch -ELBO, PyTorch IS NLL";

function _summary(input: ResultsInput): string[] {
  const rows = input.steps.filter((s) => s.name in LIKELIHOOD_STEPS).map((s) => {
    const m = s.run?.metrics;
    if (!m) return [_md(s.name), "not run", "", "", "", "", "", "", ""];
    const p = _matchingPytorch(s);
    return [
      _md(s.name),
      _int(m.epochs),
      fmt(m.test_neg_elbo),
      _isNll(m),
      fmt(m.test_bpd, 3),
      fmt(m.test_nll_is_bpd, 3),
      _units(m),
      p ? fmt(p.test_neg_elbo) : "–",
      p ? fmt(p.test_nll_is) : "–",
    ];
  });
  return [
    "",
    "## The four likelihoods",
    "",
    ..._table(SUMMARY_HEAD.split(", "), rows),
    "",
    "**The Bernoulli, the Categorical and the continuous (Gaussian, Beta) models are densities " +
    "on different data spaces and are not comparable with each other; only the Gaussian and " +
    `Beta bits/dim compare.** ${COMPARABILITY}`,
    "",
    "The PyTorch columns are filled where a PyTorch run of the same model trained the same " +
    "number of epochs; each model's section says what there is.",
  ];
}

function _step(s: StepEntry, n: number, input: ResultsInput): string[] {
  const title = s.run?.manifest.title ?? SECTIONS.find((x) => x.task === s.task)?.title ?? s.name;
  const head = [
    "",
    `## ${n}. ${_md(title)}${s.run ? "" : " (not run)"}`,
    "",
    `*${_md(QUESTIONS[s.name] ?? `The ${s.task} task's outputs.`)}*`,
    "",
  ];
  if (!s.run) {
    const why = s.problem
      ? _md(s.problem)
      : s.record?.status === "failed"
      ? `its last course run failed (exit ${s.record.exit_code ?? "non-zero"})`
      : `no ${s.name}/manifest.json under \`${input.root}\``;
    return [...head, `Not run: ${why}. To run it:`, "", "```sh", s.command, "```"];
  }
  const r = s.run, m = r.manifest;
  const facts = [
    `Ran ${_when(m.created)}`,
    `commit \`${_commit(m.commit)}\``,
    `adapter ${_md(m.adapter)}`,
    ...(typeof s.record?.seconds === "number" ? [`took ${_duration(s.record.seconds)}`] : []),
  ];
  const lines = [
    ...head,
    `${facts.join(" · ")}. Made by:`,
    "",
    "```sh",
    shellLine(["deno", "task", m.task, ...m.args]),
    "```",
  ];
  if (m.task !== s.task) lines.push("", `Note: this directory's manifest is of task ${m.task}.`);
  if (s.record?.status === "failed") {
    lines.push(
      "",
      "Note: the course's last attempt at this step failed; these are an earlier run's.",
    );
  }
  if (r.problems.length) lines.push("", `Problems: ${r.problems.map(_md).join("; ")}.`);
  if (r.figures.length) lines.push("", "### Figures", ...r.figures.flatMap(_figure));
  const metrics = r.metrics;
  if (metrics && ("test_neg_elbo" in metrics || "test_loss" in metrics)) {
    lines.push(
      "",
      `### Test metrics (${r.metricsFile})`,
      "",
      ..._table(["quantity", "value"], _training(metrics)),
    );
  } else if (metrics) {
    lines.push("", `### Results (${r.metricsFile})`, ..._generic(metrics, r.metricsFile ?? ""));
  }
  if (r.log?.length) lines.push("", "### Per epoch (log.json)", "", ..._epochs(r.log));
  if (s.pytorch) lines.push("", "### PyTorch at the same budget", "", ..._pytorch(s));
  const notes = (m.notes ?? []).map((x) => `- ${_md(x)}`);
  if (notes.length) lines.push("", "Notes from the run:", "", ...notes);
  return lines;
}

function _figure(f: FigureEntry): string[] {
  if (f.href === null) {
    return [
      "",
      `*${_md(f.file)} is not shown: ${_md(f.skipped ?? "not copied")}.* ${_md(f.caption)}`,
    ];
  }
  return ["", `![${_md(f.caption)}](${f.href})`, "", `*${_md(f.caption)}*`];
}

/** The training run's test numbers and protocol, from its metrics.json. */
function _training(m: Record<string, unknown>): string[][] {
  const rows: string[][] = [];
  const add = (label: string, v: string) => {
    rows.push([label, v]);
  };
  const has = (k: string) => m[k] !== undefined && m[k] !== null;
  if (has("test_neg_elbo")) add("test -ELBO (nats per image)", fmt(m.test_neg_elbo));
  else add(`test loss (${_md(String(m.loss ?? "loss"))})`, fmt(m.test_loss));
  add("test reconstruction term", fmt(m.test_recon));
  add("test KL", fmt(m.test_kl));
  if (has("test_nll_is")) add("test IS NLL", _isNll(m));
  if ("test_bpd" in m) add("bits/dim (-ELBO)", fmt(m.test_bpd, 3));
  if ("test_nll_is_bpd" in m) add("bits/dim (IS NLL)", fmt(m.test_nll_is_bpd, 3));
  if (has("active_units")) add("active units", _units(m));
  if (typeof m.collapse === "string") add("collapse", _md(m.collapse));
  add(
    "epochs",
    `${_int(m.epochs)} (best ${_int(m.best_epoch)}${m.stopped_early ? ", stopped early" : ""})`,
  );
  if (has("best_val_neg_elbo")) add("best validation -ELBO", fmt(m.best_val_neg_elbo));
  if (has("best_val_loss")) add("best validation loss", fmt(m.best_val_loss));
  add("training images/s", _int(m.images_per_s));
  add(
    "images",
    `${_int(m.train_images)} train, ${_int(m.val_images)} val, ${_int(m.test_images)} test`,
  );
  add("batch, learning rate", `${_int(m.batch)}, ${_value("lr", m.lr)}`);
  add("data", `binarize ${_md(String(m.binarize))}; ${_md(String(m.data_space ?? "–"))}`);
  add("adapter", _md(String(m.adapter ?? "–")));
  return rows;
}

/** A results JSON's scalar fields, short numeric arrays, and flat arrays of objects as tables. */
function _generic(m: Record<string, unknown>, file: string): string[] {
  const rows: string[][] = [], prose: string[] = [], tables: string[] = [], rest: string[] = [];
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === "string" && v.length > 80) prose.push("", `**${_md(k)}**: ${_md(v)}`);
    else if (v === null || ["string", "number", "boolean"].includes(typeof v)) {
      rows.push([`\`${k}\``, _value(k, v)]);
    } else if (Array.isArray(v) && v.length <= 4 && v.every((x) => typeof x === "number")) {
      rows.push([`\`${k}\``, v.map((x) => _value(k, x)).join(", ")]);
    } else if (_flatRows(v)) {
      const cols = _unique(v.flatMap((r) => Object.keys(r).filter((c) => _isScalar(r[c]))));
      const body = v.map((r) => cols.map((c) => _value(c, r[c])));
      tables.push("", `\`${k}\`:`, "", ..._table(cols.map((c) => `\`${c}\``), body));
    } else rest.push(`\`${k}\``);
  }
  return [
    ...(rows.length ? ["", ..._table(["field", "value"], rows)] : []),
    ...tables,
    ...prose,
    ...(rest.length ? ["", `Also in ${file}, not shown: ${rest.join(", ")}.`] : []),
  ];
}

function _epochs(log: EpochLog[]): string[] {
  const elbo = log.some((e) => e.train_neg_elbo !== undefined);
  const units = log.some((e) => e.val_active_units !== undefined);
  const what = elbo ? "-ELBO" : "loss";
  const head = ["epoch", `train ${what}`, `val ${what}`, "val KL"];
  if (units) head.push("val active units");
  head.push("seconds");
  const rows = log.map((e) => [
    _int(e.epoch),
    fmt(elbo ? e.train_neg_elbo : e.train_loss),
    fmt(elbo ? e.val_neg_elbo : e.val_loss),
    fmt(e.val_kl),
    ...(units ? [_int(e.val_active_units)] : []),
    fmt(e.seconds),
  ]);
  return _table(head, rows);
}

function _matchingPytorch(s: StepEntry): PytorchRun | null {
  const p = s.pytorch?.run, m = s.run?.metrics;
  return p && m && p.epochs === m.epochs ? p : null;
}

function _pytorch(s: StepEntry): string[] {
  const py = s.pytorch!, m = s.run?.metrics;
  if (!m) return [`No metrics of ours to set beside PyTorch's (${py.file}).`];
  if (!py.run) return [`No PyTorch run at this budget: ${_md(py.problem ?? "none")}.`];
  const p = _matchingPytorch(s);
  if (!p) {
    return [
      `No PyTorch run at this budget: \`${py.file}\` trained ${_int(py.run.epochs)} epochs, ` +
      `this run ${_int(m.epochs)}.`,
    ];
  }
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  const row = (label: string, a: unknown, b: number | null, digits = 2) => {
    const x = num(a);
    const d = x === null || b === null
      ? "–"
      : fmt(x - b, digits).replace(/^(?=[1-9]|0\.0*[1-9])/, "+");
    return [label, fmt(a, digits), fmt(b, digits), d];
  };
  const rows = [
    row("test -ELBO (nats)", m.test_neg_elbo, p.test_neg_elbo),
    row("test IS NLL (nats)", m.test_nll_is, p.test_nll_is),
    [
      "IS samples K, images",
      `${_int(m.is_samples)}, ${_int(m.is_images)}`,
      `${_int(p.is_samples)}, ${_int(p.is_images)}`,
      "",
    ],
    row("bits/dim (-ELBO)", m.test_bpd, p.test_bpd, 3),
    row("bits/dim (IS NLL)", m.test_nll_is_bpd, p.test_nll_is_bpd, 3),
    row("active units", m.active_units, p.active_units, 0),
  ].filter((r) => r[1] !== "–" || r[2] !== "–");
  const seeds = (py.seeds ?? []).filter((x) => x.run.epochs === p.epochs);
  return [
    ..._table(["", "ours (WebGPU)", "PyTorch", "ours - PyTorch"], rows),
    "",
    `PyTorch: ${_md(p.framework)}, ${_int(p.threads)} threads, seed ${_int(p.seed)}, ` +
    `${_int(p.epochs)} epochs (\`${py.file}\`). Lower -ELBO and NLL are better: a negative ` +
    "difference means ours is lower. Speed is not compared here (the runs shared the machine " +
    "with others): `deno task bench --torch` does that, on a quiet machine only.",
    ...(seeds.length > 0
      ? [
        "",
        "PyTorch with other seeds, the same budget: " + seeds.map((x) =>
          `seed ${_int(x.run.seed)} test -ELBO ${fmt(x.run.test_neg_elbo)}, IS NLL ` +
          `${fmt(x.run.test_nll_is)}` +
          (x.run.test_bpd === null ? "" : `, ${fmt(x.run.test_bpd, 3)} bits/dim`) +
          `, ${_int(x.run.active_units)} active units (\`${x.file}\`)`
        ).join("; ") + ".",
      ]
      : []),
  ];
}

/**
 * Training runs beside the course's: one row each with the flags that set it apart (its
 * budget, a remedy, a seed) and what it reached, then each run's reconstructions.
 */
function _extras(e: ExtraRuns): string[] {
  const head = [
    "run",
    "task and flags",
    "epochs",
    "test -ELBO",
    "KL",
    "bits/dim (-ELBO)",
    "active units",
    "verdict",
  ];
  const rows = e.runs.map(({ name, run }) => {
    const m = run.metrics ?? {};
    const flags = _flagsBesideOut(run.manifest.args);
    return [
      `\`${_md(name)}\``,
      `\`${_md([run.manifest.task, ...flags].join(" "))}\``,
      _int(m.epochs),
      fmt(m.test_neg_elbo),
      fmt(m.test_kl),
      fmt(m.test_bpd, 3),
      _units(m),
      m.posterior_collapse === true
        ? "**posterior collapse**"
        : m.partial_collapse === true
        ? "partial collapse"
        : typeof m.posterior_collapse === "boolean"
        ? "no collapse"
        : "–",
    ];
  });
  const figures = e.runs.flatMap(({ name, run }) =>
    run.figures.flatMap((f) => _figure({ ...f, caption: `${name}: ${f.caption}` }))
  );
  return [
    "",
    `## ${_md(e.title)}`,
    "",
    `${e.intro} The runs under \`${_md(e.dir)}\`, each read from its manifest.json and ` +
    "metrics.json:",
    "",
    ..._table(head, rows),
    ...figures,
  ];
}

/**
 * Per course model with runs of other seeds (same task, same epochs): each seed's test -ELBO and
 * IS NLL beside PyTorch's run of that seed and budget, then how far the seeds spread and how far
 * ours sits from PyTorch on average. Empty where no model has a second seed.
 */
export function seedSpread(steps: StepEntry[], e: ExtraRuns): string[] {
  const rows: string[][] = [], notes: string[] = [];
  for (const s of steps) {
    const m = s.run?.metrics;
    if (!s.pytorch || !m) continue;
    const others = e.runs
      .filter((r) => r.run.manifest.task === s.task && r.run.metrics?.epochs === m.epochs)
      .map((r) => r.run.metrics!);
    const ours = [m, ...others].sort((a, b) => Number(a.seed) - Number(b.seed));
    if (ours.length < 2) continue;
    const torch = [s.pytorch.run, ...(s.pytorch.seeds ?? []).map((x) => x.run)]
      .filter((p): p is PytorchRun => p !== null && p.epochs === m.epochs);
    const pairs = ours.map((o) => ({ o, p: torch.find((t) => t.seed === o.seed) ?? null }));
    for (const { o, p } of pairs) {
      rows.push([
        `\`${_md(s.name)}\``,
        _int(o.seed),
        _int(o.epochs),
        fmt(o.test_neg_elbo),
        fmt(p?.test_neg_elbo),
        fmt(o.test_nll_is),
        fmt(p?.test_nll_is),
      ]);
    }
    const range = (xs: unknown[]) => {
      const v = xs.filter((x): x is number => typeof x === "number");
      return v.length < 2 ? null : Math.max(...v) - Math.min(...v);
    };
    const both = pairs.filter(({ o, p }) =>
      p && typeof o.test_neg_elbo === "number" && typeof p.test_neg_elbo === "number"
    );
    const gap = both.length === 0 ? null : both.reduce(
      (a, { o, p }) => a + (o.test_neg_elbo as number) - p!.test_neg_elbo,
      0,
    ) / both.length;
    const ourRange = range(ours.map((o) => o.test_neg_elbo));
    const torchRange = range(torch.map((t) => t.test_neg_elbo));
    notes.push(
      `- \`${_md(s.name)}\`: ours spread ${fmt(ourRange)} nats of -ELBO over ${ours.length} ` +
        "seeds" +
        (torchRange === null ? "" : `, PyTorch's ${fmt(torchRange)} over ${torch.length}`) +
        (gap === null
          ? "; no PyTorch run of the same seed and budget."
          : `; ours - PyTorch, seed for seed: ${gap >= 0 ? "+" : ""}${fmt(gap)} on average ` +
            `(${both.length} seed${both.length > 1 ? "s" : ""}).`),
    );
  }
  if (rows.length === 0) return [];
  const head = [
    "model",
    "seed",
    "epochs",
    "test -ELBO",
    "PyTorch -ELBO",
    "IS NLL",
    "PyTorch IS NLL",
  ];
  return [
    "",
    "Each seed beside PyTorch's run of the same seed and budget (nats per image, lower is " +
    "better; the first seed is the course's own run):",
    "",
    ..._table(head, rows),
    "",
    ...notes,
  ];
}

/** A run's flags without its --out (the run's directory, named in the row already). */
function _flagsBesideOut(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out") i++;
    else if (!args[i].startsWith("--out=")) out.push(args[i]);
  }
  return out;
}

/** A count (epochs, images, units): whole; a count that is not whole shows its decimals. */
function _int(v: unknown): string {
  return typeof v === "number" && Number.isInteger(v) ? String(v) : fmt(v);
}

function _isNll(m: Record<string, unknown>): string {
  if (typeof m.test_nll_is !== "number") return "–";
  return `${fmt(m.test_nll_is)} (K = ${_int(m.is_samples)}, ${_int(m.is_images)} images)`;
}

function _units(m: Record<string, unknown>): string {
  return typeof m.active_units === "number" ? `${_int(m.active_units)} of ${_int(m.latent)}` : "–";
}

/** A generic field's value: counts whole, bits/dim to three decimals, tiny rates as written. */
function _value(key: string, v: unknown): string {
  if (typeof v !== "number") return v === null || v === undefined ? "–" : _md(String(v));
  if (Number.isInteger(v)) return String(v);
  if (/bpd/.test(key)) return fmt(v, 3);
  // A learning rate of 1e-3 to two decimals would read 0.00.
  return Math.abs(v) < 0.01 ? String(Number(v.toPrecision(2))) : fmt(v);
}

function _flatRows(v: unknown): v is Record<string, unknown>[] {
  return Array.isArray(v) && v.length > 0 && v.length <= 50 &&
    v.every((r) => typeof r === "object" && r !== null && !Array.isArray(r));
}

function _isScalar(v: unknown): boolean {
  return v === null || ["string", "number", "boolean"].includes(typeof v);
}

function _table(head: string[], rows: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)];
}

/** Text from a file as Markdown text: its markup characters escaped, on one line. */
function _md(s: string): string {
  return s.replace(/[\\`*_[\]<>|]/g, "\\$&").replace(/\s*\n\s*/g, " ");
}

function _unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function _commit(c: string | null): string {
  return c ? c.slice(0, 10) + (c.endsWith("+dirty") ? "+dirty" : "") : "unknown";
}

function _when(iso: string): string {
  return `${iso.replace("T", " ").slice(0, 16)} UTC`;
}

function _duration(seconds: number): string {
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${s} s` : `${fmt(seconds, 1)} s`;
}
