/** f64 reference of the Bernoulli-from-logits NLL plus Gaussian KL and its gradient. */

export interface BernoulliKlResult {
  /** (N, 2) rows [recon, kl]. */
  perImage: Float64Array;
  recon: number;
  kl: number;
}

/** -log p(x | l) for one pixel, in the form that never overflows. */
export function bernoulliNll(l: number, x: number): number {
  return Math.max(l, 0) - l * x + Math.log1p(Math.exp(-Math.abs(l)));
}

/**
 * Per-image recon = sum_d mask_d bernoulliNll(l, x) and kl = 0.5 sum_j (e^lv + mu^2 - 1 - lv),
 * and their sums over the batch. logits, x: (N, D); h: (N, 2L) rows [mu, logvar]; mask: (D).
 */
export function bernoulliKlForward(
  logits: Float64Array,
  x: Float64Array,
  h: Float64Array,
  n: number,
  d: number,
  latent: number,
  mask?: Float64Array,
): BernoulliKlResult {
  _checkShapes(logits, x, h, n, d, latent);
  const perImage = new Float64Array(2 * n);
  let recon = 0, kl = 0;
  for (let r = 0; r < n; r++) {
    let nll = 0, k = 0;
    for (let p = 0; p < d; p++) {
      nll += (mask ? mask[p] : 1) * bernoulliNll(logits[r * d + p], x[r * d + p]);
    }
    for (let j = 0; j < latent; j++) {
      const mu = h[r * 2 * latent + j], lv = h[r * 2 * latent + latent + j];
      k += 0.5 * (Math.exp(lv) + mu * mu - 1 - lv);
    }
    perImage[2 * r] = nll;
    perImage[2 * r + 1] = k;
    recon += nll;
    kl += k;
  }
  return { perImage, recon, kl };
}

/** Gradient of scale * (recon + kl) summed over the batch: dLogits (N, D) and dH (N, 2L). */
export function bernoulliKlBackward(
  logits: Float64Array,
  x: Float64Array,
  h: Float64Array,
  n: number,
  d: number,
  latent: number,
  mask: Float64Array | undefined,
  scale: number,
): { dLogits: Float64Array; dH: Float64Array } {
  _checkShapes(logits, x, h, n, d, latent);
  const dLogits = logits.map((l, i) =>
    scale * (mask ? mask[i % d] : 1) * (1 / (1 + Math.exp(-l)) - x[i])
  );
  const dH = h.map((
    v,
    i,
  ) => (i % (2 * latent) < latent ? scale * v : scale * 0.5 * (Math.exp(v) - 1)));
  return { dLogits, dH };
}

function _checkShapes(
  logits: Float64Array,
  x: Float64Array,
  h: Float64Array,
  n: number,
  d: number,
  latent: number,
): void {
  if (logits.length !== n * d || x.length !== n * d || h.length !== n * 2 * latent) {
    throw new RangeError(
      `Cannot evaluate bernoulli_kl: expected logits and x of ${n * d} and h of ` +
        `${n * 2 * latent} values, got ${logits.length}, ${x.length}, ${h.length}`,
    );
  }
}
