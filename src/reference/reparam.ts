/** f64 reference of the reparameterization z = mu + exp(logvar / 2) * eps and its gradient. */

/** z (N, L) from h (N, 2L) rows [mu, logvar] and eps (N, L). */
export function reparamForward(
  h: Float64Array,
  eps: Float64Array,
  rows: number,
  latent: number,
): Float64Array {
  const z = new Float64Array(rows * latent);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < latent; j++) {
      const mu = h[r * 2 * latent + j], lv = h[r * 2 * latent + latent + j];
      z[r * latent + j] = mu + Math.exp(lv / 2) * eps[r * latent + j];
    }
  }
  return z;
}

/** dH + the gradient through z: dmu += dz, dlogvar += dz * eps * exp(logvar / 2) / 2. */
export function reparamBackward(
  dZ: Float64Array,
  eps: Float64Array,
  h: Float64Array,
  rows: number,
  latent: number,
  dH: Float64Array = new Float64Array(rows * 2 * latent),
): Float64Array {
  const out = Float64Array.from(dH);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < latent; j++) {
      const mu = r * 2 * latent + j, lv = mu + latent, i = r * latent + j;
      out[mu] += dZ[i];
      out[lv] += dZ[i] * eps[i] * 0.5 * Math.exp(h[lv] / 2);
    }
  }
  return out;
}
