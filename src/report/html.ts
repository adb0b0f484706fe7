/**
 * `deno task report`: one HTML page of every result under an output root. Each task left a
 * manifest.json (src/report/manifest.ts) naming its figures with captions, its tables and its
 * metrics; this module reads those, never guessing from file names, and lays them out in
 * the course's order. The page is self-contained: inline CSS, no script, images referenced
 * by paths relative to the page (or inlined as data URIs), so it opens from disk offline.
 * This module assembles the page (its sections, contents, CSS); html_read.ts reads the run
 * directories and html_tables.ts holds the HTML escaping and the tables.
 */

import { Buffer } from "node:buffer";
import { basename, extname, relative } from "node:path";
import { type CourseRecord, readCourse, type Run, scanRuns } from "./html_read.ts";
import { courseTable, esc, inline, metricsTable, rowsTable } from "./html_tables.ts";

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
  const { runs, skipped } = await scanRuns(root, outDir);
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
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<p class="facts">Every run under <code>${esc(root)}</code>, in the course's order; written ${
    esc(now.toISOString().replace("T", " ").slice(0, 16))
  } UTC by <code>deno task report</code>.</p>
${course?.quick ? QUICK_BANNER : ""}
${course ? courseTable(course) : ""}
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

/**
 * A badge for a training run whose metrics say its posterior collapsed (or partly), with the
 * verdict's sentence as its title; nothing for older metrics without the field.
 */
function _collapseBadge(run: Run): string {
  const m = run.metrics ?? {};
  const words = typeof m.collapse === "string" ? m.collapse : "";
  if (m.posterior_collapse === true) {
    return ` <span class="badge collapse" title="${esc(words)}">posterior collapse</span>`;
  }
  if (m.partial_collapse === true) {
    return ` <span class="badge collapse" title="${esc(words)}">partial collapse</span>`;
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
    `<code>${esc(["deno task", m.task, ...m.args].join(" "))}</code>`,
    `adapter ${esc(m.adapter)}`,
    `written ${esc(m.created.replace("T", " ").slice(0, 16))} UTC`,
    `commit ${
      m.commit
        ? `<code>${
          esc(m.commit.slice(0, 10) + (m.commit.endsWith("+dirty") ? "+dirty" : ""))
        }</code>`
        : "unknown"
    }`,
  ];
  if (m.data) {
    facts.push(
      `data <code>${esc(m.data.dir)}</code> (sha256 ${esc(m.data.sha256.slice(0, 12))})`,
    );
  }
  const figs = m.figures.map((f, i) => {
    const src = srcs[i];
    if (src === null) {
      return `<figure class="missing"><p>${esc(f.file)} is missing: rerun <code>deno task ${
        esc(m.task)
      }</code>.</p><figcaption>${inline(f.caption)}</figcaption></figure>`;
    }
    return `<figure><a href="${esc(src)}"><img src="${esc(src)}" alt="${esc(f.caption)}" ` +
      `loading="eager"></a><figcaption>${inline(f.caption)}</figcaption></figure>`;
  });
  const heading = `${esc(m.title)}${_extraDir(run)}`;
  return `<section id="${esc(id)}" data-task="${esc(m.task)}">
<h2>${heading}${budget ? ` <span class="badge">${esc(budget)}</span>` : ""}${
    _collapseBadge(run)
  }</h2>
<p class="facts">${facts.join(" · ")}<br>output <code>${esc(run.dir)}</code></p>
${m.loss ? `<p>Optimizes: ${inline(m.loss)}.</p>` : ""}
${
    (m.notes ?? []).length > 0
      ? `<ul class="notes">${(m.notes ?? []).map((n) => `<li>${inline(n)}</li>`).join("")}</ul>`
      : ""
  }
${run.problems.length > 0 ? `<p class="problem">${run.problems.map(esc).join("; ")}.</p>` : ""}
${figs.length > 0 ? `<div class="figures">${figs.join("\n")}</div>` : ""}
${run.tables.map(rowsTable).join("\n")}
${
    run.metrics && !(m.tables ?? []).some((t) => t.file === m.metrics)
      ? metricsTable(run.metrics, m.metrics ?? "")
      : ""
  }
</section>`;
}

function _contents(runs: Run[], missing: string[]): string {
  const items = runs.map((r) =>
    `<li><a href="#${esc(_id(r))}">${esc(r.manifest.title)}</a>${_extraDir(r)}</li>`
  );
  if (missing.length > 0) items.push(`<li><a href="#not-run">Not run (${missing.length})</a></li>`);
  return `<nav><ol>${items.join("")}</ol></nav>`;
}

function _missingSection(missing: string[]): string {
  if (missing.length === 0) return "";
  const rows = missing.map((t) => {
    const s = SECTIONS.find((x) => x.task === t)!;
    return `<li>${esc(s.title)}: <code>deno task ${esc(t)}</code></li>`;
  });
  return `<section id="not-run" data-task="not-run"><h2>Not run</h2>
<p>No output of these under this root yet (or it was written before tasks wrote manifests):</p>
<ul>${rows.join("")}</ul></section>`;
}

function _skippedSection(skipped: string[]): string {
  return `<section id="unreadable" data-task="unreadable"><h2>Unreadable outputs</h2><ul>${
    skipped.map((s) => `<li>${esc(s)}</li>`).join("")
  }</ul></section>`;
}

/** A run outside its task's default directory (out/infer-adam/) is labelled with it. */
function _extraDir(run: Run): string {
  const dir = basename(run.dir);
  return dir === run.manifest.task ? "" : ` <small>${esc(dir)}/</small>`;
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
