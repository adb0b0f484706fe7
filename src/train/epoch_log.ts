/** One entry per epoch of a training run: what log.json holds and checkpoints carry. */

import { lineChart } from "../plot/svg.ts";

export interface EpochLog {
  epoch: number;
  train_neg_elbo: number;
  train_recon: number;
  train_kl: number;
  val_neg_elbo: number;
  val_recon: number;
  val_kl: number;
  seconds: number;
  images_per_s: number;
}

/** The train/validation -ELBO curve as SVG. */
export function elboChart(log: EpochLog[], title: string): string {
  const x = log.map((e) => e.epoch);
  return lineChart({
    title,
    xLabel: "epoch",
    yLabel: "negative ELBO (nats per image)",
    series: [
      { name: "train", x, y: log.map((e) => e.train_neg_elbo) },
      { name: "validation", x, y: log.map((e) => e.val_neg_elbo) },
    ],
  });
}
