/**
 * The MLP VAE's densities in f64 on the CPU, as the course writes them
 * (Kingma & Welling). They take the same parameters the GPU
 * trains (see `MlpVae.parameters()`), so a trained model can be probed with
 * them one batch at a time, and they are the reference the GPU pipeline is
 * tested against. Every density and sample here is our own code.
 *
 * Shapes: a batch is row-major, x is (B, 784), z is (B, latent).
 */

import type { ActivationKind } from "../ops/activation.ts";
import { activationForward } from "./activation.ts";
import { linearForward } from "./linear.ts";

/** The MLP VAE's tensors by name ("enc.fc1.weight", ...), as `MlpVae.parameters()` gives them. */
export type Params = Record<string, Float64Array>;

/**
 * The one-hidden-layer MLP these densities implement (the course's model 2): the fields of an
 * MlpConfig whose `hidden` is a single width.
 */
export interface MlpShape {
  /** Pixels per image (784). */
  pixels: number;
  /** Width of the one hidden layer of encoder and decoder. */
  hidden: number;
  /** L, the latent dimension. */
  latent: number;
  /** The hidden layers' activation. */
  activation: ActivationKind;
}

const LOG_2PI = Math.log(2 * Math.PI);

/** y (B, M) = x (B, K) W^T + b with W (M, K). */
export function dense(
  x: Float64Array,
  w: Float64Array,
  b: Float64Array,
  K: number,
  M: number,
): Float64Array {
  return linearForward(x, w, b, x.length / K, K, M);
}

/** The hidden layers' activation, elementwise. */
export const act = activationForward;

/** log N(z; 0, I) per row. */
export function log_prior(z: Float64Array, latent: number): Float64Array {
  const B = z.length / latent;
  const out = new Float64Array(B);
  for (let n = 0; n < B; n++) {
    let s = 0;
    for (let j = 0; j < latent; j++) s += -0.5 * (z[n * latent + j] ** 2 + LOG_2PI);
    out[n] = s;
  }
  return out;
}

/** Bernoulli logits (B, pixels) of p(x | z). */
export function decoder(params: Params, z: Float64Array, shape: MlpShape): Float64Array {
  const h = act(
    shape.activation,
    dense(z, params["dec.fc1.weight"], params["dec.fc1.bias"], shape.latent, shape.hidden),
  );
  return dense(h, params["dec.fc2.weight"], params["dec.fc2.bias"], shape.hidden, shape.pixels);
}

/** mu and log-variance (B, latent) of q(z | x). */
export function encoder(
  params: Params,
  x: Float64Array,
  shape: MlpShape,
): { mu: Float64Array; logvar: Float64Array } {
  const h = act(
    shape.activation,
    dense(x, params["enc.fc1.weight"], params["enc.fc1.bias"], shape.pixels, shape.hidden),
  );
  const out = dense(
    h,
    params["enc.fc2.weight"],
    params["enc.fc2.bias"],
    shape.hidden,
    2 * shape.latent,
  );
  const B = x.length / shape.pixels, L = shape.latent;
  const mu = new Float64Array(B * L), logvar = new Float64Array(B * L);
  for (let n = 0; n < B; n++) {
    for (let j = 0; j < L; j++) {
      mu[n * L + j] = out[n * 2 * L + j];
      logvar[n * L + j] = out[n * 2 * L + L + j];
    }
  }
  return { mu, logvar };
}

/**
 * log p(x | logits) per row for Bernoulli pixels, stable for any logit:
 * x l - softplus(l), with softplus(l) = max(l, 0) + log1p(exp(-|l|)).
 * Works for grey-level x in [0, 1] too (the cross-entropy).
 */
export function log_likelihood(
  x: Float64Array,
  logits: Float64Array,
  pixels: number,
): Float64Array {
  const B = x.length / pixels;
  const out = new Float64Array(B);
  for (let n = 0; n < B; n++) {
    let s = 0;
    for (let d = 0; d < pixels; d++) {
      const l = logits[n * pixels + d];
      s += x[n * pixels + d] * l - (Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs(l))));
    }
    out[n] = s;
  }
  return out;
}

/** log p(x, z) = log p(x | z) + log p(z) per row. */
export function joint_log_density(
  params: Params,
  x: Float64Array,
  z: Float64Array,
  shape: MlpShape,
): Float64Array {
  const lik = log_likelihood(x, decoder(params, z, shape), shape.pixels);
  const prior = log_prior(z, shape.latent);
  return lik.map((v, i) => v + prior[i]);
}

/** log q(z | x) = log N(z; mu, diag exp(logvar)) per row. */
export function log_q(
  mu: Float64Array,
  logvar: Float64Array,
  z: Float64Array,
  latent: number,
): Float64Array {
  const B = z.length / latent;
  const out = new Float64Array(B);
  for (let n = 0; n < B; n++) {
    let s = 0;
    for (let j = 0; j < latent; j++) {
      const i = n * latent + j;
      s += -0.5 * (LOG_2PI + logvar[i] + (z[i] - mu[i]) ** 2 / Math.exp(logvar[i]));
    }
    out[n] = s;
  }
  return out;
}

/**
 * One-sample Monte Carlo ELBO, mean over the batch: z = mu + exp(logvar/2) eps,
 * ELBO = log p(x, z) - log q(z | x). `eps` (B, latent) is the standard normal
 * noise, passed in so the estimate is reproducible.
 */
export function elbo(params: Params, x: Float64Array, eps: Float64Array, shape: MlpShape): number {
  const { mu, logvar } = encoder(params, x, shape);
  const z = mu.map((m, i) => m + Math.exp(logvar[i] / 2) * eps[i]);
  const joint = joint_log_density(params, x, z, shape);
  const q = log_q(mu, logvar, z, shape.latent);
  let s = 0;
  for (let n = 0; n < joint.length; n++) s += joint[n] - q[n];
  return s / joint.length;
}

/** The training objective: -ELBO (nats per image). */
export function loss(params: Params, x: Float64Array, eps: Float64Array, shape: MlpShape): number {
  return -elbo(params, x, eps, shape);
}
