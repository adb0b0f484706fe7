/**
 * f64 per-pixel reference of the Categorical likelihood, as its kernels compute it: the bin of
 * a bin centre, -log softmax, its gradient, the mean image and the inverse-CDF sample. The
 * formulas are in src/likelihood/categorical.ts's module doc.
 */

import type { PixelReference } from "./likelihood_kl.ts";

/**
 * The bin j of a bin centre x = (j + 0.5) / k, as the kernels recover it: x in f32 is off by a
 * few ulps (<= 2^-22), k <= 256 scales that to <= 2^-14, and the product's own rounding adds
 * <= 2^-16, so x * k stays within 2^-13 of j + 0.5, far from either integer: the floor is j.
 */
export function binOf(x: number, k: number): number {
  return Math.min(Math.max(Math.floor(x * k), 0), k - 1);
}

/** e_w = exp(l_w - max l) (so the largest is 1), their sum, and the sum without bin j. */
function _exps(head: ArrayLike<number>, k: number, j = -1) {
  let max = -Infinity;
  for (let w = 0; w < k; w++) max = Math.max(max, head[w]);
  const e = new Array<number>(k);
  let sum = 0, others = 0;
  for (let w = 0; w < k; w++) {
    e[w] = Math.exp(head[w] - max);
    sum += e[w];
    if (w !== j) others += e[w];
  }
  return { e, sum, others, max };
}

/**
 * -log softmax(l)_j. Where l_j is the largest logit, it is log1p of the other bins' mass
 * (summed on its own: sum - 1 would lose it when it is small).
 */
function _categoricalNll(head: ArrayLike<number>, j: number, k: number): number {
  const { sum, others, max } = _exps(head, k, j);
  return head[j] === max ? Math.log1p(others) : Math.log(sum) - (head[j] - max);
}

/** The per-pixel reference of k bins (k logits per pixel). */
export function categoricalReference(k: number): PixelReference {
  return {
    width: k,
    nll: (head, x, k) => _categoricalNll(head, binOf(x, k), k),
    grad: (head, x, k) => {
      const j = binOf(x, k), { e, sum, others } = _exps(head, k, j);
      // pi_j - 1 as minus the other bins' mass, which keeps its digits when pi_j ~ 1.
      const g = e.map((v) => v / sum);
      g[j] = -others / sum;
      return g;
    },
    mean: (head, k) => {
      const { e, sum } = _exps(head, k);
      let m = 0;
      for (let w = 0; w < k; w++) m += e[w] * (w + 0.5);
      return m / (sum * k);
    },
    sample: (head, _normals, uniforms, k) => {
      const { e, sum } = _exps(head, k);
      // Inverse CDF on the unnormalized masses; u * sum >= the total (rounding, or u = 1) falls
      // back to the last bin that has mass, never to a bin of probability 0.
      const t = uniforms[0] * sum;
      let c = 0, last = 0;
      for (let w = 0; w < k; w++) {
        c += e[w];
        if (e[w] > 0) last = w;
        if (t < c) return (w + 0.5) / k;
      }
      return (last + 0.5) / k;
    },
  };
}
