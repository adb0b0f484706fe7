/**
 * Timing of Conv2d for the bench task: forward, backward to the input and backward to the
 * weight and bias, on seeded random tensors.
 */

import type { Gpu, Recorder } from "../gpu/gpu.ts";
import { Conv2d, type Conv2dOptions } from "../ops/conv2d.ts";

export interface Conv2dBench {
  /** Milliseconds per forward pass. */
  forwardMs: number;
  /**
   * Milliseconds per full backward pass (dX, dW and db): timed as one pass when `full`, else
   * the sum of the two separate passes, which dispatch the same kernels.
   */
  backwardMs: number;
  /** Milliseconds per backward pass to the input alone. */
  backwardInputMs: number;
  /** Milliseconds per backward pass to the weight and bias alone. */
  backwardWeightMs: number;
  /** Forward and full backward together: FLOPs over time, in GFLOP/s. */
  gflops: number;
  forwardGflops: number;
  backwardInputGflops: number;
  backwardWeightGflops: number;
}

export interface Conv2dBenchOptions {
  /**
   * Also time the full backward as one pass (default true). A caller that only reports the
   * separate passes skips it: it repeats their work, about 40% of the bench's time.
   */
  full?: boolean;
}

/** FLOPs of one pass (forward, backward to the input, or to the weight): 2 N OC OH OW C K^2. */
function _conv2dFlops(o: Conv2dOptions): number {
  const s = o.stride ?? 1, p = o.pad ?? 0;
  const oh = Math.floor((o.height + 2 * p - o.kernel) / s) + 1;
  const ow = Math.floor((o.width + 2 * p - o.kernel) / s) + 1;
  return 2 * o.batch * o.outChannels * oh * ow * o.inChannels * o.kernel * o.kernel;
}

/**
 * Times each pass `iters` times in one submit, after one untimed warm-up submit (which also
 * compiles the pipelines): forward, backward to the input, backward to the weight, and unless
 * `full` is false the full backward. The full backward counts as two passes of FLOPs (db is
 * negligible).
 */
export async function benchConv2d(
  gpu: Gpu,
  opts: Conv2dOptions,
  iters: number,
  { full = true }: Conv2dBenchOptions = {},
): Promise<Conv2dBench> {
  if (!Number.isInteger(iters) || iters < 1) {
    throw new RangeError(`Cannot bench Conv2d: iters must be a positive integer, got ${iters}`);
  }
  const op = await Conv2d.create(gpu, opts);
  const { batch: N, inChannels: C, outChannels: OC, kernel: K } = opts;
  const nx = N * C * opts.height * opts.width, ny = N * OC * op.outHeight * op.outWidth;
  let seed = 1;
  const fill = (n: number) =>
    Float32Array.from({ length: n }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 31 - 1;
    });
  const x = gpu.storage("bench x", fill(nx)), w = gpu.storage("bench w", fill(OC * C * K * K));
  const b = gpu.storage("bench b", fill(OC)), dy = gpu.storage("bench dy", fill(ny));
  const y = gpu.storage("bench y", ny * 4), dx = gpu.storage("bench dx", nx * 4);
  const dw = gpu.storage("bench dw", OC * C * K * K * 4), db = gpu.storage("bench db", OC * 4);

  const time = async (pass: (rec: Recorder) => void) => {
    const warm = gpu.record("bench conv2d warm-up");
    pass(warm);
    await warm.submit();
    await gpu.finish();
    const rec = gpu.record("bench conv2d");
    for (let i = 0; i < iters; i++) pass(rec);
    const t0 = performance.now();
    await rec.submit();
    await gpu.finish();
    return (performance.now() - t0) / iters;
  };
  const forwardMs = await time((rec) => op.forward(rec, y, x, w, b));
  const backwardInputMs = await time((rec) => op.backwardInput(rec, dx, dy, w));
  const backwardWeightMs = await time((rec) => op.backwardWeight(rec, dw, db, dy, x));
  const backwardMs = full
    ? await time((rec) => op.backward(rec, dx, dw, db, dy, x, w))
    : backwardInputMs + backwardWeightMs;

  op.destroy();
  for (const buffer of [x, w, b, dy, y, dx, dw, db]) buffer.destroy();
  const flops = _conv2dFlops(opts);
  const gflops = (f: number, ms: number) => f / (ms * 1e6);
  return {
    forwardMs,
    backwardMs,
    backwardInputMs,
    backwardWeightMs,
    gflops: gflops(3 * flops, forwardMs + backwardMs),
    forwardGflops: gflops(flops, forwardMs),
    backwardInputGflops: gflops(flops, backwardInputMs),
    backwardWeightGflops: gflops(flops, backwardWeightMs),
  };
}
