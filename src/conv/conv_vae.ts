/**
 * The course's conv VAE on the GPU (SPEC.md model 1), Bernoulli likelihood.
 * Encoder: conv 1->32 5x5 pad 2, ReLU, maxpool 2; conv 32->64 5x5 pad 2, ReLU,
 * maxpool 2; conv 64->128 3x3 pad 1, ReLU, maxpool 2 (7x7 -> 3x3); flatten 1152;
 * one linear head 1152 -> 2 latent giving rows [mu | logvar].
 * Decoder: z as a (latent, 1, 1) map; transposed convs 5x5 stride 2 pad 1,
 * latent->128 (3x3), 128->64 (7x7), 64->32 (15x15), 32->1 (31x31), each
 * followed by batch norm and ReLU; flatten 961; linear 961 -> 784 logits.
 *
 * `ConvVae` owns the flat parameters and batch norm running statistics;
 * `ConvGraph` holds one batch size's ops and activations.
 */

import type { Gpu, Recorder, Tensor } from "../gpu/gpu.ts";
import { Activation } from "../ops/activation.ts";
import { BatchNorm2d } from "../ops/batchnorm.ts";
import { BernoulliKl } from "../ops/bernoulli_kl.ts";
import { Conv2d } from "../ops/conv2d.ts";
import { ConvTranspose2d } from "../ops/conv_transpose2d.ts";
import { Linear } from "../ops/linear.ts";
import { MaxPool2d } from "../ops/maxpool.ts";
import { Reparam } from "../ops/reparam.ts";
import { Rng } from "../ops/rng.ts";
import type { ParamLayout } from "../model/params.ts";
import {
  type ConvConfig,
  convLayout,
  DEC,
  DEC_FLAT,
  ENC,
  FLAT,
  initConvParams,
  PIXELS,
} from "./layout.ts";

export { type ConvConfig, convLayout, initConvParams } from "./layout.ts";
import type { Mode, VaeGraph, VaeModel } from "../train/model.ts";
import { loadCheckpoint, restore } from "../train/checkpoint.ts";
import { CheckpointError } from "../checkpoint.ts";

export class ConvVae implements VaeModel {
  readonly kind = "conv";
  readonly gpu: Gpu;
  readonly config: ConvConfig;
  readonly layout: ParamLayout;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  readonly state: { layout: ParamLayout; buffer: GPUBuffer };
  readonly #graphs = new Map<number, ConvGraph>();

  constructor(
    gpu: Gpu,
    config: ConvConfig,
    initial: { params: Float32Array; state: Float32Array },
  ) {
    this.gpu = gpu;
    this.config = config;
    const { params, state } = convLayout(config);
    this.layout = params;
    if (initial.params.length !== params.total || initial.state.length !== state.total) {
      throw new RangeError(
        `Cannot build conv VAE: initial tensors do not match latent ${config.latent}`,
      );
    }
    this.params = gpu.storage("conv.params", initial.params);
    this.grads = params.allocate(gpu, "conv.grads");
    this.m = params.allocate(gpu, "conv.adam_m");
    this.v = params.allocate(gpu, "conv.adam_v");
    this.state = { layout: state, buffer: gpu.storage("conv.state", initial.state) };
  }

  get latent(): number {
    return this.config.latent;
  }

  describe(): Record<string, unknown> {
    return { model: "conv", ...this.config };
  }

  /** The model stored in a checkpoint. */
  static async load(gpu: Gpu, path: string, hint: string): Promise<ConvVae> {
    const ckpt = await loadCheckpoint(path, hint);
    const c = ckpt.config;
    if (c.model !== "conv") {
      throw new CheckpointError(
        path,
        `it holds a "${c.model}" model, this task needs the conv VAE`,
      );
    }
    const config: ConvConfig = { latent: Number(c.latent), likelihood: "bernoulli" };
    const vae = new ConvVae(gpu, config, initConvParams(config, 0));
    restore(vae, ckpt);
    return vae;
  }

  p(name: string): Tensor {
    return this.layout.binding(this.params, name);
  }

  g(name: string): Tensor {
    return this.layout.binding(this.grads, name);
  }

  s(name: string): Tensor {
    return this.state.layout.binding(this.state.buffer, name);
  }

  async graph(batch: number): Promise<ConvGraph> {
    let g = this.#graphs.get(batch);
    if (!g) {
      g = await ConvGraph.create(this, batch);
      this.#graphs.set(batch, g);
    }
    return g;
  }
}

interface EncLayer {
  conv: Conv2d;
  relu: Activation;
  pool: MaxPool2d;
  /** conv out, relu out, pool out; gradients of the same. */
  c: GPUBuffer;
  r: GPUBuffer;
  p: GPUBuffer;
  dC: GPUBuffer;
  dR: GPUBuffer;
  dP: GPUBuffer;
}

interface DecLayer {
  deconv: ConvTranspose2d;
  bn: BatchNorm2d;
  relu: Activation;
  /** deconv out, batch norm out, relu out; gradients of the same. */
  t: GPUBuffer;
  b: GPUBuffer;
  a: GPUBuffer;
  dT: GPUBuffer;
  dB: GPUBuffer;
  dA: GPUBuffer;
}

export class ConvGraph implements VaeGraph {
  readonly vae: ConvVae;
  readonly batch: number;
  readonly x: GPUBuffer;
  readonly h: GPUBuffer;
  readonly eps: GPUBuffer;
  readonly z: GPUBuffer;
  readonly logits: GPUBuffer;
  readonly perImage: GPUBuffer;
  readonly probs: GPUBuffer;
  readonly #enc: EncLayer[];
  readonly #dec: DecLayer[];
  readonly #encHead: Linear;
  readonly #decHead: Linear;
  readonly #sigmoid: Activation;
  readonly #rng: Rng;
  readonly #reparam: Reparam;
  readonly #loss: BernoulliKl;
  readonly #dLogits: GPUBuffer;
  readonly #dH: GPUBuffer;
  readonly #dZ: GPUBuffer;

  private constructor(vae: ConvVae, batch: number, parts: {
    enc: EncLayer[];
    dec: DecLayer[];
    encHead: Linear;
    decHead: Linear;
    sigmoid: Activation;
    rng: Rng;
    reparam: Reparam;
    loss: BernoulliKl;
  }) {
    const gpu = vae.gpu, N = batch, L = vae.config.latent;
    const f = (label: string, n: number) => gpu.storage(label, n * 4);
    this.vae = vae;
    this.batch = batch;
    this.#enc = parts.enc;
    this.#dec = parts.dec;
    this.#encHead = parts.encHead;
    this.#decHead = parts.decHead;
    this.#sigmoid = parts.sigmoid;
    this.#rng = parts.rng;
    this.#reparam = parts.reparam;
    this.#loss = parts.loss;
    this.x = f("x", N * PIXELS);
    this.h = f("h", N * 2 * L);
    this.eps = f("eps", N * L);
    this.z = f("z", N * L);
    this.logits = f("logits", N * PIXELS);
    this.perImage = f("per_image", N * 2);
    this.probs = f("probs", N * PIXELS);
    this.#dLogits = f("d_logits", N * PIXELS);
    this.#dH = f("d_h", N * 2 * L);
    this.#dZ = f("d_z", N * L);
  }

  static async create(vae: ConvVae, batch: number): Promise<ConvGraph> {
    const gpu = vae.gpu, N = batch, L = vae.config.latent;
    const f = (label: string, n: number) => gpu.storage(label, n * 4);
    const enc = await Promise.all(ENC.map(async ([ci, co, k, pad, size], i): Promise<EncLayer> => {
      const conv = await Conv2d.create(gpu, {
        batch: N,
        inChannels: ci,
        outChannels: co,
        height: size,
        width: size,
        kernel: k,
        pad,
      });
      const n = N * co * size * size;
      const pool = await MaxPool2d.create(gpu, {
        batch: N,
        channels: co,
        height: size,
        width: size,
      });
      const np = N * co * pool.outHeight * pool.outWidth;
      return {
        conv,
        relu: await Activation.create(gpu, "relu", n),
        pool,
        c: f(`enc${i + 1}.conv`, n),
        r: f(`enc${i + 1}.relu`, n),
        p: f(`enc${i + 1}.pool`, np),
        dC: f(`enc${i + 1}.d_conv`, n),
        dR: f(`enc${i + 1}.d_relu`, n),
        dP: f(`enc${i + 1}.d_pool`, np),
      };
    }));
    let ci = L;
    const decSpecs = DEC.map(([co, size]) => {
      const spec = { ci, co, size };
      ci = co;
      return spec;
    });
    const dec = await Promise.all(decSpecs.map(async ({ ci, co, size }, i): Promise<DecLayer> => {
      const deconv = await ConvTranspose2d.create(gpu, {
        batch: N,
        inChannels: ci,
        outChannels: co,
        height: size,
        width: size,
        kernel: 5,
        stride: 2,
        pad: 1,
      });
      const out = deconv.outHeight;
      const n = N * co * out * out;
      return {
        deconv,
        bn: await BatchNorm2d.create(gpu, { batch: N, channels: co, height: out, width: out }),
        relu: await Activation.create(gpu, "relu", n),
        t: f(`dec${i + 1}.deconv`, n),
        b: f(`dec${i + 1}.bn`, n),
        a: f(`dec${i + 1}.relu`, n),
        dT: f(`dec${i + 1}.d_deconv`, n),
        dB: f(`dec${i + 1}.d_bn`, n),
        dA: f(`dec${i + 1}.d_relu`, n),
      };
    }));
    const [encHead, decHead, sigmoid, rng, reparam, loss] = await Promise.all([
      Linear.create(gpu, { batch: N, inFeatures: FLAT, outFeatures: 2 * L }),
      Linear.create(gpu, { batch: N, inFeatures: DEC_FLAT, outFeatures: PIXELS }),
      Activation.create(gpu, "sigmoid", N * PIXELS),
      Rng.create(gpu),
      Reparam.create(gpu, N, L),
      BernoulliKl.create(gpu, N, PIXELS, L),
    ]);
    return new ConvGraph(vae, batch, { enc, dec, encHead, decHead, sigmoid, rng, reparam, loss });
  }

  /** h (N, 2 latent) = encoder(x (N, 1, 28, 28)). */
  encode(rec: Recorder, h: Tensor = this.h, x: Tensor = this.x): void {
    const v = this.vae;
    let input: Tensor = x;
    this.#enc.forEach((l, i) => {
      l.conv.forward(rec, l.c, input, v.p(`enc.conv${i + 1}.weight`), v.p(`enc.conv${i + 1}.bias`));
      l.relu.forward(rec, l.r, l.c);
      l.pool.forward(rec, l.p, l.r);
      input = l.p;
    });
    this.#encHead.forward(rec, h, input, v.p("enc.head.weight"), v.p("enc.head.bias"));
  }

  /** logits (N, 784) = decoder(z (N, latent)); batch norm uses batch statistics in train mode. */
  decode(rec: Recorder, mode: Mode, logits: Tensor = this.logits, z: Tensor = this.z): void {
    const v = this.vae;
    let input: Tensor = z;
    this.#dec.forEach((l, i) => {
      const k = i + 1;
      l.deconv.forward(rec, l.t, input, v.p(`dec.deconv${k}.weight`), v.p(`dec.deconv${k}.bias`));
      const args = [
        rec,
        l.b,
        l.t,
        v.p(`dec.bn${k}.weight`),
        v.p(`dec.bn${k}.bias`),
        v.s(`dec.bn${k}.running_mean`),
        v.s(`dec.bn${k}.running_var`),
      ] as const;
      if (mode === "train") l.bn.forwardTrain(...args);
      else l.bn.forwardEval(...args);
      l.relu.forward(rec, l.a, l.b);
      input = l.a;
    });
    this.#decHead.forward(rec, logits, input, v.p("dec.head.weight"), v.p("dec.head.bias"));
  }

  /** Bernoulli means (N, 784) = sigmoid(decoder(z)) in eval mode; returns the buffer. */
  decodeMeans(rec: Recorder, z: Tensor = this.z): GPUBuffer {
    this.decode(rec, "eval", this.logits, z);
    this.#sigmoid.forward(rec, this.probs, this.logits);
    return this.probs;
  }

  reparameterize(rec: Recorder): void {
    this.#reparam.forward(rec, this.z, this.h, this.eps);
  }

  sampleEps(rec: Recorder, seed: number, counter: number): void {
    this.#rng.normal(rec, this.eps, this.batch * this.vae.config.latent, seed, counter);
  }

  forwardLoss(rec: Recorder, sums: Tensor, slot: number, mode: Mode, encode = true): void {
    if (encode) this.encode(rec);
    this.reparameterize(rec);
    this.decode(rec, mode);
    this.#loss.forward(rec, this.perImage, sums, this.logits, this.x, this.h, slot);
  }

  backward(rec: Recorder): void {
    const v = this.vae;
    this.#loss.backward(
      rec,
      this.#dLogits,
      this.#dH,
      this.logits,
      this.x,
      this.h,
      undefined,
      1 / this.batch,
    );
    const last = this.#dec[this.#dec.length - 1];
    this.#decHead.backward(
      rec,
      last.dA,
      v.g("dec.head.weight"),
      v.g("dec.head.bias"),
      this.#dLogits,
      last.a,
      v.p("dec.head.weight"),
    );
    for (let i = this.#dec.length - 1; i >= 0; i--) {
      const l = this.#dec[i], k = i + 1;
      l.relu.backward(rec, l.dB, l.dA, l.b);
      l.bn.backward(
        rec,
        l.dT,
        v.g(`dec.bn${k}.weight`),
        v.g(`dec.bn${k}.bias`),
        l.dB,
        l.t,
        v.p(`dec.bn${k}.weight`),
      );
      const input = i > 0 ? this.#dec[i - 1].a : this.z;
      const dInput = i > 0 ? this.#dec[i - 1].dA : this.#dZ;
      l.deconv.backward(
        rec,
        dInput,
        v.g(`dec.deconv${k}.weight`),
        v.g(`dec.deconv${k}.bias`),
        l.dT,
        input,
        v.p(`dec.deconv${k}.weight`),
      );
    }
    this.#reparam.backward(rec, this.#dH, this.#dZ, this.eps, this.h);
    const top = this.#enc[this.#enc.length - 1];
    this.#encHead.backward(
      rec,
      top.dP,
      v.g("enc.head.weight"),
      v.g("enc.head.bias"),
      this.#dH,
      top.p,
      v.p("enc.head.weight"),
    );
    for (let i = this.#enc.length - 1; i >= 0; i--) {
      const l = this.#enc[i], k = i + 1;
      l.pool.backward(rec, l.dR, l.dP);
      l.relu.backward(rec, l.dC, l.dR, l.c);
      const input = i > 0 ? this.#enc[i - 1].p : this.x;
      const dInput = i > 0 ? this.#enc[i - 1].dP : null;
      l.conv.backward(
        rec,
        dInput,
        v.g(`enc.conv${k}.weight`),
        v.g(`enc.conv${k}.bias`),
        l.dC,
        input,
        v.p(`enc.conv${k}.weight`),
      );
    }
  }

  activations(): [string, GPUBuffer][] {
    return [
      ["input x", this.x],
      ...this.#enc.map((l, i): [string, GPUBuffer] => [`encoder conv${i + 1}`, l.c]),
      ["encoder head (mu, logvar)", this.h],
      ["reparameterized z", this.z],
      ...this.#dec.flatMap((l, i): [string, GPUBuffer][] => [
        [`decoder deconv${i + 1}`, l.t],
        [`decoder bn${i + 1}`, l.b],
      ]),
      ["decoder head (logits)", this.logits],
      ["loss (recon, KL)", this.perImage],
      ["d logits", this.#dLogits],
      ["d (mu, logvar)", this.#dH],
      ...this.#enc.map((l, i): [string, GPUBuffer] => [`d encoder conv${i + 1}`, l.dC]),
    ];
  }
}
