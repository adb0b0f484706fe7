/**
 * Posterior collapse: the encoder's q(z | x) stays at the prior N(0, I), the KL term goes to
 * zero and the decoder ignores z (every reconstruction is the same mean image). Two measures,
 * both from the encoder means and log-variances of one evaluation pass:
 * - the KL per image, in total and per latent dimension;
 * - active units (Burda, Grosse and Salakhutdinov 2016): dimension j is active when
 *   Var over x of E_q[z_j | x] = Var_x(mu_j(x)) exceeds 0.01. A collapsed dimension's mu is the
 *   same for every image, whatever its posterior variance.
 * Everything is in f64 on the host, after one readback of the (count, 2L) rows [mu | logvar].
 */

/** Burda et al.'s threshold on the variance of mu across images. */
export const ACTIVE_THRESHOLD = 0.01;

/** Below this KL per image (nats) the latent code carries almost nothing: collapse. */
const COLLAPSE_KL = 1;

/** How much of the latent code an encoder uses, over one evaluation's images. */
export interface LatentStats {
  /** Images the statistics are over. */
  count: number;
  /** Var over images of mu_j, per dimension. */
  muVariance: number[];
  /** Mean over images of KL(q(z_j | x) || N(0, 1)), per dimension (nats). */
  klPerDim: number[];
  /** Dimensions whose muVariance exceeds ACTIVE_THRESHOLD. */
  activeUnits: number;
}

/**
 * Statistics of the first `count` rows of `h` (rows of 2L numbers, [mu | logvar]), in f64.
 * Throws a RangeError when h holds fewer rows than `count`.
 */
export function latentStats(h: ArrayLike<number>, count: number, latent: number): LatentStats {
  const L = latent;
  if (!Number.isInteger(L) || L < 1) {
    throw new RangeError(`Cannot measure the latent code: latent must be >= 1, got ${L}`);
  }
  if (!Number.isInteger(count) || count < 1 || h.length < count * 2 * L) {
    throw new RangeError(
      `Cannot measure the latent code of ${count} images: h holds ${h.length} numbers, ` +
        `${count * 2 * L} needed`,
    );
  }
  const mean = new Float64Array(L), sq = new Float64Array(L), kl = new Float64Array(L);
  for (let n = 0; n < count; n++) {
    for (let j = 0; j < L; j++) {
      const mu = h[n * 2 * L + j], lv = h[n * 2 * L + L + j];
      mean[j] += mu;
      kl[j] += 0.5 * (mu * mu + Math.exp(lv) - 1 - lv);
    }
  }
  for (let j = 0; j < L; j++) mean[j] /= count;
  // Two passes: the variance of mu is often far below its mean squared.
  for (let n = 0; n < count; n++) {
    for (let j = 0; j < L; j++) {
      const d = h[n * 2 * L + j] - mean[j];
      sq[j] += d * d;
    }
  }
  const muVariance = Array.from(sq, (s) => s / count);
  return {
    count,
    muVariance,
    klPerDim: Array.from(kl, (s) => s / count),
    activeUnits: muVariance.filter((v) => v > ACTIVE_THRESHOLD).length,
  };
}

export interface CollapseVerdict {
  /** No active unit, or a KL below COLLAPSE_KL nats per image. */
  collapsed: boolean;
  /** Some units active, but fewer than half of them. */
  partial: boolean;
  /** One sentence for the console, metrics.json and the report. */
  words: string;
}

/** What the statistics say about collapse, with the remedies where there is one. */
export function collapseVerdict(s: LatentStats, latent: number): CollapseVerdict {
  const kl = s.klPerDim.reduce((a, b) => a + b, 0);
  const facts = `KL ${kl.toFixed(2)} nats per image, ${s.activeUnits} of ${latent} latent ` +
    `units active (Var mu > ${ACTIVE_THRESHOLD}, ${s.count} images)`;
  const collapsed = s.activeUnits === 0 || kl < COLLAPSE_KL;
  const partial = !collapsed && s.activeUnits < latent / 2;
  const remedy = "; retrain with --kl-warmup EPOCHS (KL annealing) or --free-bits NATS";
  if (collapsed) {
    return {
      collapsed,
      partial,
      words: `posterior collapse: ${facts}; the decoder ignores z${remedy}`,
    };
  }
  if (partial) return { collapsed, partial, words: `partial collapse: ${facts}${remedy}` };
  return { collapsed, partial, words: `no collapse: ${facts}` };
}
