/**
 * The forward half of one training step, as the trainer records it and the bench times it: the
 * step's batch indices out of the epoch's order, the likelihood's data gathered on the GPU (with
 * fresh dequantization noise where it needs some), eps, and the forward pass with its loss sums.
 * Each global step is its own Philox stream for the noise and for eps.
 */

import type { Recorder } from "../gpu/gpu.ts";
import type { BatchFeed } from "../model/batch_feed.ts";
import type { VaeGraph } from "../model/vae_graph.ts";

/** The buffers and choices a run's steps share. */
export interface StepBuffers {
  graph: VaeGraph;
  /** graph.feed of the training split: the likelihood's data and their noise. */
  feed: BatchFeed;
  /** (steps per epoch * batch) u32: the epoch's shuffled image indices. */
  perm: GPUBuffer;
  /** (batch) u32: this step's indices. */
  batchIdx: GPUBuffer;
  /** (steps, 2) f32: each step's summed recon and KL. */
  sums: GPUBuffer;
  batch: number;
  seed: number;
}

/** Records step `step` of the epoch (`global` counted over the run) up to its loss sums. */
export function recordStepForward(rec: Recorder, b: StepBuffers, step: number, global: number) {
  const B = b.batch;
  rec.copy(b.perm, step * B * 4, b.batchIdx, 0, B * 4);
  b.feed.gather(rec, b.batchIdx, b.seed + 1, global);
  b.graph.sampleEps(rec, b.seed, global);
  b.graph.forwardLoss(rec, b.sums, step, "train");
}
