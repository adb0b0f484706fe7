/**
 * Inference without the encoder's optimizer step (kernels/psi_step.wgsl): every image's own
 * psi = (mu, logvar), SGD or Adam on the S-sample -ELBO, with per-image best tracking and early
 * stopping on the GPU, so that many steps can be recorded into one submit and the host reads
 * the tracks back only now and then. f64 reference: src/reference/psi_step.ts.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in psi_step.wgsl. */
export const PsiStepShape = struct({
  n: "u32",
  samples: "u32",
  dims: "u32",
  max_steps: "u32",
  patience: "u32",
  adam: "u32",
  lr: "f32",
  beta1: "f32",
  beta2: "f32",
  eps: "f32",
  one_minus_beta1: "f32",
  one_minus_beta2: "f32",
});

/** PyTorch's Adam defaults; SGD does not read them. */
const BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

/** Words per image in the track buffer (`struct Track` in psi_step.wgsl). */
export const TRACK_WORDS = 6;

/** One image's progress in inference without the encoder (`struct Track` in psi_step.wgsl). */
export interface PsiTrack {
  /** The lowest S-sample -ELBO seen so far, in nats (Infinity before the first look). */
  bestLoss: number;
  /** The step count at which bestLoss was seen (the best psi is psi after that many updates). */
  bestStep: number;
  /** Looks since bestLoss last improved; the image stops when it reaches the patience. */
  wait: number;
  /** Updates taken so far. */
  steps: number;
  /** False once the image stopped (patience, max steps, or a non-finite loss). */
  active: boolean;
  /** The -ELBO at the last look, in nats (NaN before the first). */
  loss: number;
}

/** The sizes and optimizer of one PsiStep. */
export interface PsiStepOptions {
  /** Images (N). */
  n: number;
  /** Samples per image (S): rows of h per psi. */
  samples: number;
  /** Numbers per psi (2L: mu then logvar). */
  dims: number;
  /** Updates an image may take; its loss is looked at once more after the last. */
  maxSteps: number;
  /** Steps without a better loss before an image stops. */
  patience: number;
  /** Plain SGD, or Adam with PyTorch's defaults (beta1 0.9, beta2 0.999, eps 1e-8). */
  optimizer: "sgd" | "adam";
  /** Learning rate, > 0. */
  lr: number;
}

/**
 * One optimizer step of every image's own psi = (mu, logvar) at once, with per-image best
 * tracking and early stopping on the GPU (kernels/psi_step.wgsl).
 */
export class PsiStep {
  /** The sizes and optimizer it was created with. */
  readonly options: Readonly<PsiStepOptions>;
  readonly #gpu: Gpu;
  readonly #kernel: Kernel;
  readonly #shape: GPUBuffer;
  readonly #bias: GPUBuffer;

  private constructor(gpu: Gpu, kernel: Kernel, o: PsiStepOptions) {
    this.#gpu = gpu;
    this.#kernel = kernel;
    this.options = { ...o };
    this.#shape = gpu.uniform(PsiStepShape, {
      n: o.n,
      samples: o.samples,
      dims: o.dims,
      max_steps: o.maxSteps,
      patience: o.patience,
      adam: o.optimizer === "adam" ? 1 : 0,
      lr: o.lr,
      beta1: BETA1,
      beta2: BETA2,
      eps: EPS,
      one_minus_beta1: 1 - BETA1,
      one_minus_beta2: 1 - BETA2,
    });
    // Bias corrections for t = 1 .. maxSteps + 1 in f64, rounded once (as the Adam op does).
    const bias = new Float32Array(2 * (o.maxSteps + 1));
    for (let t = 1; t <= o.maxSteps + 1; t++) {
      bias[2 * (t - 1)] = 1 - BETA1 ** t;
      bias[2 * (t - 1) + 1] = 1 - BETA2 ** t;
    }
    this.#bias = gpu.storage("psi.bias", bias);
  }

  /** Compiles the kernel and the Adam bias-correction table; RangeError on a bad option. */
  static async create(gpu: Gpu, o: PsiStepOptions): Promise<PsiStep> {
    for (const k of ["n", "samples", "dims", "patience"] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) {
        throw new RangeError(`Cannot create PsiStep: ${k} must be an integer >= 1, got ${o[k]}`);
      }
    }
    if (!Number.isInteger(o.maxSteps) || o.maxSteps < 0) {
      throw new RangeError(`Cannot create PsiStep: maxSteps must be >= 0, got ${o.maxSteps}`);
    }
    if (!(o.lr > 0 && Number.isFinite(o.lr))) {
      throw new RangeError(`Cannot create PsiStep: lr must be a positive number, got ${o.lr}`);
    }
    return new PsiStep(gpu, await gpu.kernel("psi_step", { WG: 64 }), o);
  }

  /** A track buffer for N images, each active with no best yet. */
  newTracks(): GPUBuffer {
    const words = new Uint32Array(this.options.n * TRACK_WORDS);
    const f = new Float32Array(words.buffer);
    for (let n = 0; n < this.options.n; n++) {
      f[n * TRACK_WORDS] = Infinity;
      words[n * TRACK_WORDS + 4] = 1;
      f[n * TRACK_WORDS + 5] = NaN;
    }
    return this.#gpu.storage("psi.track", words);
  }

  /** Reads the tracks of all N images. */
  async readTracks(track: GPUBuffer): Promise<PsiTrack[]> {
    const words = await this.#gpu.readU32(track, 0, this.options.n * TRACK_WORDS);
    return _decodeTracks(words, this.options.n);
  }

  /**
   * One step of every active image. perImage (N S, 2) and dh (N S, dims) from the last forward
   * and decoder-only backward (scale 1 / S); h (N S, dims), best, m, v (N, dims) and track
   * are read and written.
   */
  step(
    rec: Recorder,
    bufs: {
      perImage: Tensor;
      dh: Tensor;
      h: Tensor;
      best: Tensor;
      m: Tensor;
      v: Tensor;
      track: Tensor;
    },
  ): void {
    const b = bufs;
    const group = this.#gpu.bind(this.#kernel, [
      this.#shape,
      b.perImage,
      b.dh,
      b.h,
      b.best,
      b.m,
      b.v,
      b.track,
      this.#bias,
    ]);
    rec.dispatchItems(this.#kernel, group, this.options.n);
  }

  /** Frees the uniform and the bias-correction table; the op is unusable afterwards. */
  destroy(): void {
    this.#shape.destroy();
    this.#bias.destroy();
  }
}

/** Tracks from the buffer's words (f32 fields reinterpreted). */
function _decodeTracks(words: Uint32Array, n: number): PsiTrack[] {
  const f = new Float32Array(words.buffer, words.byteOffset, words.length);
  return Array.from({ length: n }, (_, i) => {
    const o = i * TRACK_WORDS;
    return {
      bestLoss: f[o],
      bestStep: words[o + 1],
      wait: words[o + 2],
      steps: words[o + 3],
      active: words[o + 4] !== 0,
      loss: f[o + 5],
    };
  });
}
