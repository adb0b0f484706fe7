/**
 * Categorical likelihood on binned grey levels: the pixel's bin j = floor(p k / 256) of k bins,
 * which the loss sees as the bin centre x = (j + 0.5) / k; k logits per pixel (pixel-major),
 * -log p(j | l) = logsumexp(l) - l_j, mean image sum_j pi_j (j + 0.5) / k, sample the bin
 * centre of a draw. Kernels: kernels/categorical_kl_forward.wgsl, categorical_kl_backward.wgsl,
 * categorical_output.wgsl, all reading k from their uniform's `k`; f64 reference:
 * src/reference/categorical.ts.
 */

import type { Likelihood } from "./likelihood.ts";
import { categoricalReference } from "../reference/categorical.ts";

/** The bins the tasks use unless a flag says otherwise. */
export const DEFAULT_BINS = 4;

/** The Categorical likelihood with k bins, 2 <= k <= 256. */
export function categorical(k: number = DEFAULT_BINS): Likelihood {
  if (!Number.isInteger(k) || k < 2 || k > 256) {
    throw new RangeError(
      `Cannot make the categorical likelihood: bins must be an integer in [2, 256], got ${k}`,
    );
  }
  return {
    name: "categorical",
    width: k,
    k,
    constants: { bins: k },
    kernel: "categorical",
    data: "bins",
    dataSpace: `${k} bins j = floor(p ${k} / 256) of 8-bit grey levels`,
    continuous: false,
    noise: { normals: 0, uniforms: 1 },
    reference: categoricalReference(k),
    note: "",
  };
}
