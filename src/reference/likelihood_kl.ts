/**
 * f64 reference of the fused negative ELBO op (src/ops/likelihood_loss.ts) for any
 * likelihood, composed from the likelihood's per-pixel reference: its NLL, the NLL's
 * gradient with respect to the pixel's W head numbers, its mean and its sampler.
 * Layouts as in the kernels: head (N, D, W) pixel-major, x (N, D), h (N, 2L) rows
 * [mu | logvar], mask (D), weights (N).
 */

/** One likelihood's per-pixel math in f64; `head` holds the pixel's W numbers. */
export interface PixelReference {
  /** Head numbers per pixel. */
  width: number;
  /** -log p(x | head) of one pixel (x as the gather writes it; k the bins constant). */
  nll(head: ArrayLike<number>, x: number, k: number): number;
  /** d nll / d head, W numbers. */
  grad(head: ArrayLike<number>, x: number, k: number): number[];
  /** The mean image value of p(. | head) (the README's "mean image"). */
  mean(head: ArrayLike<number>, k: number): number;
  /** A draw from p(. | head) given the pixel's normals and uniforms, as the kernel reads them. */
  sample(
    head: ArrayLike<number>,
    normals: ArrayLike<number>,
    uniforms: ArrayLike<number>,
    k: number,
  ): number;
}

export interface LossShape {
  n: number;
  d: number;
  latent: number;
  /** The bins constant (0 where the likelihood has none). */
  k: number;
}

export interface LossResult {
  /** (N, 2) rows [recon, kl]. */
  perImage: Float64Array;
  recon: number;
  kl: number;
}

/** KL(N(mu, e^lv) || N(0, I)) of one image's encoder head. */
function _gaussianKl(h: ArrayLike<number>, r: number, latent: number): number {
  let k = 0;
  for (let j = 0; j < latent; j++) {
    const mu = h[r * 2 * latent + j], lv = h[r * 2 * latent + latent + j];
    k += 0.5 * (Math.exp(lv) + mu * mu - 1 - lv);
  }
  return k;
}

/** Per-image recon = sum_p mask_p nll and the KL, and their sums over the batch. */
export function likelihoodKlForward(
  px: PixelReference,
  s: LossShape,
  head: ArrayLike<number>,
  x: ArrayLike<number>,
  h: ArrayLike<number>,
  mask?: ArrayLike<number>,
): LossResult {
  _checkShapes(px, s, head, x, h);
  const W = px.width;
  const perImage = new Float64Array(2 * s.n);
  let recon = 0, kl = 0;
  for (let r = 0; r < s.n; r++) {
    let nll = 0;
    for (let p = 0; p < s.d; p++) {
      if (mask && mask[p] === 0) continue;
      const i = r * s.d + p;
      nll += (mask ? mask[p] : 1) * px.nll(_slice(head, i * W, W), x[i], s.k);
    }
    const k = _gaussianKl(h, r, s.latent);
    perImage[2 * r] = nll;
    perImage[2 * r + 1] = k;
    recon += nll;
    kl += k;
  }
  return { perImage, recon, kl };
}

export interface ReferenceBackwardOptions {
  mask?: ArrayLike<number>;
  weights?: ArrayLike<number>;
  scale: number;
  klWeight?: number;
  /** Free bits lambda (0 or absent: off); see freeBitsKl. */
  freeBits?: number;
}

/**
 * The KL term of the free-bits objective (Kingma et al. 2016), per image: sum over latent
 * dimensions j of max(lambda, mean over the batch's n images of KL(q(z_j | x) || N(0, 1))).
 */
export function freeBitsKl(
  h: ArrayLike<number>,
  n: number,
  latent: number,
  lambda: number,
): number {
  return batchKlPerDim(h, n, latent).reduce((t, k) => t + Math.max(lambda, k), 0);
}

/** Mean over the batch's n images of each latent dimension's KL from N(0, 1). */
export function batchKlPerDim(h: ArrayLike<number>, n: number, latent: number): Float64Array {
  const out = new Float64Array(latent);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < latent; j++) {
      const mu = h[r * 2 * latent + j], lv = h[r * 2 * latent + latent + j];
      out[j] += 0.5 * (Math.exp(lv) + mu * mu - 1 - lv) / n;
    }
  }
  return out;
}

/**
 * dHead = scale w_n mask_p d nll / d head; dH = scale w_n klWeight d kl / d h, where with free
 * bits lambda a dimension's dH is 0 unless its batch mean KL exceeds lambda (the gradient of
 * n freeBitsKl at the images' own weight).
 */
export function likelihoodKlBackward(
  px: PixelReference,
  s: LossShape,
  head: ArrayLike<number>,
  x: ArrayLike<number>,
  h: ArrayLike<number>,
  o: ReferenceBackwardOptions,
): { dHead: Float64Array; dH: Float64Array } {
  _checkShapes(px, s, head, x, h);
  const W = px.width, L = s.latent;
  const dHead = new Float64Array(s.n * s.d * W);
  const dH = new Float64Array(s.n * 2 * L);
  const lambda = o.freeBits ?? 0;
  const batchKl = lambda > 0 ? batchKlPerDim(h, s.n, L) : null;
  const gate = (j: number) => (batchKl && batchKl[j] <= lambda ? 0 : 1);
  for (let r = 0; r < s.n; r++) {
    const c = o.scale * (o.weights ? o.weights[r] : 1);
    for (let p = 0; p < s.d; p++) {
      const m = o.mask ? o.mask[p] : 1;
      if (m === 0) continue;
      const i = r * s.d + p;
      const g = px.grad(_slice(head, i * W, W), x[i], s.k);
      for (let w = 0; w < W; w++) dHead[i * W + w] = c * m * g[w];
    }
    const ck = c * (o.klWeight ?? 1);
    for (let j = 0; j < L; j++) {
      const a = r * 2 * L + j;
      dH[a] = ck * gate(j) * h[a];
      dH[a + L] = ck * gate(j) * 0.5 * (Math.exp(h[a + L]) - 1);
    }
  }
  return { dHead, dH };
}

/** The mean image (N, D) of a head (N, D, W). */
export function likelihoodMean(
  px: PixelReference,
  head: ArrayLike<number>,
  n: number,
  d: number,
  k: number,
): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) out[i] = px.mean(_slice(head, i * px.width, px.width), k);
  return out;
}

/** Draws (N, D) given per-pixel noise laid out as the output kernels read it. */
export function likelihoodSample(
  px: PixelReference,
  head: ArrayLike<number>,
  normals: ArrayLike<number>,
  uniforms: ArrayLike<number>,
  perPixel: { normals: number; uniforms: number },
  n: number,
  d: number,
  k: number,
): Float64Array {
  const out = new Float64Array(n * d);
  const { normals: nn, uniforms: nu } = perPixel;
  for (let i = 0; i < n * d; i++) {
    out[i] = px.sample(
      _slice(head, i * px.width, px.width),
      _slice(normals, i * nn, nn),
      _slice(uniforms, i * nu, nu),
      k,
    );
  }
  return out;
}

function _slice(a: ArrayLike<number>, from: number, count: number): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = a[from + i];
  return out;
}

function _checkShapes(
  px: PixelReference,
  s: LossShape,
  head: ArrayLike<number>,
  x: ArrayLike<number>,
  h: ArrayLike<number>,
): void {
  if (
    head.length !== s.n * s.d * px.width || x.length !== s.n * s.d ||
    h.length !== s.n * 2 * s.latent
  ) {
    throw new RangeError(
      `Cannot evaluate the loss reference: expected head of ${s.n * s.d * px.width}, x of ` +
        `${s.n * s.d} and h of ${s.n * 2 * s.latent} values, got ${head.length}, ${x.length}, ` +
        `${h.length}`,
    );
  }
}
