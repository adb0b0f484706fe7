/**
 * The whole conv VAE training step (any likelihood) in f64 on the
 * CPU, composed from the per-op references: forward with batch norm in train mode (batch
 * statistics, running statistics moved by momentum 0.1 toward the batch mean and unbiased
 * variance), the batch-mean loss (the likelihood's NLL + analytic KL), and the backward
 * by hand through every op, batch norm's batch statistics included. Tensor names follow
 * `convLayout` in src/conv/conv_vae.ts; the end-to-end test runs this beside the GPU graph.
 */

import { activationBackward, activationForward } from "./activation.ts";
import {
  type BatchNorm2dDims,
  batchNormBackward,
  batchNormEvalBackward,
  batchNormEvalForward,
  batchNormTrainForward,
} from "./batchnorm.ts";
import { likelihoodKlBackward, likelihoodKlForward, type PixelReference } from "./likelihood_kl.ts";
import { bernoulliReference } from "./bernoulli.ts";
import { conv2dBackward, type Conv2dDims, conv2dForward } from "./conv2d.ts";
import {
  convTranspose2dBackward,
  type ConvTranspose2dDims,
  convTranspose2dForward,
  convTranspose2dOutSize,
} from "./conv_transpose2d.ts";
import { linearBackward, linearForward } from "./linear.ts";
import { type MaxPool2dDims, maxPoolBackward, maxPoolForward } from "./maxpool.ts";
import { reparamBackward, reparamForward } from "./reparam.ts";

/** Named f64 tensors, as convLayout names them. */
export type Tensors = Record<string, Float64Array>;

export interface ConvVaeStepResult {
  /** Batch-mean recon NLL + KL (nats per image). */
  loss: number;
  recon: number;
  kl: number;
  /** d loss / d parameter, every tensor of convLayout's params. */
  grads: Tensors;
  /** The running statistics after this step's batch norm updates. */
  state: Tensors;
}

/** Encoder convs: [in, out, kernel, pad, input size], as in src/conv/conv_vae.ts. */
const ENC = [[1, 32, 5, 2, 28], [32, 64, 5, 2, 14], [64, 128, 3, 1, 7]] as const;
/** Decoder transposed convs (5x5, stride 2, pad 1): [out channels, input size]. */
const DEC = [[128, 1], [64, 3], [32, 7], [1, 15]] as const;
const FLAT = 128 * 3 * 3, DEC_FLAT = 31 * 31, PIXELS = 784;

/** The likelihood of the reference: its per-pixel f64 math and bins constant. */
export interface ReferenceLikelihood {
  reference: PixelReference;
  k: number;
}

const BERNOULLI: ReferenceLikelihood = { reference: bernoulliReference, k: 0 };

/** What one encoder layer's backward needs: its input, conv output (before the ReLU), winners. */
interface EncCache {
  conv: Conv2dDims;
  pool: MaxPool2dDims;
  input: Float64Array;
  c: Float64Array;
  argmax: Uint32Array;
}

/** One decoder layer's input, transposed conv output t and batch norm output b (before the ReLU). */
interface DecCache {
  deconv: ConvTranspose2dDims;
  bn: BatchNorm2dDims;
  input: Float64Array;
  t: Float64Array;
  b: Float64Array;
}

interface Encoded {
  enc: EncCache[];
  /** The last pool's output flattened, (N, 1152). */
  flat: Float64Array;
  /** (N, 2 latent) rows [mu | logvar]. */
  h: Float64Array;
}

interface Decoded {
  loss: number;
  recon: number;
  kl: number;
  state: Tensors;
  dec: DecCache[];
  /** The last ReLU's output flattened, (N, 961). */
  last: Float64Array;
  logits: Float64Array;
}

function _batch(x: Float64Array): number {
  const N = x.length / PIXELS;
  if (!Number.isInteger(N) || N < 1) {
    throw new RangeError(
      `Cannot run the conv VAE reference: x holds ${x.length} values, not a multiple of ${PIXELS}`,
    );
  }
  return N;
}

function _encode(p: Tensors, x: Float64Array, L: number): Encoded {
  const N = _batch(x);
  const enc: EncCache[] = [];
  let input = x;
  ENC.forEach(([ci, co, k, pad, size], i) => {
    const conv = {
      batch: N,
      inChannels: ci,
      outChannels: co,
      height: size,
      width: size,
      kernelHeight: k,
      kernelWidth: k,
      stride: 1,
      pad,
    };
    const c = conv2dForward(conv, input, p[`enc.conv${i + 1}.weight`], p[`enc.conv${i + 1}.bias`]);
    const pool = { batch: N, channels: co, height: size, width: size };
    const { y, argmax } = maxPoolForward(pool, activationForward("relu", c));
    enc.push({ conv, pool, input, c, argmax });
    input = y;
  });
  const h = linearForward(input, p["enc.head.weight"], p["enc.head.bias"], N, FLAT, 2 * L);
  return { enc, flat: input, h };
}

type BnMode = "train" | "eval";

/** The decoder from z (N, L) to the head, batch norm in `mode`; train mode moves the state. */
function _decoderForward(
  p: Tensors,
  state: Tensors,
  z: Float64Array,
  N: number,
  L: number,
  W: number,
  mode: BnMode,
): { dec: DecCache[]; state: Tensors; last: Float64Array; logits: Float64Array } {
  const dec: DecCache[] = [];
  const newState: Tensors = {};
  let input = z;
  let ci = L;
  DEC.forEach(([co, size], i) => {
    const k = i + 1;
    const deconv = {
      batch: N,
      inChannels: ci,
      outChannels: co,
      height: size,
      width: size,
      kernel: 5,
      stride: 2,
      pad: 1,
    };
    const w = p[`dec.deconv${k}.weight`], b = p[`dec.deconv${k}.bias`];
    const t = convTranspose2dForward(deconv, input, w, b);
    const out = convTranspose2dOutSize(size, 5, 2, 1);
    const bn = { batch: N, channels: co, height: out, width: out };
    const gamma = p[`dec.bn${k}.weight`], beta = p[`dec.bn${k}.bias`];
    const mean = state[`dec.bn${k}.running_mean`], variance = state[`dec.bn${k}.running_var`];
    let y: Float64Array;
    if (mode === "train") {
      const r = batchNormTrainForward(bn, t, gamma, beta, mean, variance);
      newState[`dec.bn${k}.running_mean`] = r.runningMean;
      newState[`dec.bn${k}.running_var`] = r.runningVar;
      y = r.y;
    } else {
      y = batchNormEvalForward(bn, t, gamma, beta, mean, variance);
    }
    dec.push({ deconv, bn, input, t, b: y });
    input = activationForward("relu", y);
    ci = co;
  });
  const logits = linearForward(
    input,
    p["dec.head.weight"],
    p["dec.head.bias"],
    N,
    DEC_FLAT,
    PIXELS * W,
  );
  return { dec, state: newState, last: input, logits };
}

/**
 * Back through the decoder from d loss / d head to d loss / d z; the parameters' gradients
 * go into `grads` when it is given (batch norm's from the mode its forward used).
 */
function _decoderBackward(
  p: Tensors,
  state: Tensors,
  f: { dec: DecCache[]; last: Float64Array },
  dHead: Float64Array,
  N: number,
  W: number,
  mode: BnMode,
  grads?: Tensors,
): Float64Array {
  const head = linearBackward(dHead, f.last, p["dec.head.weight"], N, DEC_FLAT, PIXELS * W);
  if (grads) {
    grads["dec.head.weight"] = head.dW;
    grads["dec.head.bias"] = head.dB;
  }
  let dA = head.dX;
  for (let i = f.dec.length - 1; i >= 0; i--) {
    const l = f.dec[i], k = i + 1;
    const dB = activationBackward("relu", dA, l.b);
    const gamma = p[`dec.bn${k}.weight`];
    const bn = mode === "train" ? batchNormBackward(l.bn, dB, l.t, gamma) : batchNormEvalBackward(
      l.bn,
      dB,
      l.t,
      gamma,
      state[`dec.bn${k}.running_mean`],
      state[`dec.bn${k}.running_var`],
    );
    const dc = convTranspose2dBackward(l.deconv, bn.dx, l.input, p[`dec.deconv${k}.weight`]);
    if (grads) {
      grads[`dec.bn${k}.weight`] = bn.dGamma;
      grads[`dec.bn${k}.bias`] = bn.dBeta;
      grads[`dec.deconv${k}.weight`] = dc.dw;
      grads[`dec.deconv${k}.bias`] = dc.db;
    }
    dA = dc.dx;
  }
  return dA;
}

function _checkLatent(N: number, L: number, h: Float64Array, eps: Float64Array): void {
  if (eps.length !== N * L || h.length !== N * 2 * L) {
    throw new RangeError(
      `Cannot run the conv VAE reference: eps holds ${eps.length} values and h ${h.length}, ` +
        `expected ${N * L} and ${N * 2 * L} for batch ${N}, latent ${L}`,
    );
  }
}

function _decode(
  p: Tensors,
  state: Tensors,
  x: Float64Array,
  h: Float64Array,
  eps: Float64Array,
  L: number,
  lik: ReferenceLikelihood,
): Decoded {
  const N = _batch(x);
  _checkLatent(N, L, h, eps);
  const z = reparamForward(h, eps, N, L);
  const d = _decoderForward(p, state, z, N, L, lik.reference.width, "train");
  const { recon, kl } = likelihoodKlForward(
    lik.reference,
    { n: N, d: PIXELS, latent: L, k: lik.k },
    d.logits,
    x,
    h,
  );
  return {
    loss: (recon + kl) / N,
    recon: recon / N,
    kl: kl / N,
    ...d,
  };
}

/** The encoder's output h (N, 2 latent), rows [mu | logvar], for x (N * 784 values). */
export function convVaeEncode(params: Tensors, x: Float64Array, latent: number): Float64Array {
  return _encode(params, x, latent).h;
}

/**
 * The batch-mean -ELBO alone (train-mode batch norm), for finite differences. Given h (the
 * encoder's output for these params and x) the encoder is skipped: perturbing a decoder
 * parameter leaves h unchanged, and the encoder is most of the forward's cost.
 */
export function convVaeLoss(
  params: Tensors,
  state: Tensors,
  x: Float64Array,
  eps: Float64Array,
  latent: number,
  h: Float64Array = convVaeEncode(params, x, latent),
  lik: ReferenceLikelihood = BERNOULLI,
): number {
  return _decode(params, state, x, h, eps, latent, lik).loss;
}

/**
 * One training step's loss, gradients and running-statistics update for x (N * 784 values in
 * {0, 1}, (N, 1, 28, 28)) and eps (N * latent standard normals, the reparameterization noise).
 * params and state are not modified.
 */
export function convVaeStep(
  params: Tensors,
  state: Tensors,
  x: Float64Array,
  eps: Float64Array,
  latent: number,
  lik: ReferenceLikelihood = BERNOULLI,
): ConvVaeStepResult {
  const p = params, L = latent;
  const e = _encode(p, x, L), f = _decode(p, state, x, e.h, eps, L, lik);
  const N = _batch(x);
  const grads: Tensors = {};
  const back = likelihoodKlBackward(
    lik.reference,
    { n: N, d: PIXELS, latent: L, k: lik.k },
    f.logits,
    x,
    e.h,
    { scale: 1 / N },
  );
  const W = lik.reference.width;
  const dA = _decoderBackward(p, state, f, back.dHead, N, W, "train", grads);
  // dA is now d loss / dz; the KL term's gradient is already in back.dH.
  const dH = reparamBackward(dA, eps, e.h, N, L, back.dH);
  const eh = linearBackward(dH, e.flat, p["enc.head.weight"], N, FLAT, 2 * L);
  grads["enc.head.weight"] = eh.dW;
  grads["enc.head.bias"] = eh.dB;
  let dP = eh.dX;
  for (let i = e.enc.length - 1; i >= 0; i--) {
    const l = e.enc[i], k = i + 1;
    const dR = maxPoolBackward(l.pool, dP, l.argmax);
    const dC = activationBackward("relu", dR, l.c);
    const conv = conv2dBackward(l.conv, dC, l.input, p[`enc.conv${k}.weight`]);
    grads[`enc.conv${k}.weight`] = conv.dw;
    grads[`enc.conv${k}.bias`] = conv.db;
    dP = conv.dx;
  }
  return { loss: f.loss, recon: f.recon, kl: f.kl, grads, state: f.state };
}

export interface DecoderPsiResult {
  /** Per image [recon NLL of the masked pixels, KL], (N, 2). */
  perImage: Float64Array;
  /** Their sum over the batch: the summed -ELBO that inference without the encoder lowers. */
  loss: number;
  /** d loss / d h (N, 2 latent): through z and the frozen decoder, plus the KL's own term. */
  dH: Float64Array;
}

/**
 * Inference without the encoder in f64: the summed -ELBO of x under q(z | h) (h rows
 * [mu | logvar], one sample z = mu + exp(logvar / 2) eps) through the decoder in eval mode
 * (batch norm's running statistics, left unchanged), the recon term over the pixels where
 * `mask` is 1 (all when absent), and its gradient with respect to h only.
 */
export function convDecoderPsi(
  p: Tensors,
  state: Tensors,
  x: Float64Array,
  h: Float64Array,
  eps: Float64Array,
  L: number,
  lik: ReferenceLikelihood = BERNOULLI,
  mask?: ArrayLike<number>,
): DecoderPsiResult {
  const N = _batch(x), W = lik.reference.width;
  _checkLatent(N, L, h, eps);
  const f = _decoderForward(p, state, reparamForward(h, eps, N, L), N, L, W, "eval");
  const dims = { n: N, d: PIXELS, latent: L, k: lik.k };
  const fwd = likelihoodKlForward(lik.reference, dims, f.logits, x, h, mask);
  const back = likelihoodKlBackward(lik.reference, dims, f.logits, x, h, { scale: 1, mask });
  const dA = _decoderBackward(p, state, f, back.dHead, N, W, "eval");
  return {
    perImage: fwd.perImage,
    loss: fwd.recon + fwd.kl,
    dH: reparamBackward(dA, eps, h, N, L, back.dH),
  };
}
