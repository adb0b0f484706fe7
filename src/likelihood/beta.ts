/**
 * Beta likelihood on dequantized grey levels y = (p + u) / 256 in (0, 1): two raw head numbers
 * (a, b) per pixel give the shapes alpha = softplus(min(a, 1e4)) + 1e-4 and beta likewise,
 * -log p(y | alpha, beta) = ln B(alpha, beta) - (alpha - 1) ln y - (beta - 1) ln(1 - y),
 * mean image alpha / (alpha + beta), sample G1 / (G1 + G2) with G1 ~ Gamma(alpha),
 * G2 ~ Gamma(beta). Kernels: kernels/beta_kl_forward.wgsl, beta_kl_backward.wgsl,
 * beta_output.wgsl; their ln, lgamma, ln B and digamma difference are our own, accurate in f32
 * for shapes in [1e-4, 1e4] (beta_kl_forward.wgsl's header gives the bounds).
 *
 * Stability: the kernels never form lgamma(a) + lgamma(b) - lgamma(a + b) or
 * psi(a) - psi(a + b) from large parts that cancel, ln(1 - y) is a log1p, and the raw heads are
 * clamped at 1e4 (the gradient is 0 beyond), which bounds the shapes to [1e-4, 1e4 + 1e-4], the
 * range the f32 special functions are tested on. A concentration of 2e4 already gives a
 * standard deviation of 0.0035, under one grey level; the clamp acts on the raw head (not on
 * alpha) so f32 and f64 always agree on which side of it a head is.
 *
 * Sampling: Marsaglia and Tsang's Gamma method with T = 8 pre-drawn trials per Gamma (a trial is
 * rejected with probability at most 0.0483, at shape 1), the boost U^(1/k) below shape 1, all in
 * logs; a pixel whose Gamma rejects all T trials (probability below 6e-11) gets the mean.
 * Noise per pixel: normals [G1 trials | G2 trials], uniforms [G1 trials | G2 trials | G1 boost,
 * G2 boost].
 */

import type { Likelihood } from "./likelihood.ts";
import type { PixelReference } from "../reference/likelihood_kl.ts";
import { digammaDiff, logBeta } from "../reference/special.ts";

/** Raw heads are clamped to at most this (gradient 0 above): shapes <= 1e4 + 1e-4. */
export const BETA_HEAD_MAX = 1e4;
/** The smallest shape, added to the softplus. */
export const BETA_SHAPE_MIN = 1e-4;
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
export function betaNll(a: number, b: number, y: number): number {
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
 * One Beta draw from a pixel's noise (layout in the module doc), or the mean if a Gamma ran out
 * of trials; `exhausted` (if given) counts the Gammas that did.
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
  nll: (head, y) => betaNll(head[0], head[1], y),
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

export const beta: Likelihood = {
  name: "beta",
  width: 2,
  k: 0,
  constants: {},
  kernel: "beta",
  data: "dequantized",
  dataSpace: "8-bit grey levels, uniformly dequantized to (0, 1)",
  continuous: true,
  noise: { normals: 2 * BETA_TRIALS, uniforms: 2 * BETA_TRIALS + 2 },
  reference: betaReference,
  note: "Beta shapes are softplus(min(head, 1e4)) + 1e-4, so they lie in [1e-4, 1e4 + 1e-4] " +
    "(the gradient is 0 for a raw head at or above 1e4); samples use 8 Marsaglia-Tsang trials " +
    "per Gamma draw and fall back to the mean if all reject (probability below 6e-11 per pixel).",
};
