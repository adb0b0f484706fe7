/**
 * Gaussian likelihood on dequantized grey levels y = (p + u) / 256 in (0, 1): two head numbers
 * per pixel, the mean m and the log-variance s (both identity),
 * -log p(y | m, s) = (log(2 pi) + s + r^2) / 2 with r = (y - m) e^{-s/2}, mean image
 * clip(m, 0, 1), sample clip(m + e^{s/2} eps, 0, 1). Kernels: kernels/gaussian_kl_forward.wgsl,
 * gaussian_kl_backward.wgsl, gaussian_output.wgsl; f64 reference: src/reference/gaussian.ts.
 *
 * The kernels evaluate exactly these formulas, with no bound on s: in f32 they stay finite
 * while |y - m| e^{-s/2} < 1.8e19 (r^2 < f32 max), and the tests hold them to the f64 reference
 * for |s| <= 20 and |y - m| <= 10. Dequantization noise has variance 1 / (12 256^2), so a
 * fitted s has no reason to go below about -14.
 */

import type { Likelihood } from "./likelihood.ts";
import { gaussianReference } from "../reference/gaussian.ts";

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
