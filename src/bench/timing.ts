/**
 * How the bench times kernels: a kernel entry records `iters` repetitions into one submit after
 * an untimed warm-up submit (pipelines compile lazily on some drivers) and ends at gpu.finish():
 * wall clock, so the fixed submit-and-wait cost (~11 ms on lavapipe; measured, printed, not
 * subtracted) is in it. Without --iters, the repetitions grow until one batch lasts the target
 * (300 ms, --quick 100), which keeps that cost small, and a batch under LONG_MS is timed twice,
 * the faster kept (other jobs on a shared machine only ever slow a batch down). On a software
 * adapter each entry also gets the process's share of the CPUs while it ran, so a reader can
 * tell a slow kernel from a busy machine.
 */

import process from "node:process";
import type { Gpu, Recorder } from "../gpu/gpu.ts";
import type { GpuDataset } from "../data/gpu_dataset.ts";
import type { Entry } from "./entry.ts";
import type { TorchResult } from "./torch.ts";
import type { StepProfile } from "./step_profile.ts";

/** A timed batch this long is timed once: a repeat would cost too much of the run's budget. */
export const LONG_MS = 1000;

/** The run's settings, its results so far, and what every group needs. */
export interface BenchContext {
  gpu: Gpu;
  quick: boolean;
  /** --iters: fixed repetitions per kernel entry and steps per model; adaptive if undefined. */
  iters: number | undefined;
  /** Wall time that one timed batch of repetitions should fill. */
  targetMs: number;
  /** Timed batches per entry, the fastest kept (batches of LONG_MS or more: one). */
  reps: number;
  maxIters: number;
  /** One empty submit and wait. */
  overheadMs: number;
  /** Training images on the GPU, for the groups that gather batches. */
  data: GpuDataset | null;
  entries: Entry[];
  /** This process's share of all CPUs during the last measurement (software adapters). */
  cpuShare: number | undefined;
  /** The probe group's FMA GFLOP/s, once it has run: later GFLOP/s entries get their share. */
  peakGflops: number | undefined;
  /** With --torch: PyTorch's timings, which matching entries are compared with. */
  torch: TorchResult | null;
  /** --profile: time every dispatch of one training step per model. */
  profile: boolean;
  profiles: StepProfile[];
}

/** A context for `gpu` with no entries and no data yet; measures the empty submit first. */
export async function createBenchContext(
  gpu: Gpu,
  quick: boolean,
  iters: number | undefined,
): Promise<BenchContext> {
  return {
    gpu,
    quick,
    iters,
    targetMs: quick ? 100 : 300,
    reps: quick || iters !== undefined ? 1 : 2,
    maxIters: quick ? 200 : 1000,
    overheadMs: await _emptySubmitMs(gpu),
    data: null,
    entries: [],
    cpuShare: undefined,
    peakGflops: undefined,
    torch: null,
    profile: false,
    profiles: [],
  };
}

/**
 * Runs `run(iters)` (which times `iters` repetitions in one submit and returns their mean) and
 * returns its fastest result. Without --iters, one repetition comes first, and the count grows
 * until one batch fills the target, so that the fixed submit-and-wait cost is a small share;
 * then a batch shorter than LONG_MS is timed `c.reps` times in all and the fastest is kept,
 * since other jobs on a shared machine only ever make a batch slower. `msOf` is the wall time of
 * one repetition of everything `run` times; `targetMs` overrides the context's target.
 */
export async function measure<T>(
  c: BenchContext,
  run: (iters: number) => Promise<T>,
  msOf: (r: T) => number,
  targetMs: number = c.targetMs,
): Promise<{ r: T; iters: number }> {
  const cpu = cpuClock();
  let iters = c.iters ?? 1, best = await run(iters);
  for (let k = 0; c.iters === undefined && k < 3 && msOf(best) * iters < targetMs; k++) {
    const net = Math.max(msOf(best) - c.overheadMs / iters, targetMs / c.maxIters);
    const next = Math.min(c.maxIters, Math.ceil(targetMs / net));
    if (next <= iters) break;
    iters = next;
    best = await run(iters);
  }
  const reps = msOf(best) * iters >= LONG_MS ? 1 : c.reps;
  for (let k = 1; k < reps; k++) {
    const r = await run(iters);
    if (msOf(r) < msOf(best)) best = r;
  }
  c.cpuShare = cpu();
  return { r: best, iters };
}

/** Starts a clock of this process's CPU time; calling it gives the share of all CPUs since. */
export function cpuClock(): () => number {
  const t0 = performance.now(), u0 = process.cpuUsage();
  return () => {
    const u = process.cpuUsage(u0), wallMs = performance.now() - t0;
    return (u.user + u.system) / 1000 / (wallMs * navigator.hardwareConcurrency);
  };
}

/** Milliseconds per repetition of `record`: one warm-up submit, then `iters` in one submit. */
export async function timeRecorded(
  gpu: Gpu,
  record: (rec: Recorder) => void,
  iters: number,
): Promise<number> {
  const warm = gpu.record("bench warm-up");
  record(warm);
  await warm.submit();
  await gpu.finish();
  const rec = gpu.record("bench");
  for (let i = 0; i < iters; i++) record(rec);
  const t0 = performance.now();
  await rec.submit();
  await gpu.finish();
  return (performance.now() - t0) / iters;
}

/** Median of a few empty submit-and-wait round trips, after one to warm the queue. */
async function _emptySubmitMs(gpu: Gpu): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    await gpu.record("bench empty").submit();
    await gpu.finish();
    if (i > 0) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}
