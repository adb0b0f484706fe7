/**
 * `deno task report`: one HTML page of every result under an output root. Each task left a
 * manifest.json (src/report/manifest.ts) naming its figures with captions, its tables and its
 * metrics; this module reads those, never guessing from file names, and lays them out in
 * the course's order. The page is self-contained: inline CSS, no script, images referenced
 * by paths relative to the page (or inlined as data URIs), so it opens from disk offline.
 */

import { Buffer } from "node:buffer";
import { basename, extname, join, relative } from "node:path";
import {
  MANIFEST,
  type Manifest,
  MANIFEST_VERSION,
  manifestProblem,
  resolveInRun,
  type TableColumn,
} from "./manifest.ts";

/** The only files a report shows or links as figures. */
const IMAGE_TYPES = [".png", ".svg"];

/**
 * The report's sections in reading order, with the command that makes each; `course: false`
 * for a task the course does not run (its absence is not reported).
 */
export const SECTIONS: readonly { task: string; title: string; course?: false }[] = [
  { task: "train-bernoulli", title: "Bernoulli conv VAE" },
  { task: "train-gaussian", title: "Gaussian conv VAE" },
  { task: "train-beta", title: "Beta conv VAE" },
  { task: "train-categorical", title: "Categorical conv VAE" },
  { task: "compare-likelihoods", title: "The four likelihoods compared" },
  { task: "latent-2d", title: "A 2-D latent space" },
  { task: "latent-pca", title: "PCA of the latent space" },
  { task: "interpolate", title: "Interpolation" },
  { task: "infer", title: "Inference without the encoder" },
  { task: "complete", title: "Image completion" },
  { task: "train-mlp", title: "Kingma & Welling MLP VAE" },
  { task: "mlp-figures", title: "Figures of the MLP VAE" },
  { task: "train-notebook", title: "Tutorial preset: notebook" },
  { task: "train-blog", title: "Tutorial preset: blog" },
  { task: "bench", title: "Benchmark", course: false },
];

/** The course's record (tasks/course.ts writes ROOT/course/course.json). */
interface CourseRecord {
  quick: boolean;
  /** quick, standard or full; absent in records older than budgets. */
  budget?: string;
  started?: string;
  finished?: string | null;
  steps?: { task: string; status: string; seconds?: number | null }[];
}

/** A table to show: rows of scalar cells, the columns' keys and headings. */
export interface Table {
  caption: string;
  columns: TableColumn[];
  rows: Record<string, unknown>[];
}

/** One task's output directory, read through its manifest. */
export interface Run {
  dir: string;
  manifest: Manifest;
  metrics: Record<string, unknown> | null;
  tables: Table[];
  /** Files the manifest names that are not there, or could not be read. */
  problems: string[];
  /** Each figure's real path inside the run directory; null where it is missing or refused. */
  figurePaths: (string | null)[];
}

export interface ReportResult {
  html: string;
  runs: Run[];
  /** Course sections with no run. */
  missing: string[];
  /** Images on the page. */
  figures: number;
  /** Directories whose manifest.json could not be used, with the reason. */
  skipped: string[];
}

/**
 * Reads every `root/<dir>/manifest.json` (one level down) and lays the runs out as one page
 * to be written at `outDir`. With `inline`, images are embedded as data URIs.
 */
export async function buildReport(
  root: string,
  outDir: string,
  o: { inline?: boolean; now?: Date } = {},
): Promise<ReportResult> {
  const { runs, skipped } = await _scanRuns(root, outDir);
  const course = await readCourse(root);
  const present = new Set(runs.map((r) => r.manifest.task));
  const missing = SECTIONS.filter((s) => s.course !== false).map((s) => s.task)
    .filter((t) => !present.has(t));
  const order = (t: string) => {
    const i = SECTIONS.findIndex((s) => s.task === t);
    return i < 0 ? SECTIONS.length : i;
  };
  // Within a task, its default directory (named after it) first, then the others by name.
  runs.sort((a, b) =>
    order(a.manifest.task) - order(b.manifest.task) ||
    Number(basename(b.dir) === b.manifest.task) - Number(basename(a.dir) === a.manifest.task) ||
    a.dir.localeCompare(b.dir)
  );

  let figures = 0;
  const body: string[] = [];
  for (const run of runs) {
    const srcs: (string | null)[] = [];
    for (const path of run.figurePaths) {
      if (path === null) {
        srcs.push(null);
        continue;
      }
      srcs.push(o.inline ? await _dataUri(path) : _href(relative(outDir, path)));
      figures++;
    }
    body.push(_section(run, srcs, course));
  }

  const title = "webgpu-vae: results";
  const now = o.now ?? new Date();
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${_esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${_esc(title)}</h1>
<p class="facts">Every run under <code>${_esc(root)}</code>, in the course's order; written ${
    _esc(now.toISOString().replace("T", " ").slice(0, 16))
  } UTC by <code>deno task report</code>.</p>
${course?.quick ? QUICK_BANNER : ""}
${course ? _courseTable(course) : ""}
${_contents(runs, missing)}
</header>
<main>
${body.join("\n")}
${_missingSection(missing)}
${skipped.length > 0 ? _skippedSection(skipped) : ""}
</main>
</body>
</html>
`;
  return { html, runs, missing, figures, skipped };
}

/** The runs under `root`, skipping `exclude` (the report's own directory). */
async function _scanRuns(
  root: string,
  exclude?: string,
): Promise<{ runs: Run[]; skipped: string[] }> {
  const runs: Run[] = [], skipped: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(root)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { runs, skipped };
    throw e;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = join(root, e.name);
    if (!e.isDirectory || (exclude && relative(exclude, dir) === "")) continue;
    const path = join(dir, MANIFEST);
    if (!(await _isFile(path))) continue;
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await Deno.readTextFile(path));
    } catch (err) {
      skipped.push(`${path}: not valid JSON (${(err as Error).message})`);
      continue;
    }
    const shape = manifestProblem(manifest);
    if (shape) {
      skipped.push(`${path}: ${shape}; rerun the task that wrote it`);
      continue;
    }
    if (manifest.version !== MANIFEST_VERSION) {
      skipped.push(
        `${path}: manifest version ${manifest.version}, this report reads version ` +
          `${MANIFEST_VERSION}; rerun \`deno task ${manifest.task ?? e.name}\``,
      );
      continue;
    }
    if (typeof manifest.task !== "string" || !Array.isArray(manifest.figures)) {
      skipped.push(`${path}: no task or figures; rerun the task that wrote it`);
      continue;
    }
    if (manifest.task === "report" || manifest.task === "course") continue;
    runs.push(await _readRun(dir, manifest));
  }
  return { runs, skipped };
}

async function _readRun(dir: string, manifest: Manifest): Promise<Run> {
  const problems: string[] = [];
  const readJson = async (file: string): Promise<unknown> => {
    const at = await resolveInRun(dir, file);
    if (typeof at !== "string") {
      problems.push(`${file}: ${at.refused}`);
      return null;
    }
    try {
      return JSON.parse(await Deno.readTextFile(at));
    } catch (e) {
      problems.push(`${file} cannot be read: ${(e as Error).message}`);
      return null;
    }
  };
  const figurePaths: (string | null)[] = [];
  for (const f of manifest.figures) {
    const at = await resolveInRun(dir, f.file);
    const image = IMAGE_TYPES.includes(extname(f.file).toLowerCase());
    if (typeof at !== "string") problems.push(`${f.file}: ${at.refused}`);
    else if (!image) problems.push(`${f.file}: refused: not a PNG or SVG image`);
    figurePaths.push(typeof at === "string" && image ? at : null);
  }
  const m = manifest.metrics ? await readJson(manifest.metrics) : null;
  const metrics = m && typeof m === "object" && !Array.isArray(m)
    ? m as Record<string, unknown>
    : null;
  const tables: Table[] = [];
  for (const t of manifest.tables ?? []) {
    if (extname(t.file) !== ".json") continue;
    const rows = _rows(await readJson(t.file));
    if (!rows) continue;
    const columns = Array.isArray(t.columns) && t.columns.length > 0
      ? t.columns.filter((c) => rows.some((r) => _scalar(r[c.key]) && r[c.key] !== null))
      : _columns(rows).map((key) => ({ key, label: key }));
    tables.push({ caption: t.caption, columns, rows });
  }
  return { dir, manifest, metrics, tables, problems, figurePaths };
}

async function readCourse(root: string): Promise<CourseRecord | null> {
  try {
    const c = JSON.parse(await Deno.readTextFile(join(root, "course", "course.json")));
    return typeof c === "object" && c !== null ? c as CourseRecord : null;
  } catch {
    return null;
  }
}

/** An array of objects, or an object's `rows` array of objects (compare.json). */
function _rows(v: unknown): Record<string, unknown>[] | null {
  const a = Array.isArray(v) ? v : (v as { rows?: unknown })?.rows;
  if (!Array.isArray(a) || !a.every((r) => typeof r === "object" && r !== null)) return null;
  return a as Record<string, unknown>[];
}

/** The scalar columns of `rows`, in first-seen order; columns empty in every row are left out. */
function _columns(rows: Record<string, unknown>[]): string[] {
  const cols: string[] = [];
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) {
      if (!cols.includes(k) && _scalar(v) && v !== null) cols.push(k);
    }
  }
  return cols;
}

function _scalar(v: unknown): boolean {
  return v === null || ["number", "string", "boolean"].includes(typeof v);
}

/**
 * A badge for a training run whose metrics say its posterior collapsed (or partly), with the
 * verdict's sentence as its title; nothing for older metrics without the field.
 */
function _collapseBadge(run: Run): string {
  const m = run.metrics ?? {};
  const words = typeof m.collapse === "string" ? m.collapse : "";
  if (m.posterior_collapse === true) {
    return ` <span class="badge collapse" title="${_esc(words)}">posterior collapse</span>`;
  }
  if (m.partial_collapse === true) {
    return ` <span class="badge collapse" title="${_esc(words)}">partial collapse</span>`;
  }
  return "";
}

/** A small-budget run: the course's --quick, or training/evaluation limited by flags. */
function _budgetNote(run: Run, course: CourseRecord | null): string | null {
  const m = run.metrics ?? {};
  const parts: string[] = [];
  if (typeof m.train_limit === "number") parts.push(`${m.train_limit} training images`);
  if (typeof m.eval_images === "number") parts.push(`${m.eval_images} evaluation images`);
  if (course?.quick) parts.unshift("quick course");
  else if (course?.budget === "standard") parts.unshift("standard course");
  if (parts.length === 0) return null;
  return course?.budget === "standard" && parts.length === 1
    ? parts[0]
    : `small budget: ${parts.join(", ")}`;
}

function _section(
  run: Run,
  srcs: (string | null)[],
  course: CourseRecord | null,
): string {
  const m = run.manifest;
  const id = _id(run);
  const budget = _budgetNote(run, course);
  const facts: string[] = [
    `<code>${_esc(["deno task", m.task, ...m.args].join(" "))}</code>`,
    `adapter ${_esc(m.adapter)}`,
    `written ${_esc(m.created.replace("T", " ").slice(0, 16))} UTC`,
    `commit ${
      m.commit
        ? `<code>${
          _esc(m.commit.slice(0, 10) + (m.commit.endsWith("+dirty") ? "+dirty" : ""))
        }</code>`
        : "unknown"
    }`,
  ];
  if (m.data) {
    facts.push(
      `data <code>${_esc(m.data.dir)}</code> (sha256 ${_esc(m.data.sha256.slice(0, 12))})`,
    );
  }
  const figs = m.figures.map((f, i) => {
    const src = srcs[i];
    if (src === null) {
      return `<figure class="missing"><p>${_esc(f.file)} is missing: rerun <code>deno task ${
        _esc(m.task)
      }</code>.</p><figcaption>${_inline(f.caption)}</figcaption></figure>`;
    }
    return `<figure><a href="${_esc(src)}"><img src="${_esc(src)}" alt="${_esc(f.caption)}" ` +
      `loading="eager"></a><figcaption>${_inline(f.caption)}</figcaption></figure>`;
  });
  const heading = `${_esc(m.title)}${_extraDir(run)}`;
  return `<section id="${_esc(id)}" data-task="${_esc(m.task)}">
<h2>${heading}${budget ? ` <span class="badge">${_esc(budget)}</span>` : ""}${
    _collapseBadge(run)
  }</h2>
<p class="facts">${facts.join(" · ")}<br>output <code>${_esc(run.dir)}</code></p>
${m.loss ? `<p>Optimizes: ${_inline(m.loss)}.</p>` : ""}
${
    (m.notes ?? []).length > 0
      ? `<ul class="notes">${(m.notes ?? []).map((n) => `<li>${_inline(n)}</li>`).join("")}</ul>`
      : ""
  }
${run.problems.length > 0 ? `<p class="problem">${run.problems.map(_esc).join("; ")}.</p>` : ""}
${figs.length > 0 ? `<div class="figures">${figs.join("\n")}</div>` : ""}
${run.tables.map(_table).join("\n")}
${
    run.metrics && !(m.tables ?? []).some((t) => t.file === m.metrics)
      ? _metrics(run.metrics, m.metrics ?? "")
      : ""
  }
</section>`;
}

/** A metrics file's scalar fields as a two-column table; nested values are left out. */
function _metrics(metrics: Record<string, unknown>, file: string): string {
  const rows = Object.entries(metrics).filter(([k, v]) => _scalar(v) && k !== "note");
  const note = typeof metrics.note === "string" ? metrics.note : null;
  const skipped = Object.entries(metrics).filter(([, v]) => !_scalar(v)).map(([k]) => k);
  return `<table class="metrics"><caption>${_esc(file)}${
    note ? `: ${_inline(note)}` : ""
  }</caption><tbody>${
    rows.map(([k, v]) => `<tr><th>${_esc(k)}</th><td>${_esc(_cell(v))}</td></tr>`).join("")
  }</tbody></table>${
    skipped.length > 0
      ? `<p class="facts">Also in ${_esc(file)}: ${skipped.map(_esc).join(", ")}.</p>`
      : ""
  }`;
}

function _table(t: Table): string {
  const formats = t.columns.map((c) => _columnFormat(t.rows.map((r) => r[c.key])));
  const numeric = t.columns.map((c) => t.rows.some((r) => typeof r[c.key] === "number"));
  return `<div class="scroll"><table class="rows"><caption>${_inline(t.caption)}</caption>` +
    `<thead><tr>${t.columns.map((c) => `<th>${_esc(c.label)}</th>`).join("")}</tr></thead>` +
    `<tbody>${
      t.rows.map((r) =>
        `<tr>${
          t.columns.map((c, i) => {
            const v = r[c.key];
            const num = numeric[i] && typeof v !== "string" ? ' class="num"' : "";
            return `<td${num}>${_esc(_scalar(v) ? formats[i](v) : "")}</td>`;
          }).join("")
        }</tr>`
      ).join("")
    }</tbody></table></div>`;
}

/**
 * One precision for a whole column, so its numbers line up: integers whole; otherwise two
 * decimals where the column reaches 10 (nats), three where it reaches 1 (bits/dim), four below.
 */
function _columnFormat(values: unknown[]): (v: unknown) => string {
  const nums = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  if (nums.every(Number.isInteger)) return _cell;
  const top = Math.max(...nums.map(Math.abs));
  const digits = top >= 10 ? 2 : top >= 1 ? 3 : 4;
  return (v) => typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : _cell(v);
}

/** Numbers to five significant digits (integers whole); null as a dash. */
function _cell(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return String(v);
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)));
  }
  return String(v);
}

/** The course's steps as it last ran them: status and time of each, and the total. */
function _courseTable(c: CourseRecord): string {
  const steps = c.steps ?? [];
  if (steps.length === 0) return "";
  const total = steps.reduce((a, s) => a + (s.seconds ?? 0), 0);
  const when = c.started ? ` started ${_esc(c.started.replace("T", " ").slice(0, 16))} UTC` : "";
  return `<details class="course"><summary>Course run:${when}, ${steps.length} steps, ${
    _duration(total)
  } of step time${
    c.finished ? "" : " (running when this page was written)"
  }</summary><table class="rows"><thead>` +
    "<tr><th>step</th><th>status</th><th>time</th></tr></thead><tbody>" +
    steps.map((s) =>
      `<tr><td>${_esc(s.task)}</td><td>${_esc(s.status)}</td><td>${
        s.seconds === null || s.seconds === undefined ? "–" : _duration(s.seconds)
      }</td></tr>`
    ).join("") + "</tbody></table></details>";
}

function _duration(seconds: number): string {
  const m = Math.floor(seconds / 60), s = Math.round(seconds - 60 * m);
  return m > 0 ? `${m} min ${s} s` : `${seconds.toFixed(1)} s`;
}

function _contents(runs: Run[], missing: string[]): string {
  const items = runs.map((r) =>
    `<li><a href="#${_esc(_id(r))}">${_esc(r.manifest.title)}</a>${_extraDir(r)}</li>`
  );
  if (missing.length > 0) items.push(`<li><a href="#not-run">Not run (${missing.length})</a></li>`);
  return `<nav><ol>${items.join("")}</ol></nav>`;
}

function _missingSection(missing: string[]): string {
  if (missing.length === 0) return "";
  const rows = missing.map((t) => {
    const s = SECTIONS.find((x) => x.task === t)!;
    return `<li>${_esc(s.title)}: <code>deno task ${_esc(t)}</code></li>`;
  });
  return `<section id="not-run" data-task="not-run"><h2>Not run</h2>
<p>No output of these under this root yet (or it was written before tasks wrote manifests):</p>
<ul>${rows.join("")}</ul></section>`;
}

function _skippedSection(skipped: string[]): string {
  return `<section id="unreadable" data-task="unreadable"><h2>Unreadable outputs</h2><ul>${
    skipped.map((s) => `<li>${_esc(s)}</li>`).join("")
  }</ul></section>`;
}

/** A run outside its task's default directory (out/infer-adam/) is labelled with it. */
function _extraDir(run: Run): string {
  const dir = basename(run.dir);
  return dir === run.manifest.task ? "" : ` <small>${_esc(dir)}/</small>`;
}

function _id(run: Run): string {
  return basename(run.dir).replace(/[^A-Za-z0-9_-]/g, "-");
}

/** A relative path as a URL path: each segment percent-encoded. */
function _href(rel: string): string {
  return rel.split(/[\\/]/).map(encodeURIComponent).join("/");
}

async function _dataUri(path: string): Promise<string> {
  const type = extname(path).toLowerCase() === ".svg" ? "image/svg+xml" : "image/png";
  return `data:${type};base64,${Buffer.from(await Deno.readFile(path)).toString("base64")}`;
}

async function _isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Escapes text for HTML, then shows Markdown's `code` spans as code. */
function _inline(s: string): string {
  return _esc(s).replace(/`([^`]+)`/g, "<code>$1</code>");
}

/** Escapes text for HTML content and attribute values. */
function _esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const QUICK_BANNER = `<p class="quick">Quick course (<code>deno task course --quick</code>): ` +
  "every model trained on a small budget, so the numbers show that the pipeline works, not " +
  "what the models reach. Run <code>deno task course</code> for the real results.</p>";

const CSS = `
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: #1d1d1f; margin: 0 auto; max-width: 1200px; padding: 0 24px 48px; }
h1 { margin: 24px 0 4px; }
h2 { border-top: 1px solid #ccc; padding-top: 20px; margin-top: 36px; }
h2 small, nav small { color: #666; font-weight: normal; }
code { font: 13px ui-monospace, Menlo, Consolas, monospace; background: #f3f3f3; padding: 0 3px; }
.facts { color: #555; font-size: 13px; }
.badge.collapse { background: #fde2e1; border-color: #d9534f; }
.badge { font-size: 12px; font-weight: normal; background: #fff1c2; border: 1px solid #e0c060;
  border-radius: 4px; padding: 1px 6px; vertical-align: middle; }
.quick { background: #fff1c2; border: 1px solid #e0c060; padding: 8px 12px; border-radius: 4px; }
.problem { color: #a00; }
nav ol { columns: 2; font-size: 14px; }
.figures { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
figure { margin: 0; max-width: 100%; }
figure img { max-width: 100%; max-height: 720px; border: 1px solid #ddd; background: #fff; }
figure.missing p { color: #a00; border: 1px dashed #a00; padding: 24px; }
figcaption { font-size: 13px; color: #333; max-width: 560px; }
table { border-collapse: collapse; margin: 16px 0; font-size: 13px; }
.scroll { overflow-x: auto; max-width: 100%; }
td.num { text-align: right; }
caption { text-align: left; color: #555; padding-bottom: 4px; max-width: 900px; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
table.metrics th { background: #fafafa; font-weight: normal; color: #444; }
table.rows th { background: #f3f3f3; }
td { font-variant-numeric: tabular-nums; }
`;
