/**
 * The one place that decides how a model sees its data: a BatchFeed turns dataset images into a
 * graph's input x as its likelihood wants them (Bernoulli: binarized as asked; Gaussian-type
 * densities: dequantized with fresh noise; Categorical: binned; grey levels as they are) and
 * draws that noise itself, so a caller names the images and, where the data are noisy, the
 * noise stream.
 */

import type { BinarizeMode, GatherMode, GpuDataset } from "../data/gpu_dataset.ts";
import { PIXELS } from "../data/image.ts";
import type { Gpu, Recorder, Tensor } from "../gpu/gpu.ts";
import { gatherModeFor, gatherNeedsNoise, type Likelihood } from "../likelihood/likelihood.ts";
import type { Rng } from "../ops/rng.ts";

/** What a feed writes into and draws with: one graph's input and generator (see VaeGraph.feed). */
export interface FeedTarget {
  /** The device of x and of the noise buffer. */
  gpu: Gpu;
  /** The likelihood whose data the feed makes. */
  likelihood: Likelihood;
  /** (batch, 784) f32: the graph's input. */
  x: GPUBuffer;
  /** Images per gather. */
  batch: number;
  /** Draws the noise of dynamic binarization and dequantization. */
  rng: Rng;
}

/**
 * One graph's batch gather under one binarization (made by `VaeGraph.feed`): the gather mode and
 * bins follow from the likelihood, and a noisy mode's (batch, 784) noise buffer is allocated once
 * here, so each gather is the same one or two dispatches and allocates nothing.
 */
export class BatchFeed {
  /** The images gathered. */
  readonly data: GpuDataset;
  /** The gather mode the likelihood and binarization choose. */
  readonly mode: GatherMode;
  /** Categorical bins k for mode "bins"; 0 otherwise. */
  readonly bins: number;
  /** Whether each gather draws fresh noise (so the same images give different inputs). */
  readonly noisy: boolean;
  readonly #target: FeedTarget;
  readonly #noise: GPUBuffer | null;

  /** Decides the mode for `binarize` (Bernoulli only) and allocates the noise it needs. */
  constructor(target: FeedTarget, data: GpuDataset, binarize: BinarizeMode) {
    const { mode, bins } = gatherModeFor(target.likelihood, binarize);
    this.data = data;
    this.mode = mode;
    this.bins = bins;
    this.noisy = gatherNeedsNoise(mode);
    this.#target = target;
    this.#noise = this.noisy
      ? target.gpu.storage(`gather noise (${mode})`, target.batch * PIXELS * 4)
      : null;
  }

  /**
   * x (batch, 784) = images indices (batch) u32 of the dataset as the likelihood sees them. A
   * noisy mode first draws its uniforms from stream (seed, counter); the others ignore both.
   */
  gather(rec: Recorder, indices: Tensor, seed?: number, counter = 0): void {
    const t = this.#target, noise = this.#noise;
    if (noise) {
      if (seed === undefined) {
        throw new TypeError(
          `Cannot gather ${t.likelihood.name} data (mode ${this.mode}): its noise needs a seed`,
        );
      }
      t.rng.uniform(rec, noise, t.batch * PIXELS, seed, counter);
    }
    this.data.gather(rec, t.x, indices, t.batch, this.mode, noise ?? undefined, this.bins);
  }

  /** Frees the noise buffer; the feed cannot gather afterwards. */
  destroy(): void {
    this.#noise?.destroy();
  }
}
