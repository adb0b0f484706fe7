/**
 * The negative ELBO of a Bernoulli-likelihood VAE in one fused op: the decoder's
 * per-pixel NLL from logits (stable for any logit) plus the analytic KL of the encoder's
 * diagonal Gaussian from N(0, I), per image and summed over the batch, and their gradients.
 * Kernels: kernels/bernoulli_kl_forward.wgsl (two stages: per image, then batch sums),
 * kernels/bernoulli_kl_backward.wgsl.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in bernoulli_kl_forward.wgsl. */
export const BernoulliKlForwardShape = struct({
  n: "u32",
  d: "u32",
  latent: "u32",
  slot: "u32",
  use_mask: "u32",
});

/** Mirror of `struct Shape` in bernoulli_kl_backward.wgsl. */
export const BernoulliKlBackwardShape = struct({
  n: "u32",
  d: "u32",
  latent: "u32",
  use_mask: "u32",
  scale: "f32",
});

// One workgroup reduces one image's 784 pixels: on lavapipe 128 invocations took 4.1-4.7 ms
// for N = 256 against 6.0-6.5 ms with 256 (one fewer barrier round, fewer idle lanes).
const FORWARD_WG = 128;

// Bounds the per-(slot, mask) and per-(scale, mask) uniforms kept: an epoch uses one slot per
// step, and slots repeat every epoch.
const UNIFORM_CACHE = 4096;

export class BernoulliKl {
  /** Images per batch (N), pixels per image (D), latent size (L). */
  readonly n: number;
  readonly d: number;
  readonly latent: number;
  readonly #gpu: Gpu;
  readonly #perImage: Kernel;
  readonly #batchSum: Kernel;
  readonly #bwd: Kernel;
  readonly #noMask: GPUBuffer;
  readonly #uniforms = new Map<string, GPUBuffer>();

  private constructor(
    gpu: Gpu,
    n: number,
    d: number,
    latent: number,
    kernels: [Kernel, Kernel, Kernel],
  ) {
    this.#gpu = gpu;
    this.n = n;
    this.d = d;
    this.latent = latent;
    [this.#perImage, this.#batchSum, this.#bwd] = kernels;
    // The mask binding always exists; without a mask it is this placeholder, never read.
    this.#noMask = gpu.storage("bernoulli_kl no mask", 16);
  }

  static async create(gpu: Gpu, n: number, d: number, latent: number): Promise<BernoulliKl> {
    for (const [name, v] of [["n", n], ["d", d], ["latent", latent]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(
          `Cannot create BernoulliKl: ${name} must be a positive integer, got ${v}`,
        );
      }
    }
    const kernels = await Promise.all([
      gpu.kernel("bernoulli_kl_forward", { WG: FORWARD_WG, STAGE: 0 }),
      gpu.kernel("bernoulli_kl_forward", { WG: FORWARD_WG, STAGE: 1 }),
      gpu.kernel("bernoulli_kl_backward", { WG: 256 }),
    ]);
    return new BernoulliKl(gpu, n, d, latent, kernels as [Kernel, Kernel, Kernel]);
  }

  /**
   * Per-image recon NLL and KL, and their batch sums into sums[2 slot], sums[2 slot + 1]
   * (other slots untouched, so an epoch's steps fill one buffer that is read back once; sum
   * it in f64). perImage: (N, 2) rows [recon, kl]; sums: (>= 2 slot + 2); logits, x: (N, D);
   * h: (N, 2L) rows [mu, logvar]; mask: (D) of 0/1, pixels with 0 do not count.
   * perImage and sums must be different buffers from the inputs.
   */
  forward(
    rec: Recorder,
    perImage: Tensor,
    sums: Tensor,
    logits: Tensor,
    x: Tensor,
    h: Tensor,
    slot: number,
    mask?: Tensor,
  ): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= 2 ** 31) {
      throw new RangeError(
        `Cannot record BernoulliKl.forward: slot must be an integer >= 0, got ${slot}`,
      );
    }
    const useMask = mask ? 1 : 0;
    const shape = this.#uniform(
      `f${slot},${useMask}`,
      () =>
        this.#gpu.uniform(BernoulliKlForwardShape, {
          n: this.n,
          d: this.d,
          latent: this.latent,
          slot,
          use_mask: useMask,
        }),
    );
    const resources = [shape, logits, x, mask ?? this.#noMask, h, perImage, sums];
    rec.dispatch(this.#perImage, this.#gpu.bind(this.#perImage, resources), this.n);
    rec.dispatch(this.#batchSum, this.#gpu.bind(this.#batchSum, resources), 1);
  }

  /**
   * dLogits = scale * mask * (sigmoid(logits) - x); dH = scale * [mu, (exp(logvar) - 1) / 2],
   * overwritten (Reparam.backward then adds the path through z). scale defaults to 1 / N, the
   * batch-mean loss. dLogits: (N, D); dH: (N, 2L); the inputs as in forward.
   */
  backward(
    rec: Recorder,
    dLogits: Tensor,
    dH: Tensor,
    logits: Tensor,
    x: Tensor,
    h: Tensor,
    mask?: Tensor,
    scale: number = 1 / this.n,
  ): void {
    const useMask = mask ? 1 : 0;
    const shape = this.#uniform(
      `b${scale},${useMask}`,
      () =>
        this.#gpu.uniform(BernoulliKlBackwardShape, {
          n: this.n,
          d: this.d,
          latent: this.latent,
          use_mask: useMask,
          scale,
        }),
    );
    const group = this.#gpu.bind(this.#bwd, [
      shape,
      logits,
      x,
      mask ?? this.#noMask,
      h,
      dLogits,
      dH,
    ]);
    rec.dispatchItems(this.#bwd, group, Math.max(this.n * this.d, this.n * 2 * this.latent));
  }

  /**
   * The uniform for one set of per-call values, written once and never again: queue.writeBuffer
   * lands before the whole next submit, so rewriting a shared buffer would hand every call
   * recorded before that submit the last call's slot. Evicted buffers are dropped, not
   * destroyed: a recorded but unsubmitted command may still use them.
   */
  #uniform(key: string, make: () => GPUBuffer): GPUBuffer {
    let buffer = this.#uniforms.get(key);
    if (buffer) this.#uniforms.delete(key);
    else buffer = make();
    this.#uniforms.set(key, buffer);
    if (this.#uniforms.size > UNIFORM_CACHE) {
      this.#uniforms.delete(this.#uniforms.keys().next().value!);
    }
    return buffer;
  }
}
