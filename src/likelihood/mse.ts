/**
 * The blog preset's reconstruction term: the squared error between the grey levels x = p / 255
 * and a ReLU output y = max(l, 0), summed over the image's pixels. It is not a likelihood (a
 * Gaussian of fixed variance up to its constant and scale), so the runs that use it report a
 * loss, never a negative ELBO; the blog's mean over pixels and its beta live in the objective
 * (src/model/objective.ts). The image ("mean" and "sample" alike: there is no noise) is y
 * clamped to the grey levels' [0, 1].
 * Kernels: kernels/mse_kl_forward.wgsl, mse_kl_backward.wgsl, mse_output.wgsl; f64 reference:
 * src/reference/mse.ts.
 */

import type { Likelihood } from "./likelihood.ts";
import { mseReference } from "../reference/mse.ts";

export const mse: Likelihood = {
  name: "mse",
  width: 1,
  k: 0,
  constants: {},
  kernel: "mse",
  data: "grey",
  dataSpace: "grey levels p / 255 in [0, 1]",
  continuous: false,
  noise: { normals: 0, uniforms: 0 },
  reference: mseReference,
  note: "squared error of a ReLU output, not a likelihood: the loss is not a negative ELBO",
};
