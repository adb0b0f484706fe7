/** One entry per epoch of a training run: what log.json holds and checkpoints carry. */

import { lineChart } from "../plot/svg.ts";

/**
 * A run that minimizes the negative ELBO logs train_neg_elbo and val_neg_elbo (the
 * output contract); one with another objective logs train_loss and val_loss instead, so no file calls
 * a loss an ELBO that is not one. recon and KL are the per-image means of the two terms.
 */
export interface EpochLog {
  /** The epoch's number, from 1. */
  epoch: number;
  /** Mean training -ELBO per image (nats), when the run minimizes it. */
  train_neg_elbo?: number;
  /** Mean training loss per image, when the run minimizes another objective. */
  train_loss?: number;
  /** Mean training recon term, -log p(x | z), nats per image. */
  train_recon: number;
  /** Mean training KL term, nats per image. */
  train_kl: number;
  /** Validation -ELBO per image (nats), when the run minimizes it. */
  val_neg_elbo?: number;
  /** Validation loss per image, when the run minimizes another objective. */
  val_loss?: number;
  /** Validation recon term, nats per image. */
  val_recon: number;
  /** Validation KL term, nats per image. */
  val_kl: number;
  /** A tutorial preset's training loss as its tutorial printed it (its quirks included). */
  train_printed?: number;
  /** Validation images whose mu varies (active units, collapse.ts). */
  val_active_units?: number;
  /** With --kl-warmup: the KL term's weight at the epoch's last step. */
  kl_weight?: number;
  /** Optimizer steps in this epoch; with train_curve, the per-step curve's x axis. */
  steps?: number;
  /** The training loss over windows of a few steps, so even one epoch draws a curve. */
  train_curve?: CurvePoint[];
  /** Wall-clock seconds of the epoch, validation included. */
  seconds: number;
  /** Training images per second (validation excluded). */
  images_per_s: number;
}

/** One window of training steps: its last step (1-based, counted over all epochs) and means. */
export interface CurvePoint {
  /** The window's last step, 1-based, counted over all epochs. */
  step: number;
  /** The run's loss (the negative ELBO for the course's models), per image. */
  loss: number;
  /** The window's mean recon term, nats per image. */
  recon: number;
  /** The window's mean KL term, nats per image. */
  kl: number;
}

/** About this many curve points per epoch: the window is ceil(steps / CURVE_POINTS). */
const CURVE_POINTS = 20;

/**
 * The per-window means of an epoch's per-step sums `s` (steps x [recon, kl], each summed over
 * the batch of `batch` images); `first` is the global number of the epoch's first step minus 1.
 */
export function curvePoints(
  s: ArrayLike<number>,
  steps: number,
  batch: number,
  first: number,
  lossOf: (recon: number, kl: number) => number,
): CurvePoint[] {
  const every = Math.max(1, Math.ceil(steps / CURVE_POINTS));
  const out: CurvePoint[] = [];
  for (let from = 0; from < steps; from += every) {
    const to = Math.min(steps, from + every), n = (to - from) * batch;
    let recon = 0, kl = 0;
    for (let i = from; i < to; i++) recon += s[2 * i], kl += s[2 * i + 1];
    out.push({ step: first + to, loss: lossOf(recon, kl) / n, recon: recon / n, kl: kl / n });
  }
  return out;
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
  // The per-step curve, where the log has one, on the same axis in epochs: every epoch of a
  // run has the same number of steps, so global step / steps is the epoch reached.
  const curve = log.flatMap((e) =>
    e.train_curve && e.steps ? e.train_curve.map((p) => ({ x: p.step / e.steps!, y: p.loss })) : []
  );
  return lineChart({
    title,
    xLabel: "epoch",
    yLabel,
    series: [
      ...(curve.length > 0
        ? [{
          name: "train, every few steps",
          x: curve.map((p) => p.x),
          y: curve.map((p) => p.y),
          markers: false,
        }]
        : []),
      { name: "train, epoch mean", x, y: log.map(trainLoss) },
      { name: "validation", x, y: log.map(valLoss) },
    ],
  });
}
