/** f64 reference of kernels/sigmoid_head_{forward,backward}.wgsl: rows [a | b] -> [mu | logvar]. */

const _sigmoid = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
const _softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));

/** h (N, 2L): mu = sigmoid(a), logvar = 2 log sigmoid(b), from raw (N, 2L). */
export function sigmoidHeadForward(raw: Float64Array, latent: number): Float64Array {
  return raw.map((v, i) => (i % (2 * latent) < latent ? _sigmoid(v) : -2 * _softplus(-v)));
}

/** d raw (N, 2L) from d h (N, 2L). */
export function sigmoidHeadBackward(
  dh: Float64Array,
  raw: Float64Array,
  latent: number,
): Float64Array {
  return dh.map((g, i) => {
    const v = raw[i];
    if (i % (2 * latent) < latent) {
      const s = _sigmoid(v);
      return g * s * (1 - s);
    }
    return g * 2 * _sigmoid(-v);
  });
}
