/**
 * The two tutorial presets as data for the MLP builder: architecture,
 * likelihood term, objective, training defaults, the figures' latent squares, and each
 * tutorial's quirks in words (printed by --help and written to metrics.json).
 */

import type { Likelihood } from "../likelihood/likelihood.ts";
import { bernoulli } from "../likelihood/bernoulli.ts";
import { mse } from "../likelihood/mse.ts";
import type { Objective } from "../model/objective.ts";
import type { MlpConfig } from "./mlp_net.ts";

export type PresetName = "notebook" | "blog";

export interface Preset {
  name: PresetName;
  task: string;
  summary: string;
  config: MlpConfig;
  likelihood: Likelihood;
  objective: (batch: number) => Objective;
  /** The tutorial's printed training loss from the epoch's summed loss, if it printed one. */
  printed?: (sum: number, steps: number, batch: number) => number;
  epochs: number;
  batch: number;
  lr: number;
  /** The decoded grid: k points per side from lo, spaced by step (z1 across, z2 up). */
  grid: { k: number; lo: number; step: number; words: string };
  /**
   * The reconstruction figure: rows x cols pairs of (input, reconstruction); `note` says how
   * it differs from the tutorial's, for the caption.
   */
  pairs: { rows: number; cols: number; note?: string };
  quirks: string[];
}

export const NOTEBOOK: Preset = {
  name: "notebook",
  task: "train-notebook",
  summary: "The PyTorch notebook's MLP VAE (784-400-400 LeakyReLU(0.2), latent 2, BCE + KL on " +
    "grey levels, batch 100, Adam 1e-3, 10 epochs) on our GPU code, with its figures.",
  config: {
    pixels: 784,
    hidden: [400, 400],
    latent: 2,
    activation: "leaky_relu",
    slope: 0.2,
  },
  likelihood: bernoulli,
  objective: () => ({
    description: "BCE summed over the 784 pixels against the grey levels (not binarized) + KL, " +
      "per image: the notebook's loss; a negative ELBO only for binary data, so not one here",
    axis: "BCE + KL (per image)",
    elbo: false,
    reconScale: 1,
    klScale: 1,
  }),
  printed: (sum, steps, batch) => sum / ((steps - 1) * batch),
  epochs: 10,
  batch: 100,
  lr: 1e-3,
  grid: { k: 10, lo: -3, step: 0.6, words: "z1, z2 = -3, -2.4, .., 2.4 (step 0.6)" },
  pairs: { rows: 4, cols: 8 },
  quirks: [
    "Encoder 784-400-400 with LeakyReLU(0.2) after each layer, then one linear layer to " +
    "(mu, logvar) of a 2-D latent; decoder 2-400-400 LeakyReLU(0.2) -784, sigmoid (applied " +
    "inside the loss, from logits).",
    "Loss: BCE summed over pixels against the grey levels p / 255 (no binarization) + the " +
    "analytic KL, so it is not a negative ELBO. PyTorch's BCELoss on sigmoid outputs clamps " +
    "each log at -100; we compute the same BCE from the logits, which differs only where f32 " +
    "rounds a sigmoid to exactly 0 or 1.",
    "The notebook printed, per epoch, the epoch's summed loss divided by (batches - 1) x batch " +
    "(its batch_idx ends at batches - 1): log.json keeps that figure as train_printed beside " +
    "the true mean train_loss. Its grid decodes z in [-3, 3) with step 0.6 (10 x 10).",
    "No early stopping (the notebook had none): the best validation checkpoint is kept.",
  ],
};

export const BLOG: Preset = {
  name: "blog",
  task: "train-blog",
  summary: "The blog post's MLP VAE (784-128 sigmoid, mu = sigmoid, sigma = sigmoid, latent 2, " +
    "decoder 2-128 tanh -784 ReLU, MSE + 1e-4 KL, batch 8, Adam 3e-4) on our GPU code.",
  config: {
    pixels: 784,
    hidden: 128,
    latent: 2,
    activation: "sigmoid",
    decoderActivation: "tanh",
    head: "sigmoid",
  },
  likelihood: mse,
  objective: (batch) => ({
    description: "mean squared error over all pixels of the batch + 1e-4 x KL summed over the " +
      `batch (the blog's loss; per image: MSE over its pixels + ${1e-4 * batch} KL at batch ` +
      `${batch}); not a negative ELBO`,
    axis: "MSE + 1e-4 KL (per batch)",
    elbo: false,
    reconScale: 1 / 784,
    klScale: 1e-4 * batch,
  }),
  epochs: 100,
  batch: 8,
  lr: 3e-4,
  grid: { k: 20, lo: 0, step: 1 / 19, words: "z1, z2 = 0, 1/19, .., 1 (the square [0, 1]^2)" },
  // The blog showed 20 x 20 pairs, 2318 px wide: shrunk to a page's width they did not read.
  pairs: { rows: 8, cols: 8, note: "the blog showed 20 x 20 pairs" },
  quirks: [
    "Encoder 784-128 with sigmoid, then mu = sigmoid(linear) and sigma = sigmoid(linear): a " +
    "standard deviation in (0, 1), not a log-variance, and mu in (0, 1); z = mu + sigma eps. " +
    "Decoder 2-128 tanh -784 with a ReLU output (no sigmoid, so outputs can exceed 1).",
    "Loss: the mean squared error over every pixel of the batch + beta x the KL summed over " +
    "the batch, beta = 1e-4, so the KL's weight per image grows with the batch (8 x 1e-4 at " +
    "batch 8). Not a negative ELBO: no likelihood, and no IS NLL.",
    "The blog ran 100 epochs (the default here; --epochs to change). Its grid decodes z over " +
    "[0, 1]^2, where its mu lives. No early stopping: the best validation checkpoint is kept.",
  ],
};

/** z (k * k, 2) of a preset's grid, row-major: z1 increasing across, z2 decreasing down. */
export function presetGrid(p: Preset): Float32Array {
  const { k, lo, step } = p.grid;
  const z = new Float32Array(k * k * 2);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < k; c++) {
      z[(r * k + c) * 2] = lo + step * c;
      z[(r * k + c) * 2 + 1] = lo + step * (k - 1 - r);
    }
  }
  return z;
}
