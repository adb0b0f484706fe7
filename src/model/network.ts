/**
 * The two networks of a VAE, as the generic graph (src/model/vae_graph.ts) drives them. An
 * architecture (src/conv/conv_net.ts, src/mlp/mlp_net.ts) builds both for one batch size;
 * everything else (reparameterization, the likelihood's loss, means and samples, the
 * backward through z) is the graph's and the same for every architecture.
 */

import type { Gpu, Recorder, Tensor } from "../gpu/gpu.ts";
import type { ParamLayout } from "./params.ts";

/** Batch norm uses batch statistics in train mode and running statistics in eval mode. */
export type Mode = "train" | "eval";

/** Named views of the model's flat buffers: parameters, gradients, non-trained state. */
export interface ParamAccess {
  /** The range of the parameter buffer holding tensor `name`. */
  p(name: string): Tensor;
  /** The range of the gradient buffer holding tensor `name`'s gradient. */
  g(name: string): Tensor;
  /** The range of the non-trained state buffer holding `name` (batch norm running statistics). */
  s(name: string): Tensor;
}

/** The encoder of one architecture at one batch size N: x (N, 784) to [mu | logvar] (N, 2L). */
export interface Encoder {
  /** h (N, 2L) rows [mu | logvar] = encoder(x (N, 784)). */
  forward(rec: Recorder, h: Tensor, x: Tensor, mode: Mode): void;
  /** Weight gradients (overwritten) from dH (N, 2L), after a forward of the same x. */
  backward(rec: Recorder, dH: Tensor, x: Tensor): void;
  /** Named forward buffers in forward order, for finding where a NaN first appears. */
  activations(): [string, GPUBuffer][];
}

/**
 * The decoder of one architecture at one batch size N: z (N, L) to the likelihood's W
 * parameters per pixel, (N, 784 W).
 */
export interface Decoder {
  /** out (N, 784 W) = decoder(z (N, L)). */
  forward(rec: Recorder, out: Tensor, z: Tensor, mode: Mode): void;
  /**
   * dZ (N, L) from dOut (N, 784 W), after a forward of the same z; with `weights` also the
   * weight gradients (overwritten), without them the weights are frozen and only the input
   * gradients are computed (batch norm's scale and shift gradients still are: its backward
   * kernel makes them on the way to its input gradient).
   */
  backward(rec: Recorder, dZ: Tensor, dOut: Tensor, z: Tensor, o: { weights: boolean }): void;
  /** Named forward buffers in forward order, for finding where a NaN first appears. */
  activations(): [string, GPUBuffer][];
}

/** What a model kind contributes: its layouts, its config, and its networks per batch size. */
export interface Architecture {
  /** The model kind ("mlp", "conv"), as checkpoints record it. */
  readonly kind: string;
  /** L, the latent dimension. */
  readonly latent: number;
  /** Where each trained tensor lives in the flat parameter (and gradient, Adam) buffers. */
  readonly params: ParamLayout;
  /** Non-trained state saved with checkpoints (batch norm running statistics), or null. */
  readonly state: ParamLayout | null;
  /** The architecture's part of the config stored in checkpoints. */
  describe(): Record<string, unknown>;
  /** Builds the encoder and decoder for batches of `batch` images over the buffers of `access`. */
  networks(
    gpu: Gpu,
    batch: number,
    access: ParamAccess,
  ): Promise<{ encoder: Encoder; decoder: Decoder }>;
}
