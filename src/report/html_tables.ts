/**
 * The HTML report's text and tables: escaping for HTML (with Markdown's `code` spans shown as
 * code), a metrics file as a two-column table, a run's tables with one precision per column,
 * and the course's steps with their times.
 */

import { type CourseRecord, scalar, type Table } from "./html_read.ts";

/** A metrics file's scalar fields as a two-column table; nested values are left out. */
export function metricsTable(metrics: Record<string, unknown>, file: string): string {
  const rows = Object.entries(metrics).filter(([k, v]) => scalar(v) && k !== "note");
  const note = typeof metrics.note === "string" ? metrics.note : null;
  const skipped = Object.entries(metrics).filter(([, v]) => !scalar(v)).map(([k]) => k);
  return `<table class="metrics"><caption>${esc(file)}${
    note ? `: ${inline(note)}` : ""
  }</caption><tbody>${
    rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(_cell(v))}</td></tr>`).join("")
  }</tbody></table>${
    skipped.length > 0
      ? `<p class="facts">Also in ${esc(file)}: ${skipped.map(esc).join(", ")}.</p>`
      : ""
  }`;
}

/** A run's table: numeric columns right-aligned, each at one precision. */
export function rowsTable(t: Table): string {
  const formats = t.columns.map((c) => _columnFormat(t.rows.map((r) => r[c.key])));
  const numeric = t.columns.map((c) => t.rows.some((r) => typeof r[c.key] === "number"));
  return `<div class="scroll"><table class="rows"><caption>${inline(t.caption)}</caption>` +
    `<thead><tr>${t.columns.map((c) => `<th>${esc(c.label)}</th>`).join("")}</tr></thead>` +
    `<tbody>${
      t.rows.map((r) =>
        `<tr>${
          t.columns.map((c, i) => {
            const v = r[c.key];
            const num = numeric[i] && typeof v !== "string" ? ' class="num"' : "";
            return `<td${num}>${esc(scalar(v) ? formats[i](v) : "")}</td>`;
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
export function courseTable(c: CourseRecord): string {
  const steps = c.steps ?? [];
  if (steps.length === 0) return "";
  const total = steps.reduce((a, s) => a + (s.seconds ?? 0), 0);
  const when = c.started ? ` started ${esc(c.started.replace("T", " ").slice(0, 16))} UTC` : "";
  return `<details class="course"><summary>Course run:${when}, ${steps.length} steps, ${
    _duration(total)
  } of step time${
    c.finished ? "" : " (running when this page was written)"
  }</summary><table class="rows"><thead>` +
    "<tr><th>step</th><th>status</th><th>time</th></tr></thead><tbody>" +
    steps.map((s) =>
      `<tr><td>${esc(s.task)}</td><td>${esc(s.status)}</td><td>${
        s.seconds === null || s.seconds === undefined ? "–" : _duration(s.seconds)
      }</td></tr>`
    ).join("") + "</tbody></table></details>";
}

function _duration(seconds: number): string {
  const m = Math.floor(seconds / 60), s = Math.round(seconds - 60 * m);
  return m > 0 ? `${m} min ${s} s` : `${seconds.toFixed(1)} s`;
}

/** Escapes text for HTML, then shows Markdown's `code` spans as code. */
export function inline(s: string): string {
  return esc(s).replace(/`([^`]+)`/g, "<code>$1</code>");
}

/** Escapes text for HTML content and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
