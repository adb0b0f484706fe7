/**
 * The encoder head mu = sigmoid(a), sigma = sigmoid(b) of the blog preset, written as the
 * graph's [mu | logvar] rows (logvar = 2 log sigmoid(b)), and its backward.
 * Kernels: kernels/sigmoid_head_forward.wgsl, kernels/sigmoid_head_backward.wgsl.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in sigmoid_head_{forward,backward}.wgsl. */
export const SigmoidHeadShape = struct({ n: "u32", latent: "u32" });

export class SigmoidHead {
  readonly n: number;
  readonly latent: number;
  readonly #gpu: Gpu;
  readonly #fwd: Kernel;
  readonly #bwd: Kernel;
  readonly #shape: GPUBuffer;

  private constructor(gpu: Gpu, n: number, latent: number, kernels: [Kernel, Kernel]) {
    this.#gpu = gpu;
    this.n = n;
    this.latent = latent;
    [this.#fwd, this.#bwd] = kernels;
    this.#shape = gpu.uniform(SigmoidHeadShape, { n, latent });
  }

  /** The head of `n` rows of 2 `latent` numbers. */
  static async create(gpu: Gpu, n: number, latent: number): Promise<SigmoidHead> {
    for (const [name, v] of [["n", n], ["latent", latent]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`Cannot create the sigmoid head: ${name} must be >= 1, got ${v}`);
      }
    }
    const kernels = await Promise.all([
      gpu.kernel("sigmoid_head_forward", { WG: 256 }),
      gpu.kernel("sigmoid_head_backward", { WG: 256 }),
    ]);
    return new SigmoidHead(gpu, n, latent, kernels as [Kernel, Kernel]);
  }

  /** h (N, 2L) rows [mu | logvar] from raw (N, 2L) rows [a | b]. */
  forward(rec: Recorder, h: Tensor, raw: Tensor): void {
    const group = this.#gpu.bind(this.#fwd, [this.#shape, raw, h]);
    rec.dispatchItems(this.#fwd, group, this.n * 2 * this.latent);
  }

  /** dRaw (N, 2L) from dH (N, 2L), after a forward of the same raw. */
  backward(rec: Recorder, dRaw: Tensor, dH: Tensor, raw: Tensor): void {
    const group = this.#gpu.bind(this.#bwd, [this.#shape, raw, dH, dRaw]);
    rec.dispatchItems(this.#bwd, group, this.n * 2 * this.latent);
  }
}
