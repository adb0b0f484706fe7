/**
 * The reparameterization trick z = mu + exp(logvar / 2) * eps, with eps ~ N(0, I) drawn
 * outside (Rng.normal), so the sample is a differentiable function of the encoder's head.
 * Kernels: kernels/reparam_forward.wgsl, kernels/reparam_backward.wgsl.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in reparam_{forward,backward}.wgsl. */
export const ReparamShape = struct({ rows: "u32", latent: "u32" });

/**
 * z (rows, L) = mu + exp(logvar / 2) eps from h (rows, 2L) = [mu | logvar] and eps (rows, L),
 * and the gradient back to h through z.
 */
export class Reparam {
  /** Rows per call (images, or images times samples). */
  readonly rows: number;
  /** L, the latent dimension. */
  readonly latent: number;
  readonly #gpu: Gpu;
  readonly #fwd: Kernel;
  readonly #bwd: Kernel;
  readonly #shape: GPUBuffer;

  private constructor(gpu: Gpu, rows: number, latent: number, fwd: Kernel, bwd: Kernel) {
    this.#gpu = gpu;
    this.rows = rows;
    this.latent = latent;
    this.#fwd = fwd;
    this.#bwd = bwd;
    this.#shape = gpu.uniform(ReparamShape, { rows, latent });
  }

  /** For a batch of `rows` images and a latent of size `latent`. */
  static async create(gpu: Gpu, rows: number, latent: number): Promise<Reparam> {
    if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(latent) || latent < 1) {
      throw new RangeError(
        `Cannot create Reparam: rows and latent must be positive integers, got ${rows}, ${latent}`,
      );
    }
    const [fwd, bwd] = await Promise.all([
      gpu.kernel("reparam_forward", { WG: 256 }),
      gpu.kernel("reparam_backward", { WG: 256 }),
    ]);
    return new Reparam(gpu, rows, latent, fwd, bwd);
  }

  /** z = mu + exp(logvar / 2) * eps. z: (N, L); h: (N, 2L) rows [mu, logvar]; eps: (N, L). */
  forward(rec: Recorder, z: Tensor, h: Tensor, eps: Tensor): void {
    const group = this.#gpu.bind(this.#fwd, [this.#shape, h, eps, z]);
    rec.dispatchItems(this.#fwd, group, this.rows * this.latent);
  }

  /**
   * Adds the gradient through z into dH: dmu += dZ, dlogvar += dZ * eps * exp(logvar / 2) / 2.
   * dH: (N, 2L), already holding the KL gradient; dZ, eps: (N, L); h: (N, 2L) the forward's
   * input. dH must be a different buffer from h, eps and dZ.
   */
  backward(rec: Recorder, dH: Tensor, dZ: Tensor, eps: Tensor, h: Tensor): void {
    const group = this.#gpu.bind(this.#bwd, [this.#shape, h, eps, dZ, dH]);
    rec.dispatchItems(this.#bwd, group, this.rows * this.latent);
  }
}
