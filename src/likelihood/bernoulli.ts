/**
 * Bernoulli likelihood on binarized pixels: one logit l per pixel,
 * -log p(x | l) = max(l, 0) - l x + log(1 + e^-|l|) (no overflow for any l), mean sigmoid(l),
 * sample [u < sigmoid(l)]. Kernels: kernels/bernoulli_kl_forward.wgsl,
 * bernoulli_kl_backward.wgsl, bernoulli_output.wgsl.
 */

import type { Likelihood } from "./likelihood.ts";
import type { PixelReference } from "../reference/likelihood_kl.ts";

function _sigmoid(l: number): number {
  return l >= 0 ? 1 / (1 + Math.exp(-l)) : Math.exp(l) / (1 + Math.exp(l));
}

/** -log p(x | l) for one pixel, in the form that never overflows. */
export function bernoulliNll(l: number, x: number): number {
  return Math.max(l, 0) - l * x + Math.log1p(Math.exp(-Math.abs(l)));
}

export const bernoulliReference: PixelReference = {
  width: 1,
  nll: (head, x) => bernoulliNll(head[0], x),
  grad: (head, x) => [_sigmoid(head[0]) - x],
  mean: (head) => _sigmoid(head[0]),
  sample: (head, _normals, uniforms) => (uniforms[0] < _sigmoid(head[0]) ? 1 : 0),
};

export const bernoulli: Likelihood = {
  name: "bernoulli",
  width: 1,
  k: 0,
  constants: {},
  kernel: "bernoulli",
  data: "binary",
  dataSpace: "binary pixels {0, 1}",
  continuous: false,
  noise: { normals: 0, uniforms: 1 },
  reference: bernoulliReference,
  note: "",
};
