/**
 * f64 per-pixel reference of the Beta likelihood, as its kernels compute it: the shapes from the
 * raw heads, the NLL and its gradient, and the Marsaglia-Tsang sampler trial by trial. The
 * formulas, the clamp, the sampler and the noise layout are in src/likelihood/beta.ts's module
 * doc.
 */

import type { PixelReference } from "./likelihood_kl.ts";
import { digammaDiff, logBeta } from "./special.ts";

/** Raw heads are clamped to at most this (gradient 0 above): shapes <= 1e4 + 1e-4. */
const BETA_HEAD_MAX = 1e4;
/** The smallest shape, added to the softplus. */
const BETA_SHAPE_MIN = 1e-4;
/** Gamma trials per draw in the sampler. */
export const BETA_TRIALS = 8;

function _softplus(v: number): number {
  return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
}

function _sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

/** The shape from one raw head number, as the kernels compute it. */
export function betaShape(v: number): number {
  return _softplus(Math.min(v, BETA_HEAD_MAX)) + BETA_SHAPE_MIN;
}

/** d betaShape / dv: 0 at and above the clamp. */
function _dShape(v: number): number {
  return v >= BETA_HEAD_MAX ? 0 : _sigmoid(v);
}

/** -log Beta(y | alpha, beta) of one pixel from its raw head (a, b). */
function _betaNll(a: number, b: number, y: number): number {
  const alpha = betaShape(a), beta = betaShape(b);
  return logBeta(alpha, beta) - (alpha - 1) * Math.log(y) - (beta - 1) * Math.log1p(-y);
}

/** ln(1 + w) - w + w^2/2 - w^3/3: the Marsaglia-Tsang log acceptance bound is 3 d times it. */
export function mtTail(w: number): number {
  if (Math.abs(w) < 0.1) {
    let s = 0;
    for (let k = 11; k >= 4; k--) s = s * w + (k % 2 ? 1 : -1) / k;
    return s * w ** 4;
  }
  return Math.log1p(w) - w * (1 - w * (0.5 - w / 3));
}

/**
 * ln G of a Gamma(k) draw from T trials (normals[t], uniforms[t]) and a boost uniform, exactly
 * as kernels/beta_output.wgsl draws it; null when every trial rejects. `trials` (if given)
 * receives how many trials were read.
 */
export function logGammaDraw(
  k: number,
  normals: ArrayLike<number>,
  uniforms: ArrayLike<number>,
  boost: number,
  trials?: { used: number },
): number | null {
  const s = k < 1 ? k + 1 : k;
  const d = s - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (let t = 0; t < BETA_TRIALS; t++) {
    const w = c * normals[t];
    if (w > -1 && Math.log(uniforms[t]) < 3 * d * mtTail(w)) {
      if (trials) trials.used = t + 1;
      return Math.log(d) + 3 * Math.log1p(w) + (k < 1 ? Math.log(boost) / k : 0);
    }
  }
  if (trials) trials.used = BETA_TRIALS;
  return null;
}

/**
 * One Beta draw from a pixel's noise (layout in src/likelihood/beta.ts's module doc), or the
 * mean if a Gamma ran out of trials; `exhausted` (if given) counts the Gammas that did.
 */
export function betaSample(
  a: number,
  b: number,
  normals: ArrayLike<number>,
  uniforms: ArrayLike<number>,
  exhausted?: { count: number },
): number {
  const alpha = betaShape(a), beta = betaShape(b), T = BETA_TRIALS;
  const g1 = logGammaDraw(alpha, _part(normals, 0, T), _part(uniforms, 0, T), uniforms[2 * T]);
  const g2 = logGammaDraw(beta, _part(normals, T, T), _part(uniforms, T, T), uniforms[2 * T + 1]);
  if (exhausted) exhausted.count += (g1 === null ? 1 : 0) + (g2 === null ? 1 : 0);
  if (g1 === null || g2 === null) return alpha / (alpha + beta);
  return _sigmoid(g1 - g2);
}

function _part(a: ArrayLike<number>, from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => a[from + i]);
}

export const betaReference: PixelReference = {
  width: 2,
  nll: (head, y) => _betaNll(head[0], head[1], y),
  grad: (head, y) => {
    const alpha = betaShape(head[0]), beta = betaShape(head[1]);
    return [
      _dShape(head[0]) * (digammaDiff(alpha, beta) - Math.log(y)),
      _dShape(head[1]) * (digammaDiff(beta, alpha) - Math.log1p(-y)),
    ];
  },
  mean: (head) => {
    const alpha = betaShape(head[0]), beta = betaShape(head[1]);
    return alpha / (alpha + beta);
  },
  sample: (head, normals, uniforms) => betaSample(head[0], head[1], normals, uniforms),
};
