/**
 * f64 reference of one step of any MLP VAE the builder makes (src/mlp/mlp_net.ts): hidden
 * layers of any widths and activations, either encoder head, any likelihood's per-pixel
 * reference; composed from the layer references so that each piece is the one tested alone.
 */

import type { ActivationKind } from "../ops/activation.ts";
import { activationBackward, activationForward } from "./activation.ts";
import { linearBackward, linearForward } from "./linear.ts";
import { likelihoodKlBackward, likelihoodKlForward, type PixelReference } from "./likelihood_kl.ts";
import { reparamBackward, reparamForward } from "./reparam.ts";
import { sigmoidHeadBackward, sigmoidHeadForward } from "./sigmoid_head.ts";

export type Params = Record<string, Float64Array>;

/**
 * The MLP the step runs: the fields of src/mlp/mlp_net.ts's MlpConfig (which satisfies this), so
 * that the reference depends on no model code.
 */
export interface MlpBuilderConfig {
  /** Pixels per image. */
  pixels: number;
  /** Hidden widths from the input side; the decoder mirrors them. */
  hidden: number | readonly number[];
  /** L, the latent dimension. */
  latent: number;
  /** The encoder's hidden activation, and the decoder's unless `decoderActivation` is set. */
  activation: ActivationKind;
  /** The decoder's hidden activation; default `activation`. */
  decoderActivation?: ActivationKind;
  /** LeakyReLU's negative slope (default 0.01). */
  slope?: number;
  /** How the encoder's last layer gives (mu, logvar): as is ("logvar", default) or sigmoid_head.ts. */
  head?: "logvar" | "sigmoid";
}

export interface BuilderStep {
  /** scale * sum over images of (recon + klWeight * KL). */
  loss: number;
  /** (N, 2) rows [recon, KL]. */
  perImage: Float64Array;
  grads: Params;
}

interface Chain {
  out: Float64Array;
  pre: Float64Array[];
  post: Float64Array[];
}

function _chainForward(
  p: Params,
  prefix: string,
  widths: number[],
  kind: ActivationKind,
  slope: number,
  x: Float64Array,
  N: number,
): Chain {
  const pre: Float64Array[] = [], post: Float64Array[] = [];
  let input = x;
  for (let i = 1; i < widths.length; i++) {
    const y = linearForward(
      input,
      p[`${prefix}.fc${i}.weight`],
      p[`${prefix}.fc${i}.bias`],
      N,
      widths[i - 1],
      widths[i],
    );
    if (i === widths.length - 1) return { out: y, pre, post };
    pre.push(y);
    input = activationForward(kind, y, slope);
    post.push(input);
  }
  throw new RangeError("a chain needs at least one layer");
}

function _chainBackward(
  p: Params,
  prefix: string,
  widths: number[],
  kind: ActivationKind,
  slope: number,
  x: Float64Array,
  c: Chain,
  dOut: Float64Array,
  N: number,
  grads: Params,
): Float64Array {
  let dY = dOut;
  for (let i = widths.length - 1; i >= 1; i--) {
    const input = i === 1 ? x : c.post[i - 2];
    const g = linearBackward(dY, input, p[`${prefix}.fc${i}.weight`], N, widths[i - 1], widths[i]);
    grads[`${prefix}.fc${i}.weight`] = g.dW;
    grads[`${prefix}.fc${i}.bias`] = g.dB;
    dY = i === 1 ? g.dX : activationBackward(kind, g.dX, c.pre[i - 2], slope);
  }
  return dY;
}

/** One forward and backward of the MLP VAE on x (N, pixels) with eps (N, L). */
export function mlpBuilderStep(
  p: Params,
  c: MlpBuilderConfig,
  lik: PixelReference,
  x: Float64Array,
  eps: Float64Array,
  N: number,
  o: { scale: number; klWeight?: number; k?: number },
): BuilderStep {
  const hidden = typeof c.hidden === "number" ? [c.hidden] : [...c.hidden];
  const L = c.latent, slope = c.slope ?? 0.01;
  const encW = [c.pixels, ...hidden, 2 * L];
  const decW = [L, ...hidden.toReversed(), c.pixels * lik.width];
  const decAct = c.decoderActivation ?? c.activation;
  const enc = _chainForward(p, "enc", encW, c.activation, slope, x, N);
  const sigmoid = c.head === "sigmoid";
  const h = sigmoid ? sigmoidHeadForward(enc.out, L) : enc.out;
  const z = reparamForward(h, eps, N, L);
  const dec = _chainForward(p, "dec", decW, decAct, slope, z, N);
  const shape = { n: N, d: c.pixels, latent: L, k: o.k ?? 0 };
  const f = likelihoodKlForward(lik, shape, dec.out, x, h);
  const klWeight = o.klWeight ?? 1;
  const b = likelihoodKlBackward(lik, shape, dec.out, x, h, { scale: o.scale, klWeight });
  const grads: Params = {};
  const dZ = _chainBackward(p, "dec", decW, decAct, slope, z, dec, b.dHead, N, grads);
  const dH = reparamBackward(dZ, eps, h, N, L, b.dH);
  const dRaw = sigmoid ? sigmoidHeadBackward(dH, enc.out, L) : dH;
  _chainBackward(p, "enc", encW, c.activation, slope, x, enc, dRaw, N, grads);
  return { loss: o.scale * (f.recon + klWeight * f.kl), perImage: f.perImage, grads };
}
