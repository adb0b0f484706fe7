/**
 * Gaussian likelihood on dequantized grey levels y = (p + u) / 256 in (0, 1): two head numbers
 * per pixel, the mean m and the log-variance s (both identity),
 * -log p(y | m, s) = (log(2 pi) + s + r^2) / 2 with r = (y - m) e^{-s/2}, mean image
 * clip(m, 0, 1), sample clip(m + e^{s/2} eps, 0, 1). Kernels: kernels/gaussian_kl_forward.wgsl,
 * gaussian_kl_backward.wgsl, gaussian_output.wgsl.
 *
 * The kernels evaluate exactly these formulas, with no bound on s: in f32 they stay finite
 * while |y - m| e^{-s/2} < 1.8e19 (r^2 < f32 max), and the tests hold them to the f64 reference
 * for |s| <= 20 and |y - m| <= 10. Dequantization noise has variance 1 / (12 256^2), so a
 * fitted s has no reason to go below about -14.
 */

import type { Likelihood } from "./likelihood.ts";
import type { PixelReference } from "../reference/likelihood_kl.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/** -log N(y | m, e^s) of one pixel. */
export function gaussianNll(m: number, s: number, y: number): number {
  const r = (y - m) * Math.exp(-0.5 * s);
  return 0.5 * (LOG_2PI + s + r * r);
}

function _clip01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

export const gaussianReference: PixelReference = {
  width: 2,
  nll: (head, y) => gaussianNll(head[0], head[1], y),
  grad: (head, y) => {
    const e = Math.exp(-0.5 * head[1]), r = (y - head[0]) * e;
    // d/dm = (m - y) e^{-s}; d/ds = (1 - (y - m)^2 e^{-s}) / 2.
    return [-r * e, 0.5 * (1 - r * r)];
  },
  mean: (head) => _clip01(head[0]),
  sample: (head, normals) => _clip01(head[0] + Math.exp(0.5 * head[1]) * normals[0]),
};

export const gaussian: Likelihood = {
  name: "gaussian",
  width: 2,
  k: 0,
  constants: {},
  kernel: "gaussian",
  data: "dequantized",
  dataSpace: "8-bit grey levels, uniformly dequantized to (0, 1)",
  continuous: true,
  noise: { normals: 1, uniforms: 0 },
  reference: gaussianReference,
  note: "",
};
