/** One entry per epoch of a training run: what log.json holds and checkpoints carry. */

import { lineChart } from "../plot/svg.ts";

/**
 * A run that minimizes the negative ELBO logs train_neg_elbo and val_neg_elbo (SPEC.md's
 * contract); one with another objective logs train_loss and val_loss instead, so no file calls
 * a loss an ELBO that is not one. recon and KL are the per-image means of the two terms.
 */
export interface EpochLog {
  epoch: number;
  train_neg_elbo?: number;
  train_loss?: number;
  train_recon: number;
  train_kl: number;
  val_neg_elbo?: number;
  val_loss?: number;
  val_recon: number;
  val_kl: number;
  /** A tutorial preset's training loss as its tutorial printed it (its quirks included). */
  train_printed?: number;
  seconds: number;
  images_per_s: number;
}

/** The epoch's training loss, whichever the run minimized. */
export function trainLoss(e: EpochLog): number {
  return e.train_neg_elbo ?? e.train_loss ?? NaN;
}

/** The epoch's validation loss, whichever the run minimized. */
export function valLoss(e: EpochLog): number {
  return e.val_neg_elbo ?? e.val_loss ?? NaN;
}

/** The train/validation curve as SVG: -ELBO, or the loss named by `yLabel`. */
export function elboChart(
  log: EpochLog[],
  title: string,
  yLabel = "negative ELBO (nats per image)",
): string {
  const x = log.map((e) => e.epoch);
  return lineChart({
    title,
    xLabel: "epoch",
    yLabel,
    series: [
      { name: "train", x, y: log.map(trainLoss) },
      { name: "validation", x, y: log.map(valLoss) },
    ],
  });
}
