/**
 * `deno task results`: the course's results as one Markdown page (docs/results.md). Every
 * number, figure and command on it is read from a course root's run directories (their
 * manifest.json, metrics.json, log.json, results JSON and course/course.json), so the page
 * can be regenerated and never drifts from the runs. This module and its results_*.ts
 * neighbours are the pure half, from what was read off disk to the Markdown string; this one
 * holds the page itself (its header, the four likelihoods' summary and each step's section),
 * results_input.ts what it is built from, results_format.ts the shared formatters,
 * results_pytorch.ts the PyTorch comparison, results_extras.ts the runs beside the course's
 * and results_readme.ts the README's summary. tasks/results.ts reads the files, copies the
 * figures and decides which paths are safe to follow.
 */

import { shellLine } from "../course/plan.ts";
import type { CourseRecord } from "../course/run.ts";
import type { Budget } from "../course/steps.ts";
import type { EpochLog } from "../train/epoch_log.ts";
import { COMPARABILITY } from "./compare.ts";
import { SECTIONS } from "./html.ts";
import { extrasSection, seedSpread } from "./results_extras.ts";
import { activeUnits, figure, fmt, int, md, table, unique } from "./results_format.ts";
import { LIKELIHOOD_STEPS, type ResultsInput, type StepEntry } from "./results_input.ts";
import { matchingPytorch, pytorchSection } from "./results_pytorch.ts";

/** The page. */
export function resultsMarkdown(input: ResultsInput): string {
  const lines = [
    ..._header(input),
    ..._summary(input),
    ...input.steps.flatMap((s, i) => _step(s, i + 1, input)),
    ...(input.extras ?? []).filter((e) => e.runs.length > 0).flatMap((e) => [
      ...extrasSection(e),
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
  const commits = unique(runs.map((r) => _commit(r.manifest.commit)));
  const adapters = unique(runs.map((r) => r.manifest.adapter));
  const notRun = input.steps.filter((s) => !s.run).map((s) => `\`${s.name}\``);
  const facts: [string, string][] = [
    ["budget", budget ? `**${budget}**: ${BUDGET_WORDS[budget]}` : "unknown (no course.json)"],
    ["adapter", adapters.map(md).join("; ") || "–"],
    [
      "runs made",
      unique([dates[0], dates[dates.length - 1]].filter(Boolean).map(_when)).join(" to ") || "–",
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
    ...table(["fact", "value"], facts),
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
    if (!m) return [md(s.name), "not run", "", "", "", "", "", "", ""];
    const p = matchingPytorch(s);
    return [
      md(s.name),
      int(m.epochs),
      fmt(m.test_neg_elbo),
      _isNll(m),
      fmt(m.test_bpd, 3),
      fmt(m.test_nll_is_bpd, 3),
      activeUnits(m),
      p ? fmt(p.test_neg_elbo) : "–",
      p ? fmt(p.test_nll_is) : "–",
    ];
  });
  return [
    "",
    "## The four likelihoods",
    "",
    ...table(SUMMARY_HEAD.split(", "), rows),
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
    `## ${n}. ${md(title)}${s.run ? "" : " (not run)"}`,
    "",
    `*${md(QUESTIONS[s.name] ?? `The ${s.task} task's outputs.`)}*`,
    "",
  ];
  if (!s.run) {
    const why = s.problem
      ? md(s.problem)
      : s.record?.status === "failed"
      ? `its last course run failed (exit ${s.record.exit_code ?? "non-zero"})`
      : `no ${s.name}/manifest.json under \`${input.root}\``;
    return [...head, `Not run: ${why}. To run it:`, "", "```sh", s.command, "```"];
  }
  const r = s.run, m = r.manifest;
  const facts = [
    `Ran ${_when(m.created)}`,
    `commit \`${_commit(m.commit)}\``,
    `adapter ${md(m.adapter)}`,
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
  if (r.problems.length) lines.push("", `Problems: ${r.problems.map(md).join("; ")}.`);
  if (r.figures.length) lines.push("", "### Figures", ...r.figures.flatMap(figure));
  const metrics = r.metrics;
  if (metrics && ("test_neg_elbo" in metrics || "test_loss" in metrics)) {
    lines.push(
      "",
      `### Test metrics (${r.metricsFile})`,
      "",
      ...table(["quantity", "value"], _training(metrics)),
    );
  } else if (metrics) {
    lines.push("", `### Results (${r.metricsFile})`, ..._generic(metrics, r.metricsFile ?? ""));
  }
  if (r.log?.length) lines.push("", "### Per epoch (log.json)", "", ..._epochs(r.log));
  if (s.pytorch) lines.push("", "### PyTorch at the same budget", "", ...pytorchSection(s));
  const notes = (m.notes ?? []).map((x) => `- ${md(x)}`);
  if (notes.length) lines.push("", "Notes from the run:", "", ...notes);
  return lines;
}

/** The training run's test numbers and protocol, from its metrics.json. */
function _training(m: Record<string, unknown>): string[][] {
  const rows: string[][] = [];
  const add = (label: string, v: string) => {
    rows.push([label, v]);
  };
  const has = (k: string) => m[k] !== undefined && m[k] !== null;
  if (has("test_neg_elbo")) add("test -ELBO (nats per image)", fmt(m.test_neg_elbo));
  else add(`test loss (${md(String(m.loss ?? "loss"))})`, fmt(m.test_loss));
  add("test reconstruction term", fmt(m.test_recon));
  add("test KL", fmt(m.test_kl));
  if (has("test_nll_is")) add("test IS NLL", _isNll(m));
  if ("test_bpd" in m) add("bits/dim (-ELBO)", fmt(m.test_bpd, 3));
  if ("test_nll_is_bpd" in m) add("bits/dim (IS NLL)", fmt(m.test_nll_is_bpd, 3));
  if (has("active_units")) add("active units", activeUnits(m));
  if (typeof m.collapse === "string") add("collapse", md(m.collapse));
  add(
    "epochs",
    `${int(m.epochs)} (best ${int(m.best_epoch)}${m.stopped_early ? ", stopped early" : ""})`,
  );
  if (has("best_val_neg_elbo")) add("best validation -ELBO", fmt(m.best_val_neg_elbo));
  if (has("best_val_loss")) add("best validation loss", fmt(m.best_val_loss));
  add("training images/s", int(m.images_per_s));
  add(
    "images",
    `${int(m.train_images)} train, ${int(m.val_images)} val, ${int(m.test_images)} test`,
  );
  add("batch, learning rate", `${int(m.batch)}, ${_value("lr", m.lr)}`);
  add("data", `binarize ${md(String(m.binarize))}; ${md(String(m.data_space ?? "–"))}`);
  add("adapter", md(String(m.adapter ?? "–")));
  return rows;
}

/** A results JSON's scalar fields, short numeric arrays, and flat arrays of objects as tables. */
function _generic(m: Record<string, unknown>, file: string): string[] {
  const rows: string[][] = [], prose: string[] = [], tables: string[] = [], rest: string[] = [];
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === "string" && v.length > 80) prose.push("", `**${md(k)}**: ${md(v)}`);
    else if (v === null || ["string", "number", "boolean"].includes(typeof v)) {
      rows.push([`\`${k}\``, _value(k, v)]);
    } else if (Array.isArray(v) && v.length <= 4 && v.every((x) => typeof x === "number")) {
      rows.push([`\`${k}\``, v.map((x) => _value(k, x)).join(", ")]);
    } else if (_flatRows(v)) {
      const cols = unique(v.flatMap((r) => Object.keys(r).filter((c) => _isScalar(r[c]))));
      const body = v.map((r) => cols.map((c) => _value(c, r[c])));
      tables.push("", `\`${k}\`:`, "", ...table(cols.map((c) => `\`${c}\``), body));
    } else rest.push(`\`${k}\``);
  }
  return [
    ...(rows.length ? ["", ...table(["field", "value"], rows)] : []),
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
    int(e.epoch),
    fmt(elbo ? e.train_neg_elbo : e.train_loss),
    fmt(elbo ? e.val_neg_elbo : e.val_loss),
    fmt(e.val_kl),
    ...(units ? [int(e.val_active_units)] : []),
    fmt(e.seconds),
  ]);
  return table(head, rows);
}

function _isNll(m: Record<string, unknown>): string {
  if (typeof m.test_nll_is !== "number") return "–";
  return `${fmt(m.test_nll_is)} (K = ${int(m.is_samples)}, ${int(m.is_images)} images)`;
}

/** A generic field's value: counts whole, bits/dim to three decimals, tiny rates as written. */
function _value(key: string, v: unknown): string {
  if (typeof v !== "number") return v === null || v === undefined ? "–" : md(String(v));
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
