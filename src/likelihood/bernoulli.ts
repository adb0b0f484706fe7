/**
 * Bernoulli likelihood on binarized pixels: one logit l per pixel,
 * -log p(x | l) = max(l, 0) - l x + log(1 + e^-|l|) (no overflow for any l), mean sigmoid(l),
 * sample [u < sigmoid(l)]. Kernels: kernels/bernoulli_kl_forward.wgsl,
 * bernoulli_kl_backward.wgsl, bernoulli_output.wgsl; f64 reference: src/reference/bernoulli.ts.
 */

import type { Likelihood } from "./likelihood.ts";
import { bernoulliReference } from "../reference/bernoulli.ts";

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
