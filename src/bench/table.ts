/**
 * The bench's output: entries added one at a time (each echoed to stderr as it lands), then
 * bench.json, the table with its notes, the reference-point ratios, and the header lines that
 * say how the kernel entries were timed.
 */

import type { Entry } from "./entry.ts";
import { type BenchContext, LONG_MS } from "./timing.ts";

/**
 * Adds an entry with the adapter, backend and driver and, on a software adapter, the CPU share
 * of the last measurement; prints it to stderr as progress.
 */
export function addEntry(c: BenchContext, e: Omit<Entry, "adapter">): void {
  // name, group, adapter, backend and driver lead in the JSON; fields left undefined are
  // dropped (a null driver, unknown to the system, stays).
  const { name, group, ...rest } = e;
  const { adapterName: adapter, backend, driver } = c.gpu;
  const all = { name, group, adapter, backend, driver, ...rest, cpu_share: c.cpuShare };
  if (!c.gpu.isSoftware) delete all.cpu_share;
  const entry = Object.fromEntries(
    Object.entries(all).filter(([, v]) => v !== undefined),
  ) as unknown as Entry;
  c.entries.push(entry);
  const [, , shape, variant, ips, gflops, gbps, ms] = _row(entry);
  const metrics = [[ips, "images/s"], [gflops, "GFLOP/s"], [gbps, "GB/s"], [ms, "ms"]]
    .filter(([v]) => v !== "").map(([v, unit]) => `${v} ${unit}`).join(", ");
  console.error(`  ${entry.name} [${[shape, variant].filter((x) => x).join(", ")}]: ${metrics}`);
}

/** bench.json: the entries, numbers rounded to four significant digits. */
export function entriesJson(entries: Entry[]): string {
  // Timings on a shared CPU are not better than four digits.
  const round = (_: string, v: unknown) =>
    typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v;
  return JSON.stringify(entries, round, 2) + "\n";
}

/** What the header says about how kernel entries were timed and what that includes. */
export function timingNotes(c: BenchContext): string[] {
  const kernels = c.entries.filter((e) => e.images_per_s === undefined && e.ms !== undefined);
  const lines: string[] = [];
  if (kernels.length > 0) {
    // One submit of `iters` repetitions carries the fixed cost once.
    const share = Math.max(...kernels.map((e) => c.overheadMs / (e.ms! * e.iters)));
    lines.push(
      "kernel entries: ms per repetition, wall clock, from one submit of `iters` repetitions " +
        "after a warm-up submit" +
        (c.reps > 1
          ? `; the faster of ${c.reps} such batches when one takes under ${LONG_MS} ms`
          : ""),
      `empty submit + wait: ${c.overheadMs.toFixed(2)} ms, not subtracted: at most ` +
        `${(share * 100).toFixed(1)}% of any kernel entry's time`,
    );
  }
  if (c.entries.some((e) => e.gflops !== undefined)) {
    lines.push(
      "GFLOP/s: 2 FLOPs per multiply-add of each matrix or conv product (a backward giving dX " +
        "and dW counts two products; bias sums are left out)",
    );
  }
  if (c.gpu.isSoftware) {
    lines.push(
      "CPU: this process's share of all cores while the entry ran; well below 100% means " +
        "other jobs took CPU time (the entry reads slow by about that factor) or the kernel " +
        "left cores idle",
    );
  }
  return lines;
}

const COLUMNS = [
  "group",
  "name",
  "shape",
  "variant",
  "images/s",
  "GFLOP/s",
  "GB/s",
  "ms",
  "iters",
  "CPU",
];

/** One row per entry, numbers right-aligned, then the entries' notes. */
export function formatTable(entries: Entry[]): string {
  const rows = [COLUMNS, ...entries.map(_row)];
  const widths = COLUMNS.map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const numeric = (j: number) => j >= 4;
  const line = (r: string[]) =>
    r.map((cell, j) => numeric(j) ? cell.padStart(widths[j]) : cell.padEnd(widths[j])).join("  ")
      .trimEnd();
  const out = [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of rows.slice(1)) out.push(line(r));
  const notes = entries.filter((e) => e.note).map((e) => `  ${e.name}: ${e.note}`);
  return [...out, ...(notes.length ? ["", "notes:", ...notes] : [])].join("\n");
}

/** The reference points with our number and ratio beside each; none if no entry has refs. */
export function formatReferences(entries: Entry[]): string[] {
  const fmt = (v: number) => v.toLocaleString("en-US", { maximumFractionDigits: 1 });
  const rows = entries.flatMap((e) =>
    (e.refs ?? []).map((r) => [
      r.what,
      r.source,
      `~${fmt(r.value)} ${r.unit}`,
      `${fmt(r.unit === "images/s" ? e.images_per_s! : e.gflops!)} ${r.unit}`,
      `${r.ratio.toFixed(r.ratio < 1 ? 3 : 2)}x`,
    ])
  );
  if (rows.length === 0) return [];
  const all = [["reference point", "measured with", "theirs", "ours", "ours/theirs"], ...rows];
  const widths = all[0].map((_, j) => Math.max(...all.map((r) => r[j].length)));
  return [
    "Reference points from the issues, measured on the same 2-core machine (so the ratios " +
    "mean little on other hardware):",
    ...all.map((r) => "  " + r.map((cell, j) => cell.padEnd(widths[j])).join("  ").trimEnd()),
  ];
}

function _row(e: Entry): string[] {
  const num = (v: number | undefined, digits: number) =>
    v === undefined ? "" : v.toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  const ms = e.ms === undefined ? "" : num(e.ms, e.ms < 10 ? 3 : 1);
  return [
    e.group,
    e.name,
    e.shape ?? "",
    e.variant ?? "",
    num(e.images_per_s, 0),
    num(e.gflops, 2),
    num(e.gbps, 2),
    ms,
    String(e.iters),
    e.cpu_share === undefined ? "" : `${Math.round(e.cpu_share * 100)}%`,
  ];
}
