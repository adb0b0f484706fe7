/**
 * f64 reference of kernels/psi_step.wgsl: one optimizer step of every image's own
 * psi = (mu, logvar) with per-image best tracking and early stopping. The state is modified
 * in place, as the kernel modifies its buffers.
 */

import type { PsiTrack } from "../ops/psi_step.ts";

export interface PsiStepShape {
  n: number;
  samples: number;
  dims: number;
  maxSteps: number;
  patience: number;
  adam: boolean;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export interface PsiState {
  /** (N S, dims): psi of image n in rows n S .. n S + S - 1. */
  h: Float64Array;
  /** (N, dims): the psi of each image's best loss so far. */
  best: Float64Array;
  m: Float64Array;
  v: Float64Array;
  track: PsiTrack[];
}

/** A fresh track: no best yet, active. */
export function newTrack(): PsiTrack {
  return { bestLoss: Infinity, bestStep: 0, wait: 0, steps: 0, active: true, loss: NaN };
}

/** perImage (N S, 2) rows [recon, kl]; dh (N S, dims). */
export function psiStep(
  sh: PsiStepShape,
  st: PsiState,
  perImage: ArrayLike<number>,
  dh: ArrayLike<number>,
): void {
  const S = sh.samples, D = sh.dims;
  for (let n = 0; n < sh.n; n++) {
    const tr = st.track[n];
    if (!tr.active) continue;
    let sum = 0;
    for (let s = 0; s < S; s++) sum += perImage[2 * (n * S + s)] + perImage[2 * (n * S + s) + 1];
    const loss = sum / S;
    tr.loss = loss;
    const finite = Number.isFinite(loss);
    if (finite && loss < tr.bestLoss) {
      tr.bestLoss = loss;
      tr.bestStep = tr.steps;
      tr.wait = 0;
      for (let j = 0; j < D; j++) st.best[n * D + j] = st.h[n * S * D + j];
    } else {
      tr.wait += 1;
    }
    if (!finite || tr.wait >= sh.patience || tr.steps >= sh.maxSteps) {
      tr.active = false;
      continue;
    }
    const t = tr.steps + 1;
    for (let j = 0; j < D; j++) {
      let g = 0;
      for (let s = 0; s < S; s++) g += dh[(n * S + s) * D + j];
      let step = sh.lr * g;
      if (sh.adam) {
        const k = n * D + j;
        st.m[k] = sh.beta1 * st.m[k] + (1 - sh.beta1) * g;
        st.v[k] = sh.beta2 * st.v[k] + (1 - sh.beta2) * g * g;
        step = sh.lr * (st.m[k] / (1 - sh.beta1 ** t)) /
          (Math.sqrt(st.v[k] / (1 - sh.beta2 ** t)) + sh.eps);
      }
      const p = st.h[n * S * D + j] - step;
      for (let s = 0; s < S; s++) st.h[(n * S + s) * D + j] = p;
    }
    tr.steps = t;
  }
}
