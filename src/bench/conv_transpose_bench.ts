/**
 * Timing of ConvTranspose2d for the bench task: forward, and backward with all
 * three gradients (dX, dW, db), on seeded random tensors.
 */

import type { Gpu, Recorder } from "../gpu/gpu.ts";
import {
  ConvTranspose2d,
  type ConvTranspose2dOptions,
  type ConvTransposeVariant,
} from "../ops/conv_transpose2d.ts";

export interface ConvTransposeBench {
  /** Milliseconds per forward pass. */
  forwardMs: number;
  /** Milliseconds per backward pass (dX, dW and db). */
  backwardMs: number;
  /** Forward and backward together: FLOPs over time, in GFLOP/s. */
  gflops: number;
  forwardGflops: number;
  backwardGflops: number;
}

/** FLOPs of one pass, counted as PyTorch's profiler does: 2 N IC H W OC K^2. */
function _convTransposeFlops(o: ConvTranspose2dOptions): number {
  return 2 * o.batch * o.inChannels * o.height * o.width * o.outChannels * o.kernel * o.kernel;
}

/**
 * Times `iters` forward passes, then `iters` backward passes, each batch in one submit
 * after one untimed warm-up pass (which also compiles the pipelines). The backward counts
 * as two passes of FLOPs (dX and dW; db is negligible).
 */
export async function benchConvTranspose2d(
  gpu: Gpu,
  opts: ConvTranspose2dOptions,
  iters: number,
  variant?: ConvTransposeVariant,
): Promise<ConvTransposeBench> {
  if (!Number.isInteger(iters) || iters < 1) {
    throw new RangeError(
      `Cannot bench ConvTranspose2d: iters must be a positive integer, got ${iters}`,
    );
  }
  const op = await ConvTranspose2d.create(gpu, opts, variant);
  const { batch: N, inChannels: IC, outChannels: OC, kernel: K } = opts;
  const nx = N * IC * opts.height * opts.width, ny = N * OC * op.outHeight * op.outWidth;
  let seed = 1;
  const fill = (n: number) =>
    Float32Array.from({ length: n }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 31 - 1;
    });
  const x = gpu.storage("bench x", fill(nx)), w = gpu.storage("bench w", fill(IC * OC * K * K));
  const b = gpu.storage("bench b", fill(OC)), dy = gpu.storage("bench dy", fill(ny));
  const y = gpu.storage("bench y", ny * 4), dx = gpu.storage("bench dx", nx * 4);
  const dw = gpu.storage("bench dw", IC * OC * K * K * 4), db = gpu.storage("bench db", OC * 4);

  const time = async (passes: number, pass: (rec: Recorder) => void) => {
    const rec = gpu.record("bench conv_transpose2d");
    for (let i = 0; i < passes; i++) pass(rec);
    const t0 = performance.now();
    await rec.submit();
    await gpu.finish();
    return (performance.now() - t0) / passes;
  };
  const forward = (rec: Recorder) => op.forward(rec, y, x, w, b);
  const backward = (rec: Recorder) => op.backward(rec, dx, dw, db, dy, x, w);
  await time(1, forward);
  const forwardMs = await time(iters, forward);
  await time(1, backward);
  const backwardMs = await time(iters, backward);

  op.destroy();
  for (const buffer of [x, w, b, dy, y, dx, dw, db]) buffer.destroy();
  const flops = _convTransposeFlops(opts);
  return {
    forwardMs,
    backwardMs,
    gflops: (3 * flops) / ((forwardMs + backwardMs) * 1e6),
    forwardGflops: flops / (forwardMs * 1e6),
    backwardGflops: (2 * flops) / (backwardMs * 1e6),
  };
}
