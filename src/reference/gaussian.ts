/**
 * f64 per-pixel reference of the Gaussian likelihood, as its kernels compute it; the formulas
 * and the range the tests hold the kernels to are in src/likelihood/gaussian.ts's module doc.
 */

import type { PixelReference } from "./likelihood_kl.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/** -log N(y | m, e^s) of one pixel. */
function _gaussianNll(m: number, s: number, y: number): number {
  const r = (y - m) * Math.exp(-0.5 * s);
  return 0.5 * (LOG_2PI + s + r * r);
}

function _clip01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

export const gaussianReference: PixelReference = {
  width: 2,
  nll: (head, y) => _gaussianNll(head[0], head[1], y),
  grad: (head, y) => {
    const e = Math.exp(-0.5 * head[1]), r = (y - head[0]) * e;
    // d/dm = (m - y) e^{-s}; d/ds = (1 - (y - m)^2 e^{-s}) / 2.
    return [-r * e, 0.5 * (1 - r * r)];
  },
  mean: (head) => _clip01(head[0]),
  sample: (head, normals) => _clip01(head[0] + Math.exp(0.5 * head[1]) * normals[0]),
};
