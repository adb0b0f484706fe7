/**
 * f64 per-pixel reference of the blog preset's squared-error term, as its kernels compute it;
 * what it is (and why it is no likelihood) is in src/likelihood/mse.ts's module doc.
 */

import type { PixelReference } from "./likelihood_kl.ts";

export const mseReference: PixelReference = {
  width: 1,
  nll: (head, x) => (x - Math.max(head[0], 0)) ** 2,
  grad: (head, x) => [head[0] > 0 ? 2 * (head[0] - x) : 0],
  mean: (head) => Math.min(Math.max(head[0], 0), 1),
  sample: (head) => Math.min(Math.max(head[0], 0), 1),
};
