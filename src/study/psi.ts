/**
 * Inference without the encoder (the tasks `infer` and `complete`): for a batch of
 * images, each with its own diagonal Gaussian q(z | psi), psi = (mu, logvar), optimize psi
 * against the frozen decoder (eval mode: batch norm's running statistics) on the
 * reparameterized S-sample -ELBO, optionally of some pixels only (a mask), with per-image
 * early stopping. Each image is held in S rows of one VaeGraph, so one decoder pass draws S
 * samples of every image; the whole step (eps, forward, decoder-only backward, psi update and
 * best tracking) is recorded on the GPU, `checkEvery` steps per submit, and the host reads the
 * tracks back only between submits, to stop once every image has.
 */

import type { GpuDataset } from "../data/gpu_dataset.ts";
import { PIXELS } from "../data/image.ts";
import type { Vae } from "../model/vae.ts";
import type { BatchFeed } from "../model/batch_feed.ts";
import type { VaeGraph } from "../model/vae_graph.ts";
import { PsiStep, type PsiTrack } from "../ops/psi_step.ts";
import { seededNormals } from "../random.ts";

/** Graph rows (images x samples) of one batch: the conv decoder's activations stay < 64 MiB. */
const MAX_ROWS = 1024;

/** How PsiBatch.optimize runs: the optimizer, its budget and early stopping, and the seed. */
export interface OptimizeOptions {
  /** Most updates per image. */
  steps: number;
  /** Learning rate, > 0. */
  lr: number;
  /** Steps without a better -ELBO before an image stops. */
  patience: number;
  /** Plain SGD, or Adam with PyTorch's defaults. */
  optimizer: "sgd" | "adam";
  /** Seed of the initial psi ~ N(0, I) and of the reparameterization noise. */
  seed: number;
  /** Steps recorded per submit, between reads of the tracks. Default 25. */
  checkEvery?: number;
  /** Called after each read of the tracks. */
  onCheck?: (tracks: PsiTrack[], step: number) => void;
}

/**
 * The course's optimizer for psi, the defaults of `deno task infer` and `complete` (and of the
 * explorer's completion): plain SGD at 1e-3, at most 500 steps, stopping after 50 without a
 * better -ELBO, seed 0.
 */
export const PSI_DEFAULTS = {
  steps: 500,
  lr: 1e-3,
  patience: 50,
  optimizer: "sgd",
  seed: 0,
} as const satisfies OptimizeOptions;

/** What PsiBatch.optimize found, for the loaded images. */
export interface OptimizeResult {
  /** (N, 2L): each image's psi at its best -ELBO. */
  psi: Float32Array;
  /** Each image's final track: best -ELBO, its step, steps taken, why it stopped. */
  tracks: PsiTrack[];
  /** Dispatched steps (the slowest image's updates + 1). */
  dispatched: number;
}

/** PsiBatch.estimate's per-image means over the draws of z, in nats, for the loaded images. */
export interface Estimate {
  /** Per image: mean recon NLL (of the masked pixels), KL, and their sum, over `samples`. */
  recon: Float64Array;
  /** Per image: KL(q(z | psi) || N(0, I)). */
  kl: Float64Array;
  /** Per image: recon + kl, the -ELBO. */
  negElbo: Float64Array;
  /** Draws of z averaged over (the requested number rounded up to a multiple of S). */
  samples: number;
}

/**
 * Inference without the encoder for a batch of N images, S samples each: optimizes each
 * image's own q(z | psi) against the frozen decoder, then estimates or decodes the result.
 */
export class PsiBatch {
  /** The model whose decoder is held fixed. */
  readonly vae: Vae;
  /** Images per batch (N) and samples per image (S). */
  readonly images: number;
  /** S, samples of z per image in one decoder pass. */
  readonly samples: number;
  /** The model's graph for N S rows, image n in rows n S .. n S + S - 1. */
  readonly graph: VaeGraph;
  readonly #feed: BatchFeed;
  readonly #mask: GPUBuffer | undefined;
  readonly #sums: GPUBuffer;
  #loaded = 0;

  private constructor(
    vae: Vae,
    feed: BatchFeed,
    graph: VaeGraph,
    images: number,
    samples: number,
    mask: GPUBuffer | undefined,
  ) {
    this.vae = vae;
    this.#feed = feed;
    this.graph = graph;
    this.images = images;
    this.samples = samples;
    this.#mask = mask;
    this.#sums = vae.gpu.storage("psi.sums", 16);
  }

  /**
   * A batch of `images` images with `samples` samples each (images x samples <= MAX_ROWS).
   * `mask` (784 of 0/1) chooses the pixels whose likelihood the optimized ELBO counts.
   */
  static async create(
    vae: Vae,
    data: GpuDataset,
    o: { images: number; samples: number; mask?: Float32Array },
  ): Promise<PsiBatch> {
    const { images, samples } = o;
    if (!Number.isInteger(samples) || samples < 1 || samples > MAX_ROWS) {
      throw new RangeError(`Cannot optimize psi with ${samples} samples: need 1 to ${MAX_ROWS}`);
    }
    if (!Number.isInteger(images) || images < 1 || images * samples > MAX_ROWS) {
      throw new RangeError(
        `Cannot optimize psi of ${images} images x ${samples} samples in one batch: ` +
          `need 1 to ${Math.floor(MAX_ROWS / samples)} images (use batchImages)`,
      );
    }
    const graph = await vae.graph(images * samples);
    // Bernoulli: static binarization, so every pass sees the same images.
    const feed = graph.feed(data, "static");
    if (feed.noisy) {
      feed.destroy();
      throw new RangeError(
        `Cannot optimize psi under the ${vae.likelihood.name} likelihood: its data are drawn ` +
          "afresh (dequantized) per pass; use a bernoulli or categorical model",
      );
    }
    const gpu = vae.gpu;
    const mask = o.mask ? gpu.storage("psi.mask", _checkMask(o.mask)) : undefined;
    return new PsiBatch(vae, feed, graph, images, samples, mask);
  }

  /** Images per batch for n images of S samples each: as many as fit, at most n. */
  static batchImages(n: number, samples: number): number {
    return Math.max(1, Math.min(n, Math.floor(MAX_ROWS / samples)));
  }

  /**
   * Gathers these dataset images (at most `images`; a shorter list is padded with its last
   * image) into the graph, each into its S rows, as the likelihood sees its data (Bernoulli:
   * static binarization).
   */
  async load(indices: readonly number[]): Promise<void> {
    if (indices.length < 1 || indices.length > this.images) {
      throw new RangeError(`Cannot load ${indices.length} images into a batch of ${this.images}`);
    }
    const S = this.samples, rows = new Uint32Array(this.images * S);
    for (let n = 0; n < this.images; n++) {
      rows.fill(indices[Math.min(n, indices.length - 1)], n * S, (n + 1) * S);
    }
    const gpu = this.vae.gpu, idx = gpu.storage("psi.indices", rows);
    const rec = gpu.record("psi.load");
    this.#feed.gather(rec, idx);
    await rec.submit();
    idx.destroy();
    this.#loaded = indices.length;
  }

  /** The loaded images (N, 784) as the model sees them. */
  async inputs(): Promise<Float32Array> {
    const x = await this.vae.gpu.readF32(this.graph.x, 0, this.images * this.samples * PIXELS);
    return this.#firstRows(x, PIXELS);
  }

  /** The encoder's q for the loaded images: (N, 2L) rows [mu | logvar]. */
  async encoderPsi(): Promise<Float32Array> {
    const rec = this.vae.gpu.record("psi.encode");
    this.graph.encode(rec);
    await rec.submit();
    const D = 2 * this.vae.latent;
    return this.#firstRows(await this.vae.gpu.readF32(this.graph.h), D);
  }

  /** Optimizes every image's psi from N(0, I) (seeded) and returns each image's best. */
  async optimize(o: OptimizeOptions): Promise<OptimizeResult> {
    const gpu = this.vae.gpu, g = this.graph, N = this.images, S = this.samples;
    const D = 2 * this.vae.latent, every = o.checkEvery ?? 25;
    const step = await PsiStep.create(gpu, {
      n: N,
      samples: S,
      dims: D,
      maxSteps: o.steps,
      patience: o.patience,
      optimizer: o.optimizer,
      lr: o.lr,
    });
    gpu.write(g.h, this.#rows(seededNormals(o.seed, N * D), D));
    const best = gpu.storage("psi.best", N * D * 4);
    const m = gpu.storage("psi.m", N * D * 4), v = gpu.storage("psi.v", N * D * 4);
    const track = step.newTracks();
    const bufs = { perImage: g.perImage, dh: g.dH, h: g.h, best, m, v, track };
    let tracks: PsiTrack[] = [];
    let t = 0;
    // Tracking looks at psi after t updates, so max steps s takes s + 1 dispatches.
    while (t <= o.steps) {
      const rec = gpu.record("psi.steps");
      for (let k = 0; k < every && t <= o.steps; k++, t++) {
        g.sampleEps(rec, o.seed + 1, t);
        g.forwardLoss(rec, this.#sums, 0, "eval", false, this.#mask);
        g.decoderBackward(rec, { scale: 1 / S, mask: this.#mask });
        step.step(rec, bufs);
      }
      await rec.submit();
      tracks = (await step.readTracks(track)).slice(0, this.#loaded);
      o.onCheck?.(tracks, t);
      if (tracks.every((tr) => !tr.active)) break;
    }
    const psi = (await gpu.readF32(best)).slice(0, this.#loaded * D);
    for (const b of [best, m, v, track]) b.destroy();
    step.destroy();
    return { psi, tracks, dispatched: t };
  }

  /**
   * Per image, the S-sample-per-pass -ELBO under q(z | psi) (psi (N, 2L) for the loaded
   * images), averaged over `samples` draws of z (rounded up to a multiple of S); with `mask`
   * the recon term counts only its pixels (e.g. the unobserved ones, for completion).
   * psi of zeros is the prior N(0, I).
   */
  async estimate(
    psi: Float32Array,
    samples: number,
    seed: number,
    mask?: Float32Array,
  ): Promise<Estimate> {
    const gpu = this.vae.gpu, g = this.graph, N = this.images, S = this.samples;
    const D = 2 * this.vae.latent, rows = N * S, passes = Math.ceil(samples / S);
    const full = new Float32Array(N * D);
    full.set(psi.subarray(0, Math.min(psi.length, N * D)));
    gpu.write(g.h, this.#rows(full, D));
    const maskBuf = mask ? gpu.storage("psi.estimate_mask", _checkMask(mask)) : this.#mask;
    const acc = gpu.storage("psi.estimate", passes * rows * 2 * 4);
    const rec = gpu.record("psi.estimate");
    for (let p = 0; p < passes; p++) {
      g.sampleEps(rec, seed, p);
      g.forwardLoss(rec, this.#sums, 0, "eval", false, maskBuf);
      rec.copy(g.perImage, 0, acc, p * rows * 2 * 4, rows * 2 * 4);
    }
    await rec.submit();
    const all = await gpu.readF32(acc);
    acc.destroy();
    if (mask) maskBuf?.destroy();
    const n = this.#loaded, recon = new Float64Array(n), kl = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < passes; p++) {
        for (let s = 0; s < S; s++) {
          const r = p * rows + i * S + s;
          recon[i] += all[2 * r];
          kl[i] += all[2 * r + 1];
        }
      }
      recon[i] /= passes * S;
      kl[i] /= passes * S;
    }
    return { recon, kl, negElbo: recon.map((r, i) => r + kl[i]), samples: passes * S };
  }

  /**
   * The likelihood's mean image of z = mu for each psi (N, 2L), or, with `sampleSeed`, one
   * draw of z ~ q(z | psi) and then one draw of x ~ p(x | z): (N, 784).
   */
  async decode(psi: Float32Array, sampleSeed?: number): Promise<Float32Array> {
    const gpu = this.vae.gpu, g = this.graph, N = this.images, S = this.samples;
    const L = this.vae.latent, D = 2 * L;
    const full = new Float32Array(N * D);
    full.set(psi.subarray(0, Math.min(psi.length, N * D)));
    const rec = gpu.record("psi.decode");
    let out: GPUBuffer;
    if (sampleSeed === undefined) {
      const z = new Float32Array(N * L);
      for (let n = 0; n < N; n++) z.set(full.subarray(n * D, n * D + L), n * L);
      gpu.write(g.z, this.#rows(z, L));
      out = g.decodeMeans(rec);
    } else {
      gpu.write(g.h, this.#rows(full, D));
      g.sampleEps(rec, sampleSeed, 0);
      g.reparameterize(rec);
      out = g.decodeSamples(rec, sampleSeed + 1, 0);
    }
    await rec.submit();
    return this.#firstRows(await gpu.readF32(out, 0, N * S * PIXELS), PIXELS);
  }

  /** (N, w) -> (N S, w): each image's row repeated S times. */
  #rows(perImage: Float32Array, w: number): Float32Array {
    const S = this.samples, out = new Float32Array(this.images * S * w);
    for (let n = 0; n < this.images; n++) {
      for (let s = 0; s < S; s++) out.set(perImage.subarray(n * w, (n + 1) * w), (n * S + s) * w);
    }
    return out;
  }

  /** (N S, w) -> (loaded, w): the first row of each loaded image. */
  #firstRows(all: Float32Array, w: number): Float32Array {
    const S = this.samples, out = new Float32Array(this.#loaded * w);
    for (let n = 0; n < this.#loaded; n++) out.set(all.subarray(n * S * w, (n * S + 1) * w), n * w);
    return out;
  }

  /** Frees the batch's own buffers (the graph stays with the model). */
  destroy(): void {
    this.#sums.destroy();
    this.#mask?.destroy();
    this.#feed.destroy();
  }
}

function _checkMask(mask: Float32Array): Float32Array {
  if (mask.length !== PIXELS || mask.some((v) => v !== 0 && v !== 1)) {
    throw new RangeError(`A pixel mask holds ${PIXELS} values of 0 or 1; got ${mask.length}`);
  }
  if (!mask.some((v) => v === 1)) throw new RangeError("A pixel mask must keep some pixels");
  return mask;
}
