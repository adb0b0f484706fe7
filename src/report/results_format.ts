/**
 * The small Markdown and number formatters every part of docs/results.md shares: numbers and
 * counts as the page writes them, text from a file made safe as Markdown, tables, figures.
 */

import type { FigureEntry } from "./results_input.ts";

/** Two decimals (bits/dim three); "–" for a missing value; "-0.00" reads "0.00". */
export function fmt(v: unknown, digits = 2): string {
  if (typeof v !== "number") return v === null || v === undefined ? "–" : String(v);
  if (!Number.isFinite(v)) return String(v);
  return v.toFixed(digits).replace(/^-(0\.?0*)$/, "$1");
}

/** A count (epochs, images, units): whole; a count that is not whole shows its decimals. */
export function int(v: unknown): string {
  return typeof v === "number" && Number.isInteger(v) ? String(v) : fmt(v);
}

/** A metrics file's active units out of its latent size; "–" without them. */
export function activeUnits(m: Record<string, unknown>): string {
  return typeof m.active_units === "number" ? `${int(m.active_units)} of ${int(m.latent)}` : "–";
}

/** A Markdown table's lines. */
export function table(head: string[], rows: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)];
}

/** A figure as Markdown: the image with its caption, or why it is not shown. */
export function figure(f: FigureEntry): string[] {
  if (f.href === null) {
    return [
      "",
      `*${md(f.file)} is not shown: ${md(f.skipped ?? "not copied")}.* ${md(f.caption)}`,
    ];
  }
  return ["", `![${md(f.caption)}](${f.href})`, "", `*${md(f.caption)}*`];
}

/** Text from a file as Markdown text: its markup characters escaped, on one line. */
export function md(s: string): string {
  return s.replace(/[\\`*_[\]<>|]/g, "\\$&").replace(/\s*\n\s*/g, " ");
}

/** The distinct values of `xs`, in first-seen order. */
export function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
