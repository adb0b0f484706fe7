/**
 * What a training run minimizes, from the two terms every likelihood kernel reports per image
 * (recon, the summed per-pixel term, and the analytic KL): loss = a recon + b KL per image,
 * averaged over the batch. The course's models minimize the negative ELBO (a = b = 1); the
 * tutorial presets reproduce their tutorials' losses, which are not all ELBOs, and say so.
 */

/** A training loss a recon + b KL, and how logs and figures name it. */
export interface Objective {
  /** What the run minimizes, in words (metrics.json `loss`). */
  description: string;
  /** The y axis of the loss curve. */
  axis: string;
  /** The negative ELBO: logs and metrics then say neg_elbo and the IS NLL is estimated. */
  elbo: boolean;
  /** a, the recon term's weight. */
  reconScale: number;
  /** b, the KL term's weight. */
  klScale: number;
}

/** The course's objective and train's default: the negative ELBO, recon + KL (a = b = 1). */
export const NEG_ELBO: Objective = {
  description: "negative ELBO: recon (-log p(x | z), one sampled z) + KL, nats per image",
  axis: "negative ELBO (nats per image)",
  elbo: true,
  reconScale: 1,
  klScale: 1,
};

/** The per-image loss from mean recon and KL. */
export function objectiveLoss(o: Objective, recon: number, kl: number): number {
  return o.reconScale * recon + o.klScale * kl;
}

/** The backward's scale and KL weight for a batch of `batch` (LikelihoodLoss's contract). */
export function backwardScales(o: Objective, batch: number): { scale: number; klWeight: number } {
  return { scale: o.reconScale / batch, klWeight: o.klScale / o.reconScale };
}

/** Nats to two decimals; a small loss (the blog's MSE) to four significant digits. */
export function fmtLoss(v: number): string {
  return Math.abs(v) >= 10 ? v.toFixed(2) : v.toPrecision(4);
}

/**
 * KL warm-up (KL annealing, Bowman et al. 2016; Sonderby et al. 2016): the KL term's weight
 * rises linearly from 1 / warmupSteps at the first step to 1 at step `warmupSteps` (1-based
 * global step), then stays 1. warmupSteps 0: off (always 1).
 */
export function klWarmupWeight(step: number, warmupSteps: number): number {
  return warmupSteps > 0 ? Math.min(1, step / warmupSteps) : 1;
}
