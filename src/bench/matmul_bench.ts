/**
 * Timing of the linear layer's kernels for the bench task, on seeded random tensors.
 */

import type { Gpu, Recorder } from "../gpu/gpu.ts";
import { Linear, type LinearVariant } from "../ops/linear.ts";

/**
 * What benchLinear times: the forward, the input gradient alone, the weight and bias
 * gradients alone, or the whole backward (both).
 */
export type LinearPass = "forward" | "backward_input" | "backward_weight" | "backward";

/**
 * Times one pass of a Linear layer (x: (N, K), w: (M, K), y: (N, M)): `iters` passes
 * recorded into one submit, after one untimed warm-up submit (which also compiles the
 * pipelines), ended by awaiting gpu.finish(). `ms` is wall-clock per pass, dispatch
 * overhead included; `gflops` counts 2 N K M FLOPs per matrix product (the backward has two;
 * the bias sum is left out).
 */
export async function benchLinear(
  gpu: Gpu,
  N: number,
  K: number,
  M: number,
  variant: LinearVariant,
  iters: number,
  pass: LinearPass = "forward",
): Promise<{ ms: number; gflops: number }> {
  if (!Number.isInteger(iters) || iters < 1) {
    throw new RangeError(`Cannot bench Linear: iters must be a positive integer, got ${iters}`);
  }
  const op = await Linear.create(gpu, { batch: N, inFeatures: K, outFeatures: M, variant });
  let seed = 1;
  const fill = (n: number) =>
    Float32Array.from({ length: n }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 31 - 1;
    });
  const x = gpu.storage("bench x", fill(N * K)), w = gpu.storage("bench w", fill(M * K));
  const b = gpu.storage("bench b", fill(M)), dy = gpu.storage("bench dy", fill(N * M));
  const y = gpu.storage("bench y", N * M * 4), dx = gpu.storage("bench dx", N * K * 4);
  const dw = gpu.storage("bench dw", M * K * 4), db = gpu.storage("bench db", M * 4);
  const record: (rec: Recorder) => void = {
    forward: (rec: Recorder) => op.forward(rec, y, x, w, b),
    backward_input: (rec: Recorder) => op.backwardInput(rec, dx, dy, w),
    backward_weight: (rec: Recorder) => op.backwardWeight(rec, dw, db, dy, x),
    backward: (rec: Recorder) => op.backward(rec, dx, dw, db, dy, x, w),
  }[pass];
  const ms = await _time(gpu, record, iters);
  op.destroy();
  for (const buffer of [x, w, b, dy, y, dx, dw, db]) buffer.destroy();
  const products = pass === "backward" ? 2 : 1;
  return { ms, gflops: (2 * N * K * M * products) / (ms * 1e6) };
}

async function _time(gpu: Gpu, record: (rec: Recorder) => void, iters: number) {
  const warm = gpu.record("bench linear warm-up");
  record(warm);
  await warm.submit();
  await gpu.finish();
  const rec = gpu.record("bench linear");
  for (let i = 0; i < iters; i++) record(rec);
  const t0 = performance.now();
  await rec.submit();
  await gpu.finish();
  return (performance.now() - t0) / iters;
}
