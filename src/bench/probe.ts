/**
 * The bench's probe group: the adapter's peak multiply-add rate (GFLOP/s, the denominator of
 * every later entry's "% peak") and its storage-buffer load rate from L1 (G loads/s, GB/s), in
 * f32 and vec4 loads, measured in the same run as the kernels they put in scale.
 */

import { FMA_CHAINS, FmaProbe, LoadProbe } from "../ops/probe.ts";
import { addEntry } from "./table.ts";
import { type BenchContext, measure, timeRecorded } from "./timing.ts";

/**
 * Loads per invocation, and the source's size: 16 KiB, half of a Zen or Skylake L1d. With 1024
 * loads a dispatch took ~3 ms on lavapipe and its fixed cost left the cores idle a third of the
 * time (1.4 rather than 2.0 G f32 loads/s).
 */
const LOAD_ITERS = 4096, LOAD_BYTES = 16 * 1024;
/**
 * The least wall time of one timed batch, --quick included: the fixed submit-and-wait cost
 * (~11 ms on lavapipe) is then ~2% of it, where at the kernels' 100 ms it would understate
 * the peak, the denominator of every "% peak", by ~10%.
 */
const PROBE_TARGET_MS = 500;

/**
 * Before a later group of GFLOP/s entries: the FMA probe once more, so that its entries' "% peak"
 * is of the peak measured just before them. A shared machine's speed drifts over minutes (the
 * 2-core EPYC's probe read 36 to 56 GFLOP/s within an hour), more than a whole bench takes.
 */
export async function remeasurePeak(c: BenchContext, group: string): Promise<void> {
  if (c.peakGflops === undefined) return;
  await _fmaEntry(
    c,
    `probe fma before ${group}`,
    `the FMA probe again: the 100% of the ` +
      `${group} entries' "% peak"`,
  );
}

/** lavapipe runs whole workgroups on its threads: 64 workgroups keep every core busy and even
 * out the tail; a discrete GPU needs thousands to fill its cores. */
function _probeInvocations(c: BenchContext): number {
  return (c.gpu.isSoftware ? 64 : 4096) * 64;
}

/** Times the FMA probe, sets c.peakGflops and adds its entry. */
async function _fmaEntry(c: BenchContext, name: string, note: string): Promise<void> {
  const gpu = c.gpu, count = _probeInvocations(c);
  // 8192 steps make a dispatch ~40 ms on lavapipe, long beside its fixed cost.
  const iters = 8192;
  const fma = await FmaProbe.create(gpu, { count, iters, a: 0.999, b: 0.001 });
  const init = gpu.storage(
    "probe init",
    Float32Array.from({ length: FMA_CHAINS * 4 }, (_, i) => i / 8),
  );
  const fmaOut = gpu.storage("probe fma out", count * 16);
  const f = await measure(
    c,
    (n) => timeRecorded(gpu, (rec) => fma.run(rec, fmaOut, init), n),
    (ms) => ms,
    Math.max(c.targetMs, PROBE_TARGET_MS),
  );
  c.peakGflops = fma.flops / (f.r * 1e6);
  addEntry(c, {
    name,
    group: "probe",
    gflops: c.peakGflops,
    ms: f.r,
    iters: f.iters,
    shape: `${count} invocations x ${iters} x ${FMA_CHAINS} vec4`,
    note,
  });
  fma.destroy();
  for (const b of [init, fmaOut]) b.destroy();
}

export async function probeGroup(c: BenchContext): Promise<void> {
  await _fmaEntry(
    c,
    "probe fma",
    `independent chains of WGSL fma in registers, four per assignment, 2 FLOPs per ` +
      `lane: the 100% of "% peak" (fused or not as the driver compiles it; lavapipe: a ` +
      "multiply, then an add)",
  );
  const gpu = c.gpu, count = _probeInvocations(c);
  for (const vec4 of [false, true]) {
    const width = vec4 ? 4 : 1, length = LOAD_BYTES / (4 * width);
    const load = await LoadProbe.create(gpu, { count, iters: LOAD_ITERS, length, vec4 });
    const src = gpu.storage(
      "probe load src",
      Float32Array.from({ length: length * width }, (_, i) => i % 16),
    );
    const out = gpu.storage("probe load out", count * width * 4);
    const l = await measure(
      c,
      (n) => timeRecorded(gpu, (rec) => load.run(rec, out, src), n),
      (ms) => ms,
      Math.max(c.targetMs, PROBE_TARGET_MS),
    );
    addEntry(c, {
      name: `probe load ${vec4 ? "vec4" : "f32"}`,
      group: "probe",
      gbps: load.bytes / (l.r * 1e6),
      gloads_per_s: load.loads / (l.r * 1e6),
      ms: l.r,
      iters: l.iters,
      shape: `${count} invocations x ${LOAD_ITERS} from ${LOAD_BYTES / 1024} KiB`,
      note: vec4 ? undefined : "neighbouring invocations read neighbouring words, summed: " +
        "the storage-buffer load rate of a kernel whose data stays in L1",
    });
    load.destroy();
    for (const b of [src, out]) b.destroy();
  }
}
