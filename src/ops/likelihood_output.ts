/**
 * What a likelihood's decoder head means as an image: the mean of p(x | head) per pixel, or
 * one draw from it, both as (N, D) values in [0, 1].
 * Kernels: kernels/<name>_output.wgsl, MODE 0 mean, MODE 1 sample, with one shared contract:
 * bindings 0 shape {n, d, k} (uniform), 1 head (N, D, W) pixel-major, 2 normals, 3 uniforms,
 * 4 out (N, D). A kernel declares binding 2 only if it reads normals and 3 only if it reads
 * uniforms (the auto layout holds only the variables a kernel uses), and both modes share the
 * declared ones (MODE 0 ignores them). A sample reads `normals` standard normals and `uniforms` U(0, 1) numbers per
 * pixel, at normals[(n D + p) NN + t] and uniforms[(n D + p) NU + t]; this op draws them with
 * the counter-based generator right before the dispatch.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";
import type { Rng } from "./rng.ts";

/** Mirror of `struct Shape` in every <name>_output.wgsl. */
export const OutputShape = struct({ n: "u32", d: "u32", k: "u32" });

/** The shapes, kernel and noise needs of one LikelihoodOutput. */
export interface OutputOptions {
  /** Kernel file prefix: "gaussian" for kernels/gaussian_output.wgsl. */
  kernel: string;
  /** Images per call (N). */
  n: number;
  /** Pixels per image (D). */
  d: number;
  /** The likelihood's integer constant (bins k; 0 if none). */
  k: number;
  /** Standard normals one sample reads per pixel (NN). */
  normals: number;
  /** U(0, 1) numbers one sample reads per pixel (NU). */
  uniforms: number;
}

/**
 * A likelihood's decoder head (N, D, W) as images (N, D) in [0, 1]: the mean of p(x | head)
 * per pixel, or one draw from it.
 */
export class LikelihoodOutput {
  /** Images per call (N). */
  readonly n: number;
  /** Pixels per image (D). */
  readonly d: number;
  readonly #gpu: Gpu;
  readonly #o: OutputOptions;
  readonly #mean: Kernel;
  readonly #sample: Kernel;
  readonly #shape: GPUBuffer;
  readonly #normals: GPUBuffer | null;
  readonly #uniforms: GPUBuffer | null;

  private constructor(gpu: Gpu, o: OutputOptions, mean: Kernel, sample: Kernel) {
    this.#gpu = gpu;
    this.#o = o;
    this.n = o.n;
    this.d = o.d;
    this.#mean = mean;
    this.#sample = sample;
    this.#shape = gpu.uniform(OutputShape, { n: o.n, d: o.d, k: o.k });
    const bytes = (per: number) => Math.max(16, o.n * o.d * per * 4);
    this.#normals = o.normals > 0
      ? gpu.storage(`${o.kernel}_output.normals`, bytes(o.normals))
      : null;
    this.#uniforms = o.uniforms > 0
      ? gpu.storage(`${o.kernel}_output.uniforms`, bytes(o.uniforms))
      : null;
  }

  /** Compiles the kernel's mean and sample modes and allocates the noise buffers. */
  static async create(gpu: Gpu, o: OutputOptions): Promise<LikelihoodOutput> {
    const [mean, sample] = await Promise.all([
      gpu.kernel(`${o.kernel}_output`, { WG: 256, MODE: 0 }),
      gpu.kernel(`${o.kernel}_output`, { WG: 256, MODE: 1 }),
    ]);
    return new LikelihoodOutput(gpu, o, mean, sample);
  }

  /** out (N, D) = the mean of p(x | head) per pixel. head: (N, D, W). */
  mean(rec: Recorder, out: Tensor, head: Tensor): void {
    this.#run(rec, this.#mean, out, head);
  }

  /** out (N, D) = one draw from p(x | head), with noise from `rng` at (seed, counter). */
  sample(rec: Recorder, out: Tensor, head: Tensor, rng: Rng, seed: number, counter: number): void {
    const { n, d, normals, uniforms } = this.#o;
    // Two streams of one seed: the counter's low bit tells them apart.
    if (this.#normals) rng.normal(rec, this.#normals, n * d * normals, seed, 2 * counter);
    if (this.#uniforms) rng.uniform(rec, this.#uniforms, n * d * uniforms, seed, 2 * counter + 1);
    this.#run(rec, this.#sample, out, head);
  }

  /** The noise buffers a sample reads (for tests that recompute a draw); null where unused. */
  get noise(): { normals: GPUBuffer | null; uniforms: GPUBuffer | null } {
    return { normals: this.#normals, uniforms: this.#uniforms };
  }

  #run(rec: Recorder, kernel: Kernel, out: Tensor, head: Tensor): void {
    const group = this.#gpu.bind(kernel, [this.#shape, head, this.#normals, this.#uniforms, out]);
    rec.dispatchItems(kernel, group, this.n * this.d);
  }
}
