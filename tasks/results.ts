/**
 * deno task results: the course's results as one Markdown page for the repository (default
 * docs/results.md), generated from the run directories of a course root (--root, default
 * out/standard) and nothing else: per experiment in the course's order its question, the
 * command that made it, its figures (copied to results/ beside the page), its test numbers,
 * its per-epoch table and, for the four likelihood models, the PyTorch reference run of the
 * same budget (--pytorch DIR/<likelihood>.json). A path in a manifest that leaves its run
 * directory is refused, never followed.
 */

import { basename, dirname, extname, join, relative } from "node:path";
import { InputError, parseFlags, printWritten, runTask } from "../src/cli.ts";
import { prepareOutDir, writeFileAtomic } from "../src/io.ts";
import { shellLine } from "../src/course/plan.ts";
import { courseFile, type CourseRecord } from "../src/course/run.ts";
import { type Budget, STEPS } from "../src/course/steps.ts";
import { MANIFEST, type Manifest, MANIFEST_VERSION, resolveInRun } from "../src/report/manifest.ts";
import { resultsMarkdown } from "../src/report/results.ts";
import {
  type ExtraRuns,
  type FigureEntry,
  LIKELIHOOD_STEPS,
  MAX_FIGURE_BYTES,
  type PytorchEntry,
  type PytorchRun,
  type StepEntry,
  type StepRun,
} from "../src/report/results_input.ts";
import { pytorchRun } from "../src/report/results_pytorch.ts";
import { readmeSummary, spliceReadme } from "../src/report/results_readme.ts";
import type { EpochLog } from "../src/train/epoch_log.ts";

const SPEC = {
  root: { type: "string", default: "out/standard", value: "DIR", help: "the course root to read" },
  out: {
    type: "string",
    default: "docs/results.md",
    value: "FILE",
    help: "the page to write; its figures go to <dirname(FILE)>/results/",
  },
  pytorch: {
    type: "string",
    default: "out/pytorch",
    value: "DIR",
    help:
      "where tools/pytorch_reference.py wrote <likelihood>.json (and <likelihood>-seed<N>.json)",
  },
  readme: {
    type: "string",
    default: "README.md",
    value: "FILE",
    help: "rewrite the summary between its <!-- results:begin/end --> markers (if it has them)",
  },
  remedies: {
    type: "string",
    default: "out/remedies",
    value: "DIR",
    help: "training runs with --kl-warmup or --free-bits, one directory each (if there)",
  },
  seeds: {
    type: "string",
    default: "out/seeds",
    value: "DIR",
    help: "training runs of the course's models with other seeds, one directory each (if there)",
  },
} as const;

// The report is the course's own summary of the other steps: it has no results of its own.
const COURSE_STEPS = STEPS.filter((s) => s.name !== "report");

runTask(async () => {
  const f = parseFlags(Deno.args, SPEC, {
    task: "results",
    summary: "Writes the course's results as one Markdown page (numbers, figures, commands, " +
      "per-epoch tables, PyTorch beside ours) generated only from a course root's run " +
      "directories.",
  });
  const course = await _course(f.root);
  await _checkRoot(f.root, course);
  const figDir = join(dirname(f.out), "results");
  await prepareOutDir(figDir);
  const budget: Budget = course?.budget ?? (course?.quick ? "quick" : "full");
  const written: string[] = [];
  const steps: StepEntry[] = [];
  for (const step of COURSE_STEPS) {
    const record = course?.steps.find((r) => r.task === step.task) ?? null;
    const entry: StepEntry = {
      name: step.name,
      task: step.task,
      command: record?.command ??
        shellLine(["deno", "task", step.task, ...step.args(f.root, budget)]),
      record,
      run: null,
    };
    const dir = join(f.root, step.name);
    const manifest = await _manifest(join(dir, MANIFEST));
    if (typeof manifest === "string") entry.problem = manifest;
    else if (manifest) entry.run = await _run(dir, step.name, manifest, figDir, f.out, written);
    const likelihood = LIKELIHOOD_STEPS[step.name];
    if (likelihood) entry.pytorch = await _pytorch(f.pytorch, likelihood);
    steps.push(entry);
  }
  // The remedies' table starts with the course's own runs of the models they treat, as they
  // are (their figures are in their sections above).
  const remedyRuns = await _extraRuns(f.remedies, "remedies", figDir, f.out, written);
  const treated = new Set(remedyRuns.map((r) => r.run.manifest.task));
  const baselines = steps.filter((s) => s.run && treated.has(s.task)).map((s) => ({
    name: `${s.name} (the course's, no remedy)`,
    run: { ...s.run!, figures: [] },
  }));
  const extras: ExtraRuns[] = [
    {
      ...EXTRAS.remedies,
      dir: f.remedies,
      runs: remedyRuns.length ? [...baselines, ...remedyRuns] : [],
    },
    {
      ...EXTRAS.seeds,
      bySeed: true,
      dir: f.seeds,
      runs: await _extraRuns(f.seeds, "seeds", figDir, f.out, written),
    },
  ];
  const command = shellLine(["deno", "task", "results", ...Deno.args]);
  const input = { root: f.root, course, steps, command, extras };
  await writeFileAtomic(f.out, resultsMarkdown(input));
  const readme = await Deno.readTextFile(f.readme).catch(() => null);
  const spliced = readme === null ? null : spliceReadme(readme, readmeSummary(input));
  if (spliced !== null) {
    await writeFileAtomic(f.readme, spliced);
    // The README is under deno fmt, whose tables are aligned: keep `deno fmt --check` clean.
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", f.readme] }).output();
    written.push(f.readme);
  }
  await _removeStale(figDir, written);
  printWritten([...written, f.out]);
});

const EXTRAS = {
  remedies: {
    title: "Posterior collapse and its remedies",
    intro: "What `--kl-warmup EPOCHS` (KL annealing) and `--free-bits NATS` do to the models " +
      "that collapse, against the same model and budget without them.",
  },
  seeds: {
    title: "Other seeds",
    intro: "The course's models trained again with other seeds, for the spread of the numbers.",
  },
};

/**
 * The training runs one level under `dir` (none when it is missing), by name; of each only
 * its reconstructions are copied beside the page, as `<prefix>-<run>_reconstructions.png`.
 */
async function _extraRuns(
  dir: string,
  prefix: string,
  figDir: string,
  page: string,
  written: string[],
): Promise<{ name: string; run: StepRun }[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) names.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const runs: { name: string; run: StepRun }[] = [];
  for (const name of names.sort()) {
    const m = await _manifest(join(dir, name, MANIFEST));
    if (!m || typeof m === "string" || !m.task.startsWith("train-")) continue;
    const only = { ...m, figures: m.figures.filter((x) => x?.file === "reconstructions.png") };
    runs.push({
      name,
      run: await _run(join(dir, name), `${prefix}-${name}`, only, figDir, page, written),
    });
  }
  return runs;
}

/** The root must hold a course: its course.json, or a manifest of one of its steps. */
async function _checkRoot(root: string, course: CourseRecord | null): Promise<void> {
  const info = await Deno.stat(root).catch(() => null);
  if (!info?.isDirectory) {
    throw new InputError(
      `Cannot write the results page: --root ${root} is not a directory; pass the root a ` +
        "course wrote (`deno task course --standard` writes out/standard)",
    );
  }
  if (course) return;
  for (const s of COURSE_STEPS) {
    if (await Deno.stat(join(root, s.name, MANIFEST)).catch(() => null)) return;
  }
  throw new InputError(
    `Cannot write the results page: --root ${root} holds no course steps (no ` +
      "course/course.json, no <step>/manifest.json); run `deno task course` first or pass " +
      "the root it wrote",
  );
}

async function _course(root: string): Promise<CourseRecord | null> {
  const c = await _json(courseFile(root));
  return c.value && Array.isArray((c.value as CourseRecord).steps) ? c.value as CourseRecord : null;
}

/** The manifest; null when there is none; a string saying why one there cannot be used. */
async function _manifest(path: string): Promise<Manifest | string | null> {
  const r = await _json(path);
  if (r.missing) return null;
  const m = r.value as Manifest | undefined;
  if (!m) return `${path} cannot be read (${r.problem})`;
  if (m.version !== MANIFEST_VERSION) {
    return `${path} is manifest version ${m.version}, this task reads ${MANIFEST_VERSION}`;
  }
  const ok = typeof m.task === "string" && Array.isArray(m.figures) && Array.isArray(m.args);
  return ok ? m : `${path} has no task, figures or args`;
}

async function _run(
  dir: string,
  step: string,
  m: Manifest,
  figDir: string,
  page: string,
  written: string[],
): Promise<StepRun> {
  const problems: string[] = [];
  const read = async (file: string | undefined) => {
    if (!file) return null;
    const at = await resolveInRun(dir, file);
    const r = typeof at === "string" ? await _json(at) : { problem: at.refused };
    if (r.problem) problems.push(`${file}: ${r.problem}`);
    return r.value ?? null;
  };
  const metrics = await read(m.metrics);
  const log = await read(m.log);
  const figures: FigureEntry[] = [];
  for (const fig of m.figures.filter((x) => typeof x === "object" && x !== null)) {
    const entry: FigureEntry = { file: String(fig.file), caption: String(fig.caption), href: null };
    const at = await resolveInRun(dir, entry.file);
    const size = typeof at === "string" ? (await Deno.stat(at)).size : 0;
    if (typeof at !== "string") entry.skipped = at.refused;
    else if (![".png", ".svg"].includes(extname(at).toLowerCase())) {
      entry.skipped = "not a PNG or SVG file";
    } else if (size > MAX_FIGURE_BYTES) {
      entry.skipped = `${Math.ceil(size / 1024)} KB, over the page's limit of ` +
        `${MAX_FIGURE_BYTES / 1024} KB per figure; see it in the run directory`;
    } else {
      const name = `${step}_${basename(at)}`.replace(/[^\w.-]/g, "-");
      const copy = join(figDir, name);
      await writeFileAtomic(copy, await Deno.readFile(at));
      written.push(copy);
      entry.href = relative(dirname(page), copy).split(/[\\/]/).map(encodeURIComponent).join("/");
    }
    figures.push(entry);
  }
  const isObject = metrics && typeof metrics === "object" && !Array.isArray(metrics);
  return {
    manifest: m,
    metrics: isObject ? metrics as Record<string, unknown> : null,
    metricsFile: m.metrics ?? null,
    log: Array.isArray(log) ? log as EpochLog[] : null,
    figures,
    problems,
  };
}

async function _pytorch(dir: string, likelihood: string): Promise<PytorchEntry> {
  const file = join(dir, `${likelihood}.json`);
  const r = await _json(file);
  if (r.missing) {
    return { file, run: null, problem: `no ${file} (tools/pytorch_reference.py writes it)` };
  }
  let run = r.value === undefined ? r.problem! : pytorchRun(r.value);
  if (typeof run !== "string" && run.likelihood !== likelihood) {
    run = `it is of the ${run.likelihood} likelihood`;
  }
  if (typeof run === "string") return { file, run: null, problem: `${file}: ${run}` };
  const seeds: { file: string; run: PytorchRun }[] = [];
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && new RegExp(`^${likelihood}-seed\\d+\\.json$`).test(e.name)) names.push(e.name);
  }
  for (const name of names.sort()) {
    const other = await _json(join(dir, name));
    const o = other.value === undefined ? null : pytorchRun(other.value);
    if (o && typeof o !== "string" && o.likelihood === likelihood) {
      seeds.push({ file: join(dir, name), run: o });
    }
  }
  return { file, run, seeds };
}

async function _json(path: string): Promise<{ value?: unknown; problem?: string; missing?: true }> {
  try {
    return { value: JSON.parse(await Deno.readTextFile(path)) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { problem: "missing", missing: true };
    return { problem: (e as Error).message };
  }
}

/** Figures of an earlier page that this one no longer shows: `<course step>_<name>` only. */
async function _removeStale(figDir: string, written: string[]): Promise<void> {
  const keep = new Set(written.map((p) => basename(p)));
  for await (const e of Deno.readDir(figDir)) {
    const ours = [...COURSE_STEPS.map((s) => `${s.name}_`), "remedies-", "seeds-"]
      .some((prefix) => e.name.startsWith(prefix)) &&
      [".png", ".svg"].includes(extname(e.name));
    if (e.isFile && ours && !keep.has(e.name)) {
      await Deno.remove(join(figDir, e.name));
      console.error(`removed ${join(figDir, e.name)} (no longer on the page)`);
    }
  }
}
