/** Importance log-weights for the IWAE NLL estimate; kernel: kernels/iw_log_weight.wgsl. */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in iw_log_weight.wgsl. */
export const IwShape = struct({ batch: "u32", latent: "u32", offset: "u32" });

/**
 * log p(x, z) - log q(z | x) per image from the loss's per-image terms and the sampled z: the
 * importance log-weights of the IWAE NLL estimate (importanceNll).
 */
export class IwLogWeight {
  /** Images per call (N). */
  readonly batch: number;
  /** L, the latent dimension. */
  readonly latent: number;
  readonly #gpu: Gpu;
  readonly #kernel: Kernel;
  // One uniform per distinct offset (K of them for K samples): several dispatches
  // with different offsets sit in one submit, and writeBuffer lands before it.
  readonly #shapes = new Map<number, GPUBuffer>();

  private constructor(gpu: Gpu, kernel: Kernel, batch: number, latent: number) {
    this.#gpu = gpu;
    this.#kernel = kernel;
    this.batch = batch;
    this.latent = latent;
  }

  /** Compiles the kernel for batches of `opts.batch` and a latent of `opts.latent`. */
  static async create(gpu: Gpu, opts: { batch: number; latent: number }): Promise<IwLogWeight> {
    return new IwLogWeight(
      gpu,
      await gpu.kernel("iw_log_weight", { WG: 64 }),
      opts.batch,
      opts.latent,
    );
  }

  /**
   * logW[offset + n] = log p(x_n | z_n) + log p(z_n) - log q(z_n | x_n).
   * perImage (N, 2) [recon NLL, KL]; h (N, 2 latent) [mu | logvar]; eps (N, latent).
   */
  forward(
    rec: Recorder,
    logW: Tensor,
    perImage: Tensor,
    h: Tensor,
    eps: Tensor,
    offset: number,
  ): void {
    let shape = this.#shapes.get(offset);
    if (!shape) {
      shape = this.#gpu.uniform(IwShape, { batch: this.batch, latent: this.latent, offset });
      this.#shapes.set(offset, shape);
    }
    const group = this.#gpu.bind(this.#kernel, [shape, perImage, h, eps, logW]);
    rec.dispatchItems(this.#kernel, group, this.batch);
  }
}
