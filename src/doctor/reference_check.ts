/**
 * The doctor's correctness check: one linear layer's forward and backward on the GPU, with the
 * kernel variant training uses on this adapter, against the f64 reference (src/reference/
 * linear.ts). A broken driver or a miscompiled kernel shows here as errors of order 1, far above
 * f32 rounding.
 */

import type { Gpu } from "../gpu/gpu.ts";
import { Linear } from "../ops/linear.ts";
import { linearBackward, linearForward } from "../reference/linear.ts";
import { seededRandom } from "../random.ts";

/**
 * Largest allowed error relative to each tensor's largest reference value: f32 sums of a few
 * hundred products in [-1, 1) are good to ~1e-6 of that; a wrong result is off by ~1.
 */
const REFERENCE_LIMIT = 1e-4;

/** Sizes that are no multiple of any workgroup size (x is (N, K), w is (M, K)). */
const N = 33, K = 257, M = 65;

export interface ReferenceCheck {
  /** What was compared, in words. */
  what: string;
  /** Per tensor (y, dX, dW, dB): max |gpu - f64| over max |f64|. */
  errors: Record<string, number>;
  maxRelErr: number;
  limit: number;
  passed: boolean;
}

/** Runs Linear forward and backward once (one submit) and compares all four outputs. */
export async function checkLinear(gpu: Gpu): Promise<ReferenceCheck> {
  const rand = seededRandom(7);
  const draw = (n: number) => Float32Array.from({ length: n }, () => 2 * rand() - 1);
  const x = draw(N * K), w = draw(M * K), b = draw(M), dy = draw(N * M);
  const op = await Linear.create(gpu, { batch: N, inFeatures: K, outFeatures: M });
  const buffers = { x, w, b, dy, y: N * M * 4, dX: N * K * 4, dW: M * K * 4, dB: M * 4 };
  const t = Object.fromEntries(
    Object.entries(buffers).map(([name, v]) => [name, gpu.storage(`doctor ${name}`, v)]),
  ) as Record<keyof typeof buffers, GPUBuffer>;
  try {
    const rec = gpu.record("doctor linear");
    op.forward(rec, t.y, t.x, t.w, t.b);
    op.backward(rec, t.dX, t.dW, t.dB, t.dy, t.x, t.w);
    await rec.submit();
    const got = {
      y: await gpu.readF32(t.y, 0, N * M),
      dX: await gpu.readF32(t.dX, 0, N * K),
      dW: await gpu.readF32(t.dW, 0, M * K),
      dB: await gpu.readF32(t.dB, 0, M),
    };
    // The reference sees the same f32 values the kernels see.
    const [xs, ws, bs, dys] = [x, w, b, dy].map((a) => Float64Array.from(a));
    const want = {
      y: linearForward(xs, ws, bs, N, K, M),
      ...linearBackward(dys, xs, ws, N, K, M),
    };
    const errors: Record<string, number> = {};
    for (const key of ["y", "dX", "dW", "dB"] as const) errors[key] = relErr(got[key], want[key]);
    const maxRelErr = Math.max(...Object.values(errors));
    return {
      what: `Linear (${op.variant}) forward and backward, x (${N}, ${K}), w (${M}, ${K}), ` +
        "against the f64 reference",
      errors,
      maxRelErr,
      limit: REFERENCE_LIMIT,
      // NaN compares false: a NaN anywhere fails.
      passed: maxRelErr <= REFERENCE_LIMIT,
    };
  } finally {
    for (const buffer of Object.values(t)) buffer.destroy();
  }
}

/** max |a - e| / max |e|; NaN where a holds a non-finite value. */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let err = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    if (!Number.isFinite(actual[i])) return NaN;
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return err / Math.max(scale, Number.MIN_VALUE);
}
