/**
 * The whole MLP VAE training step in f64 on the CPU: forward, the analytic-KL
 * loss, backward by hand, and PyTorch's Adam. The end-to-end test runs it side
 * by side with the GPU pipeline on the same data and the same noise.
 */

import { act, dense, type MlpShape, type Params } from "./mlp_densities.ts";
import { activationBackward } from "./activation.ts";
import { linearBackward } from "./linear.ts";

export interface StepResult {
  /** Batch-mean recon NLL + KL (nats per image). */
  loss: number;
  recon: number;
  kl: number;
  grads: Params;
}

/** Loss and gradients of the batch-mean -ELBO (analytic KL) for x (N, pixels) and eps (N, latent). */
export function mlpStep(p: Params, x: Float64Array, eps: Float64Array, s: MlpShape): StepResult {
  const P = s.pixels, H = s.hidden, L = s.latent, N = x.length / P;
  const a1 = dense(x, p["enc.fc1.weight"], p["enc.fc1.bias"], P, H), h1 = act(s.activation, a1);
  const out = dense(h1, p["enc.fc2.weight"], p["enc.fc2.bias"], H, 2 * L);
  const mu = (n: number, j: number) => out[n * 2 * L + j],
    lv = (n: number, j: number) => out[n * 2 * L + L + j];
  const z = new Float64Array(N * L);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < L; j++) z[n * L + j] = mu(n, j) + Math.exp(lv(n, j) / 2) * eps[n * L + j];
  }
  const a3 = dense(z, p["dec.fc1.weight"], p["dec.fc1.bias"], L, H), h3 = act(s.activation, a3);
  const l = dense(h3, p["dec.fc2.weight"], p["dec.fc2.bias"], H, P);

  let recon = 0, kl = 0;
  const scale = 1 / N;
  const dl = new Float64Array(N * P);
  for (let i = 0; i < N * P; i++) {
    recon += Math.max(l[i], 0) - l[i] * x[i] + Math.log1p(Math.exp(-Math.abs(l[i])));
    dl[i] = scale * (1 / (1 + Math.exp(-l[i])) - x[i]);
  }
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < L; j++) kl += 0.5 * (Math.exp(lv(n, j)) + mu(n, j) ** 2 - 1 - lv(n, j));
  }
  const g4 = linearBackward(dl, h3, p["dec.fc2.weight"], N, H, P);
  const da3 = activationBackward(s.activation, g4.dX, a3);
  const g3 = linearBackward(da3, z, p["dec.fc1.weight"], N, L, H);
  const dz = g3.dX;
  const dout = new Float64Array(N * 2 * L);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < L; j++) {
      const sd = Math.exp(lv(n, j) / 2), g = dz[n * L + j];
      dout[n * 2 * L + j] = scale * mu(n, j) + g;
      dout[n * 2 * L + L + j] = scale * 0.5 * (Math.exp(lv(n, j)) - 1) +
        g * eps[n * L + j] * 0.5 * sd;
    }
  }
  const g2 = linearBackward(dout, h1, p["enc.fc2.weight"], N, H, 2 * L);
  const da1 = activationBackward(s.activation, g2.dX, a1);
  const g1 = linearBackward(da1, x, p["enc.fc1.weight"], N, P, H);
  return {
    loss: (recon + kl) / N,
    recon: recon / N,
    kl: kl / N,
    grads: {
      "enc.fc1.weight": g1.dW,
      "enc.fc1.bias": g1.dB,
      "enc.fc2.weight": g2.dW,
      "enc.fc2.bias": g2.dB,
      "dec.fc1.weight": g3.dW,
      "dec.fc1.bias": g3.dB,
      "dec.fc2.weight": g4.dW,
      "dec.fc2.bias": g4.dB,
    },
  };
}

export interface AdamState {
  t: number;
  m: Params;
  v: Params;
}

/** PyTorch's Adam (bias-corrected, eps after the square root), in place on p. */
export function adamStep(
  p: Params,
  g: Params,
  st: AdamState,
  lr: number,
  b1 = 0.9,
  b2 = 0.999,
  eps = 1e-8,
): void {
  st.t++;
  const c1 = 1 - b1 ** st.t, c2 = 1 - b2 ** st.t;
  for (const name of Object.keys(p)) {
    const w = p[name], gr = g[name];
    const m = (st.m[name] ??= new Float64Array(w.length)),
      v = (st.v[name] ??= new Float64Array(w.length));
    for (let i = 0; i < w.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * gr[i];
      v[i] = b2 * v[i] + (1 - b2) * gr[i] * gr[i];
      w[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
    }
  }
}
