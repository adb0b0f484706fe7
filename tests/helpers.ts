/** Shared test helpers: the one closeness checker, a seeded RNG, the test GPU. */

import { Gpu } from "../src/gpu/gpu.ts";
import { seededRandom } from "../src/random.ts";

export interface Tolerance {
  atol: number;
  rtol: number;
}

/**
 * Throws unless |actual - expected| <= atol + rtol * |expected| everywhere.
 * NaN and Inf are mismatches unless both sides hold the same non-finite value.
 * The message gives the max abs/rel error and the first few bad indices.
 */
export function assertClose(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol, rtol }: Tolerance,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${name}: length ${actual.length}, expected ${expected.length}`);
  }
  let maxAbs = 0, maxRel = 0;
  const bad: string[] = [];
  let nBad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    let ok: boolean;
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      ok = Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));
    } else {
      const abs = Math.abs(a - e);
      const rel = abs / Math.max(Math.abs(e), 1e-30);
      maxAbs = Math.max(maxAbs, abs);
      if (abs > atol) maxRel = Math.max(maxRel, rel);
      ok = abs <= atol + rtol * Math.abs(e);
    }
    if (!ok) {
      nBad++;
      if (bad.length < 5) bad.push(`[${i}] got ${a}, want ${e}`);
    }
  }
  if (nBad > 0) {
    throw new Error(
      `${name}: ${nBad} of ${expected.length} elements differ beyond atol=${atol} rtol=${rtol} ` +
        `(max abs err ${maxAbs.toExponential(3)}, max rel err ${maxRel.toExponential(3)})\n  ` +
        bad.join("\n  "),
    );
  }
}

/** Seeded uniform [0, 1) generator: tests make their inputs from a seed. */
export const rng = seededRandom;

/** n uniform draws in [lo, hi) as f64. */
export function uniform(rand: () => number, n: number, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/** n standard normal draws (Box-Muller) as f64. */
export function normal(rand: () => number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rand(), v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/**
 * Central finite differences in f64 of a scalar function f at x, for each
 * index in `indices` (all by default). Returns the gradient estimates.
 */
export function numericGrad(
  f: (x: Float64Array) => number,
  x: Float64Array,
  indices?: number[],
  h = 1e-6,
): Float64Array {
  const idx = indices ?? [...x.keys()];
  const g = new Float64Array(idx.length);
  idx.forEach((i, k) => {
    const old = x[i];
    x[i] = old + h;
    const fp = f(x);
    x[i] = old - h;
    const fm = f(x);
    x[i] = old;
    g[k] = (fp - fm) / (2 * h);
  });
  return g;
}

let gpuPromise: Promise<Gpu | null> | null = null;
let reason = "";

/** The shared test GPU, or null (with `noGpuReason()`) when no adapter exists. */
export function testGpu(): Promise<Gpu | null> {
  gpuPromise ??= Gpu.create().catch((e) => {
    reason = (e as Error).message;
    console.warn(`%cGPU tests skipped: ${reason}`, "color: yellow");
    return null;
  });
  return gpuPromise;
}

const gpuAvailable = await testGpu() !== null;

/**
 * Deno.test for a test that needs the GPU: ignored (shown as "ignored", with the
 * reason printed once) when there is no adapter, never silently passed.
 */
export function gpuTest(name: string, fn: (gpu: Gpu) => Promise<void> | void): void {
  Deno.test({
    name,
    ignore: !gpuAvailable,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const gpu = await testGpu();
      await fn(gpu!);
    },
  });
}

export const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/** Chromium's binary: $CHROMIUM, else the usual Debian and Chrome names; null where none. */
export function chromiumPath(): string | null {
  const named = Deno.env.get("CHROMIUM");
  const candidates = named ? [named] : [
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
  ];
  for (const c of candidates) {
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch { /* next */ }
  }
  return null;
}
