/**
 * What the trainer needs of a VAE: a flat parameter layout with its four
 * buffers, and per-batch-size graphs that record the forward loss and the
 * backward pass. The MLP VAE and the conv VAE both implement it.
 */

import type { Gpu, Recorder, Tensor } from "../gpu/gpu.ts";
import type { ParamLayout } from "../model/params.ts";

export type Mode = "train" | "eval";

export interface VaeGraph {
  readonly batch: number;
  /** Input batch (N, 784), filled by the trainer's gather. */
  readonly x: GPUBuffer;
  /** Per image [recon NLL, KL] (N, 2), written by forwardLoss. */
  readonly perImage: GPUBuffer;
  /** Encoder output (N, 2 latent): [mu | logvar]. */
  readonly h: GPUBuffer;
  readonly eps: GPUBuffer;
  sampleEps(rec: Recorder, seed: number, counter: number): void;
  /**
   * Encode x (unless `encode` is false: h already holds this batch's encoding),
   * sample z with eps, decode, write per-image terms and sums[slot].
   */
  forwardLoss(rec: Recorder, sums: Tensor, slot: number, mode: Mode, encode?: boolean): void;
  /** Gradients of the batch-mean loss into the model's grads (after a train-mode forwardLoss). */
  backward(rec: Recorder): void;
  /** Named buffers in forward order, for finding where a NaN first appears. */
  activations(): [string, GPUBuffer][];
}

export interface VaeModel {
  readonly gpu: Gpu;
  readonly kind: string;
  readonly latent: number;
  readonly layout: ParamLayout;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  /** Non-trained state saved with checkpoints (batch norm running statistics), or null. */
  readonly state: { layout: ParamLayout; buffer: GPUBuffer } | null;
  /** Config to store in and check against checkpoints. */
  describe(): Record<string, unknown>;
  graph(batch: number): Promise<VaeGraph>;
}
