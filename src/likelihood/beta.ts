/**
 * Beta likelihood on dequantized grey levels y = (p + u) / 256 in (0, 1): two raw head numbers
 * (a, b) per pixel give the shapes alpha = softplus(min(a, 1e4)) + 1e-4 and beta likewise,
 * -log p(y | alpha, beta) = ln B(alpha, beta) - (alpha - 1) ln y - (beta - 1) ln(1 - y),
 * mean image alpha / (alpha + beta), sample G1 / (G1 + G2) with G1 ~ Gamma(alpha),
 * G2 ~ Gamma(beta). Kernels: kernels/beta_kl_forward.wgsl, beta_kl_backward.wgsl,
 * beta_output.wgsl; f64 reference: src/reference/beta.ts. The kernels' ln, lgamma, ln B and
 * digamma difference are our own, accurate in f32 for shapes in [1e-4, 1e4]
 * (beta_kl_forward.wgsl's header gives the bounds).
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
import { BETA_TRIALS, betaReference } from "../reference/beta.ts";

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
