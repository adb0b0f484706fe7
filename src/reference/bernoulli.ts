/**
 * f64 per-pixel reference of the Bernoulli likelihood, as its kernels compute it; the formulas
 * are in src/likelihood/bernoulli.ts's module doc.
 */

import type { PixelReference } from "./likelihood_kl.ts";

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
