/**
 * The bench's output: entries added one at a time (each echoed to stderr as it lands), then
 * bench.json, the table with its notes, and the header lines that say how the entries were
 * timed, what the probe measured and, with --torch, how PyTorch compares.
 */

import type { Entry } from "./entry.ts";
import { type BenchContext, LONG_MS } from "./timing.ts";
import { formatRatio, torchFields } from "./torch.ts";

/**
 * Adds an entry with the adapter, backend and driver, its share of the FMA peak (once the probe
 * has run), PyTorch's number for the same workload (with --torch) and, on a software adapter,
 * the CPU share of the last measurement; prints it to stderr as progress.
 */
export function addEntry(c: BenchContext, e: Omit<Entry, "adapter">): void {
  // name, group, adapter, backend, driver and subgroup size lead in the JSON, the note ends it;
  // fields left undefined are dropped (a null driver or subgroup size stays).
  const { name, group, note, ...rest } = e;
  const { adapterName: adapter, backend, driver, subgroupSize: subgroup_size, variants } = c.gpu;
  const peak_fraction = e.gflops !== undefined && c.peakGflops !== undefined
    ? e.gflops / c.peakGflops
    : undefined;
  const all = {
    name,
    group,
    adapter,
    backend,
    driver,
    subgroup_size,
    variants,
    ...rest,
    peak_fraction,
    cpu_share: c.gpu.isSoftware ? c.cpuShare : undefined,
    ...torchFields(e, c.torch),
    note,
  };
  const entry = Object.fromEntries(
    Object.entries(all).filter(([, v]) => v !== undefined),
  ) as unknown as Entry;
  c.entries.push(entry);
  const metrics = _COLUMNS.filter((col) => col.unit).map((col) => [col.cell(entry), col.unit])
    .filter(([v]) => v !== "").map(([v, unit]) => `${v} ${unit}`).join(", ");
  const where = [entry.shape, entry.variant].filter((x) => x).join(", ");
  console.error(`  ${entry.name} [${where}]: ${metrics}`);
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
  if (c.entries.some((e) => e.gflops !== undefined && e.group !== "probe")) {
    lines.push(
      "GFLOP/s: 2 FLOPs per multiply-add of each matrix or conv product (a backward giving dX " +
        "and dW counts two products; bias sums are left out)",
    );
  }
  lines.push(..._probeNotes(c.entries));
  if (c.gpu.isSoftware) {
    lines.push(
      "CPU: this process's share of all cores while the entry ran; well below 100% means " +
        "other jobs took CPU time (the entry reads slow by about that factor) or the kernel " +
        "left cores idle",
    );
  }
  return lines;
}

/** The probe's results in one line, or none when the probe did not run. */
function _probeNotes(entries: Entry[]): string[] {
  const probe = entries.filter((e) => e.group === "probe");
  const fma = probe.find((e) => e.gflops !== undefined);
  if (!fma) return [];
  const loads = probe.filter((e) => e.gloads_per_s !== undefined).map((e) =>
    `${e.gloads_per_s!.toFixed(2)} G ${e.name.split(" ").at(-1)} loads/s ` +
    `(${e.gbps!.toFixed(2)} GB/s)`
  );
  return [
    `peak probe: FMA ${fma.gflops!.toFixed(2)} GFLOP/s (the 100% of "% peak")` +
    (loads.length ? `; from L1: ${loads.join(", ")}` : ""),
  ];
}

interface Column {
  title: string;
  numeric: boolean;
  /** Left out of the table when no row has a value. */
  optional?: boolean;
  /** The unit the progress line gives the value in; none for the columns it leaves out. */
  unit?: string;
  cell: (e: Entry) => string;
}

const _num = (v: number | undefined, digits: number) =>
  v === undefined ? "" : v.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });

const _COLUMNS: Column[] = [
  { title: "group", numeric: false, cell: (e) => e.group },
  { title: "name", numeric: false, cell: (e) => e.name },
  { title: "shape", numeric: false, cell: (e) => e.shape ?? "" },
  { title: "variant", numeric: false, cell: (e) => e.variant ?? "" },
  { title: "images/s", numeric: true, unit: "images/s", cell: (e) => _num(e.images_per_s, 0) },
  { title: "GFLOP/s", numeric: true, unit: "GFLOP/s", cell: (e) => _num(e.gflops, 2) },
  {
    title: "% peak",
    numeric: true,
    optional: true,
    unit: "of peak",
    cell: (e) => e.peak_fraction === undefined ? "" : `${(e.peak_fraction * 100).toFixed(1)}%`,
  },
  { title: "GB/s", numeric: true, unit: "GB/s", cell: (e) => _num(e.gbps, 2) },
  {
    title: "Gload/s",
    numeric: true,
    optional: true,
    unit: "G loads/s",
    cell: (e) => _num(e.gloads_per_s, 3),
  },
  {
    title: "ms",
    numeric: true,
    unit: "ms",
    cell: (e) => e.ms === undefined ? "" : _num(e.ms, e.ms < 10 ? 3 : 1),
  },
  { title: "iters", numeric: true, cell: (e) => String(e.iters) },
  {
    title: "CPU",
    numeric: true,
    cell: (e) => e.cpu_share === undefined ? "" : `${Math.round(e.cpu_share * 100)}%`,
  },
  {
    title: "PyTorch",
    numeric: true,
    optional: true,
    cell: (e) =>
      e.torch_gflops !== undefined ? _num(e.torch_gflops, 2) : _num(e.torch_images_per_s, 0),
  },
  {
    title: "ours/PyTorch",
    numeric: true,
    optional: true,
    cell: (e) => e.ratio_torch === undefined ? "" : formatRatio(e.ratio_torch),
  },
];

/**
 * One row per entry, numbers right-aligned, then the entries' notes. "% peak", "Gload/s" and
 * the PyTorch columns appear only when some entry has them.
 */
export function formatTable(entries: Entry[]): string {
  const columns = _COLUMNS.filter((col) => !col.optional || entries.some((e) => col.cell(e)));
  const rows = [
    columns.map((col) => col.title),
    ...entries.map((e) => columns.map((col) => col.cell(e))),
  ];
  const widths = columns.map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r.map((cell, j) => columns[j].numeric ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))
      .join("  ").trimEnd();
  const out = [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of rows.slice(1)) out.push(line(r));
  const notes = entries.filter((e) => e.note).map((e) => `  ${e.name}: ${e.note}`);
  return [...out, ...(notes.length ? ["", "notes:", ...notes] : [])].join("\n");
}
