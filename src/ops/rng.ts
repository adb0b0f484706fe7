/**
 * Random numbers on the GPU from a counter-based generator, Philox4x32-10: element i of a draw
 * is a pure function of (seed, counter, i), so the same seed reproduces a run on any adapter
 * and training asks for a fresh stream by advancing `counter`: one per call is enough, since
 * each counter value names Philox blocks that no other counter value reaches, whatever n is.
 * Kernel: kernels/rng.wgsl, one file with a DIST override (uniform, normal, raw bits) rather
 * than rng_uniform.wgsl and rng_normal.wgsl: one pipeline cache entry per distribution, and the
 * Philox rounds, which must stay bit-identical to src/reference/rng.ts, in one place. The
 * activation kernels pick their function the same way.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Params` in rng.wgsl. */
export const RngParams = struct({
  n: "u32",
  seed_lo: "u32",
  seed_hi: "u32",
  counter_lo: "u32",
  counter_hi: "u32",
});

// Distinct (n, seed, counter) uniforms kept for reuse; training draws with a new counter each
// step, so older entries only matter to loops that repeat a draw (evaluation with a fixed seed).
const PARAMS_CACHE = 64;
// The kernel's bounds guard computes (n + 3) / 4 in u32.
const MAX_ELEMENTS = 2 ** 32 - 4;

/** A non-negative safe integer as [low 32 bits, high 32 bits]. */
export function splitU64(what: string, value: number): [number, number] {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot draw random numbers: ${what} must be an integer in [0, 2^53), got ${value}`,
    );
  }
  return [value >>> 0, Math.floor(value / 2 ** 32)];
}

/**
 * Uniform, standard normal and raw-bit draws from Philox4x32-10 on the GPU, element i a pure
 * function of (seed, counter, i): bit-identical to src/reference/rng.ts on any adapter.
 */
export class Rng {
  readonly #gpu: Gpu;
  readonly #uniform: Kernel;
  readonly #normal: Kernel;
  readonly #bits: Kernel;
  readonly #params = new Map<string, GPUBuffer>();

  private constructor(gpu: Gpu, uniform: Kernel, normal: Kernel, bits: Kernel) {
    this.#gpu = gpu;
    this.#uniform = uniform;
    this.#normal = normal;
    this.#bits = bits;
  }

  /** Compiles the three distributions' kernels. */
  static async create(gpu: Gpu): Promise<Rng> {
    const [uniform, normal, bits] = await Promise.all(
      [0, 1, 2].map((dist) => gpu.kernel("rng", { WG: 256, DIST: dist })),
    );
    return new Rng(gpu, uniform, normal, bits);
  }

  /** out[i] ~ N(0, 1) as f32, i < n. out: (n) f32. */
  normal(rec: Recorder, out: Tensor, n: number, seed: number, counter: number): void {
    this.#draw(this.#normal, rec, out, n, seed, counter);
  }

  /** out[i] ~ U(0, 1) as f32, never exactly 0 or 1 (24 random bits), i < n. out: (n) f32. */
  uniform(rec: Recorder, out: Tensor, n: number, seed: number, counter: number): void {
    this.#draw(this.#uniform, rec, out, n, seed, counter);
  }

  /** out[i] = the generator's raw 32-bit word i, i < n. out: (n) u32. */
  bits(rec: Recorder, out: Tensor, n: number, seed: number, counter: number): void {
    this.#draw(this.#bits, rec, out, n, seed, counter);
  }

  #draw(kernel: Kernel, rec: Recorder, out: Tensor, n: number, seed: number, counter: number) {
    if (!Number.isInteger(n) || n < 0 || n > MAX_ELEMENTS) {
      throw new RangeError(
        `Cannot draw random numbers: n must be an integer in [0, 2^32 - 4], got ${n}`,
      );
    }
    const params = this.#paramsFor(n, seed, counter);
    rec.dispatchItems(kernel, this.#gpu.bind(kernel, [params, out]), Math.ceil(n / 4));
  }

  /**
   * The uniform buffer for one (n, seed, counter), written once when it is made and never
   * again. Rewriting one shared buffer would be wrong: queue.writeBuffer lands before the
   * whole next submit, so every draw recorded before that submit would see the last call's
   * seed and counter. An evicted buffer is dropped, not destroyed, because a recorded but
   * unsubmitted command may still use it; WebGPU frees it once no command does.
   */
  #paramsFor(n: number, seed: number, counter: number): GPUBuffer {
    const key = `${n},${seed},${counter}`;
    let buffer = this.#params.get(key);
    if (buffer) {
      this.#params.delete(key);
    } else {
      const [seed_lo, seed_hi] = splitU64("seed", seed);
      const [counter_lo, counter_hi] = splitU64("counter", counter);
      buffer = this.#gpu.uniform(RngParams, { n, seed_lo, seed_hi, counter_lo, counter_hi });
    }
    this.#params.set(key, buffer);
    if (this.#params.size > PARAMS_CACHE) {
      this.#params.delete(this.#params.keys().next().value!);
    }
    return buffer;
  }
}
