/** Bernoulli sampling from probabilities; kernel: kernels/bernoulli_sample.wgsl. */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";
import type { Rng } from "./rng.ts";

/** Mirror of `struct Shape` in bernoulli_sample.wgsl. */
export const BernoulliSampleShape = struct({ n: "u32" });

/** Draws x ~ Bernoulli(p) elementwise over n elements (the Bernoulli decoder's samples). */
export class BernoulliSample {
  /** Elements per call. */
  readonly n: number;
  readonly #gpu: Gpu;
  readonly #kernel: Kernel;
  readonly #shape: GPUBuffer;
  readonly #noise: GPUBuffer;

  private constructor(gpu: Gpu, kernel: Kernel, n: number) {
    this.#gpu = gpu;
    this.#kernel = kernel;
    this.n = n;
    this.#shape = gpu.uniform(BernoulliSampleShape, { n });
    this.#noise = gpu.storage("bernoulli_sample.noise", n * 4);
  }

  /** Compiles the kernel and allocates the noise buffer for `n` elements. */
  static async create(gpu: Gpu, n: number): Promise<BernoulliSample> {
    return new BernoulliSample(gpu, await gpu.kernel("bernoulli_sample", { WG: 256 }), n);
  }

  /** x (n) ~ Bernoulli(p (n)), with uniform noise from `rng` at (seed, counter). */
  sample(rec: Recorder, x: Tensor, p: Tensor, rng: Rng, seed: number, counter: number): void {
    rng.uniform(rec, this.#noise, this.n, seed, counter);
    this.sampleWith(rec, x, p, this.#noise);
  }

  /** x (n) = 1 where u < p, else 0, with caller-supplied uniform noise u (n). */
  sampleWith(rec: Recorder, x: Tensor, p: Tensor, u: Tensor): void {
    rec.dispatchItems(this.#kernel, this.#gpu.bind(this.#kernel, [this.#shape, p, u, x]), this.n);
  }
}
