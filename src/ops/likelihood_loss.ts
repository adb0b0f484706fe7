/**
 * The negative ELBO of a VAE under one likelihood, in one fused op: the decoder head's
 * per-pixel negative log-likelihood plus the analytic KL of the encoder's diagonal Gaussian
 * from N(0, I), per image and summed over the batch, and their gradients.
 *
 * Every likelihood has its own kernel files with one shared contract, so this one wrapper
 * drives them all (kernels/<name>_kl_forward.wgsl and kernels/<name>_kl_backward.wgsl):
 * - head is (N, D, W): W numbers per pixel, pixel-major (head[(n D + p) W + w]);
 * - x is (N, D): the data the loss sees, as the gather wrote it (binary pixels; dequantized
 *   grey levels in (0, 1); bin centres (j + 0.5) / k);
 * - h is (N, 2L) rows [mu | logvar]; mask is (D) of 0/1 (pixels with 0 do not count), read
 *   only when use_mask != 0; weights is (N), read only when use_weights != 0;
 * - forward writes per_image (N, 2) rows [recon, kl] and the batch sums into sums[2 slot],
 *   sums[2 slot + 1], in a fixed reduction order (the same bits on every run);
 * - backward overwrites dhead = scale w_n d recon / d head and
 *   dh = scale w_n kl_weight d kl / d h (Reparam.backward then adds the path through z);
 *   with free bits lambda, the KL term is sum_j max(lambda, batch mean of KL_j), so dh of a
 *   dimension whose batch mean is at most lambda is 0.
 * One kernel file per likelihood and direction, rather than an include mechanism, keeps every
 * file valid WGSL on its own and every compile error's line:col in the file it names; the
 * price is that the KL and the reduction tree repeat in each forward file (~30 lines).
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in every <name>_kl_forward.wgsl. */
export const LossForwardShape = struct({
  n: "u32",
  d: "u32",
  latent: "u32",
  slot: "u32",
  use_mask: "u32",
  k: "u32",
});

/** Mirror of `struct Shape` in every <name>_kl_backward.wgsl. */
export const LossBackwardShape = struct({
  n: "u32",
  d: "u32",
  latent: "u32",
  use_mask: "u32",
  use_weights: "u32",
  k: "u32",
  scale: "f32",
  kl_weight: "f32",
  free_bits: "f32",
});

// One workgroup reduces one image's pixels: on lavapipe 128 invocations took 4.1-4.7 ms for
// N = 256 against 6.0-6.5 ms with 256 (one fewer barrier round, fewer idle lanes).
const FORWARD_WG = 128;

// Bounds the per-call uniforms kept: an epoch uses one slot per step, and slots repeat.
const UNIFORM_CACHE = 4096;

/** The shapes and kernel of one LikelihoodLoss. */
export interface LossOptions {
  /** Kernel file prefix: "bernoulli" for kernels/bernoulli_kl_forward.wgsl. */
  kernel: string;
  /** Images per batch (N). */
  n: number;
  /** Pixels per image (D). */
  d: number;
  /** Latent size (L). */
  latent: number;
  /** Head numbers per pixel (W). */
  width: number;
  /** The likelihood's integer constant (bins k; 0 if none). */
  k: number;
}

/** Options of the loss's backward (LikelihoodLoss.backward, VaeGraph.backward). */
export interface BackwardOptions {
  /** (D) of 0/1: pixels with 0 add nothing to the recon term's gradient (image completion). */
  mask?: Tensor;
  /** (N) per-image weights (e.g. 0 for images whose optimization has stopped). */
  weights?: Tensor;
  /** Defaults to 1 / N, the batch-mean loss. */
  scale?: number;
  /** Weight of the KL term's gradient; the reported -ELBO always uses 1. Default 1. */
  klWeight?: number;
  /**
   * Free bits lambda, nats per latent dimension (Kingma et al. 2016): the KL term's gradient
   * is sum_j max(lambda, mean over the batch of KL_j)'s, so a dimension whose batch mean KL is
   * at most lambda is not pushed towards the prior. Default 0: off. The reported KL is the
   * true one either way.
   */
  freeBits?: number;
}

/**
 * The fused negative ELBO of one likelihood at one batch size: recon NLL plus KL per image,
 * their batch sums, and the gradients with respect to the decoder head and (mu, logvar).
 */
export class LikelihoodLoss {
  /** Kernel file prefix (LossOptions.kernel). */
  readonly kernel: string;
  /** Images per batch (N). */
  readonly n: number;
  /** Pixels per image (D). */
  readonly d: number;
  /** Latent size (L). */
  readonly latent: number;
  /** Head numbers per pixel (W). */
  readonly width: number;
  /** The likelihood's integer constant (bins k; 0 if none). */
  readonly k: number;
  readonly #gpu: Gpu;
  readonly #perImage: Kernel;
  readonly #batchSum: Kernel;
  readonly #bwd: Kernel;
  readonly #unused: GPUBuffer;
  readonly #uniforms = new Map<string, GPUBuffer>();

  private constructor(gpu: Gpu, o: LossOptions, kernels: [Kernel, Kernel, Kernel]) {
    this.#gpu = gpu;
    this.kernel = o.kernel;
    this.n = o.n;
    this.d = o.d;
    this.latent = o.latent;
    this.width = o.width;
    this.k = o.k;
    [this.#perImage, this.#batchSum, this.#bwd] = kernels;
    // The mask and weights bindings always exist; when unused they are this placeholder.
    this.#unused = gpu.storage(`${o.kernel}_kl unused`, 16);
  }

  /** Compiles the forward (two stages) and backward kernels; RangeError on a bad shape. */
  static async create(gpu: Gpu, o: LossOptions): Promise<LikelihoodLoss> {
    for (const name of ["n", "d", "latent", "width"] as const) {
      const v = o[name];
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(
          `Cannot create the ${o.kernel} loss: ${name} must be a positive integer, got ${v}`,
        );
      }
    }
    if (!Number.isInteger(o.k) || o.k < 0) {
      throw new RangeError(`Cannot create the ${o.kernel} loss: k must be >= 0, got ${o.k}`);
    }
    const kernels = await Promise.all([
      gpu.kernel(`${o.kernel}_kl_forward`, { WG: FORWARD_WG, STAGE: 0 }),
      gpu.kernel(`${o.kernel}_kl_forward`, { WG: FORWARD_WG, STAGE: 1 }),
      gpu.kernel(`${o.kernel}_kl_backward`, { WG: 256 }),
    ]);
    return new LikelihoodLoss(gpu, o, kernels as [Kernel, Kernel, Kernel]);
  }

  /**
   * Per-image recon NLL and KL into perImage (N, 2), and their batch sums into sums[2 slot],
   * sums[2 slot + 1] (other slots untouched, so an epoch's steps fill one buffer that is read
   * back once). head: (N, D, W); x: (N, D); h: (N, 2L); mask: (D).
   */
  forward(
    rec: Recorder,
    perImage: Tensor,
    sums: Tensor,
    head: Tensor,
    x: Tensor,
    h: Tensor,
    slot: number,
    mask?: Tensor,
  ): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= 2 ** 31) {
      throw new RangeError(
        `Cannot record the ${this.kernel} loss: slot must be an integer >= 0, got ${slot}`,
      );
    }
    const useMask = mask ? 1 : 0;
    const shape = this.#uniform(`f${slot},${useMask}`, () =>
      this.#gpu.uniform(LossForwardShape, {
        n: this.n,
        d: this.d,
        latent: this.latent,
        slot,
        use_mask: useMask,
        k: this.k,
      }));
    const resources = [shape, head, x, mask ?? this.#unused, h, perImage, sums];
    rec.dispatch(this.#perImage, this.#gpu.bind(this.#perImage, resources), this.n);
    rec.dispatch(this.#batchSum, this.#gpu.bind(this.#batchSum, resources), 1);
  }

  /** dHead (N, D, W) and dH (N, 2L), overwritten; see the module doc and BackwardOptions. */
  backward(
    rec: Recorder,
    dHead: Tensor,
    dH: Tensor,
    head: Tensor,
    x: Tensor,
    h: Tensor,
    o: BackwardOptions = {},
  ): void {
    const useMask = o.mask ? 1 : 0, useWeights = o.weights ? 1 : 0;
    const scale = o.scale ?? 1 / this.n, klWeight = o.klWeight ?? 1, freeBits = o.freeBits ?? 0;
    if (!(freeBits >= 0) || !Number.isFinite(freeBits)) {
      throw new RangeError(
        `Cannot record the ${this.kernel} loss's backward: free bits must be >= 0, got ${freeBits}`,
      );
    }
    const shape = this.#uniform(
      `b${scale},${klWeight},${freeBits},${useMask},${useWeights}`,
      () =>
        this.#gpu.uniform(LossBackwardShape, {
          n: this.n,
          d: this.d,
          latent: this.latent,
          use_mask: useMask,
          use_weights: useWeights,
          k: this.k,
          scale,
          kl_weight: klWeight,
          free_bits: freeBits,
        }),
    );
    const group = this.#gpu.bind(this.#bwd, [
      shape,
      head,
      x,
      o.mask ?? this.#unused,
      o.weights ?? this.#unused,
      h,
      dHead,
      dH,
    ]);
    // One invocation per pixel (all W head numbers of it) and per encoder-head number.
    rec.dispatchItems(this.#bwd, group, Math.max(this.n * this.d, this.n * 2 * this.latent));
  }

  /**
   * The uniform for one set of per-call values, written once and never again: queue.writeBuffer
   * lands before the whole next submit, so rewriting a shared buffer would hand every call
   * recorded before that submit the last call's values. Evicted buffers are dropped, not
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
