/**
 * The MLP VAE on the GPU (SPEC.md model 2, Kingma & Welling):
 * encoder 784 -> hidden (tanh) -> (mu, logvar); decoder latent -> hidden (tanh)
 * -> 784 Bernoulli logits. The encoder's two heads are one linear layer with
 * 2 * latent outputs, rows [mu | logvar], so its input gradient comes from one
 * kernel.
 *
 * `MlpVae` owns the flat parameter buffer; `MlpGraph` holds the ops and
 * activation buffers for one batch size and records forward, backward and
 * evaluation passes into a Recorder.
 */

import type { Gpu, Recorder, Tensor } from "../gpu/gpu.ts";
import { Activation, type ActivationKind } from "../ops/activation.ts";
import { BernoulliKl } from "../ops/bernoulli_kl.ts";
import { Linear } from "../ops/linear.ts";
import { Reparam } from "../ops/reparam.ts";
import { Rng } from "../ops/rng.ts";
import { initUniform, ParamLayout } from "../model/params.ts";
import { seededRandom } from "../random.ts";
import type { Mode, VaeGraph, VaeModel } from "../train/model.ts";
import { loadCheckpoint, restore } from "../train/checkpoint.ts";
import { CheckpointError } from "../checkpoint.ts";

export interface MlpConfig {
  pixels: number;
  hidden: number;
  latent: number;
  activation: ActivationKind;
}

export const KINGMA_WELLING: MlpConfig = {
  pixels: 784,
  hidden: 500,
  latent: 2,
  activation: "tanh",
};

/** The parameter layout of an MLP VAE; names match src/mlp/densities.ts. */
export function mlpLayout(c: MlpConfig): ParamLayout {
  const layout = new ParamLayout();
  layout.add("enc.fc1.weight", [c.hidden, c.pixels]);
  layout.add("enc.fc1.bias", [c.hidden]);
  layout.add("enc.fc2.weight", [2 * c.latent, c.hidden]);
  layout.add("enc.fc2.bias", [2 * c.latent]);
  layout.add("dec.fc1.weight", [c.hidden, c.latent]);
  layout.add("dec.fc1.bias", [c.hidden]);
  layout.add("dec.fc2.weight", [c.pixels, c.hidden]);
  layout.add("dec.fc2.bias", [c.pixels]);
  return layout;
}

/** PyTorch-default initial parameters, flat, from a seed. */
export function initMlpParams(layout: ParamLayout, seed: number): Float32Array {
  const rand = seededRandom(seed);
  const t: Record<string, Float32Array> = {};
  for (const s of layout.specs) {
    const fanIn = s.name.endsWith(".weight")
      ? s.shape[1]
      : layout.get(s.name.replace("bias", "weight")).shape[1];
    t[s.name] = initUniform(s.size, fanIn, rand);
  }
  return layout.join(t);
}

export class MlpVae implements VaeModel {
  readonly kind = "mlp";
  readonly state = null;
  readonly gpu: Gpu;
  readonly config: MlpConfig;
  readonly layout: ParamLayout;
  /** Parameters, gradients, Adam's first and second moments: one layout each. */
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  readonly #graphs = new Map<number, MlpGraph>();

  constructor(gpu: Gpu, config: MlpConfig, initial: Float32Array) {
    this.gpu = gpu;
    this.config = config;
    this.layout = mlpLayout(config);
    if (initial.length !== this.layout.total) {
      throw new RangeError(
        `Cannot build MLP VAE: ${initial.length} parameters given, layout needs ${this.layout.total}`,
      );
    }
    this.params = gpu.storage("mlp.params", initial);
    this.grads = this.layout.allocate(gpu, "mlp.grads");
    this.m = this.layout.allocate(gpu, "mlp.adam_m");
    this.v = this.layout.allocate(gpu, "mlp.adam_v");
  }

  get latent(): number {
    return this.config.latent;
  }

  describe(): Record<string, unknown> {
    return { model: "mlp", ...this.config };
  }

  p(name: string): Tensor {
    return this.layout.binding(this.params, name);
  }

  g(name: string): Tensor {
    return this.layout.binding(this.grads, name);
  }

  /** The ops and buffers for batches of `batch` images (built once per size). */
  async graph(batch: number): Promise<MlpGraph> {
    let g = this.#graphs.get(batch);
    if (!g) {
      g = await MlpGraph.create(this, batch);
      this.#graphs.set(batch, g);
    }
    return g;
  }

  /** The model stored in a checkpoint (its config, its trained parameters). */
  static async load(gpu: Gpu, path: string, hint: string): Promise<MlpVae> {
    const ckpt = await loadCheckpoint(path, hint);
    const c = ckpt.config;
    if (c.model !== "mlp") {
      throw new CheckpointError(path, `it holds a "${c.model}" model, this task needs an MLP VAE`);
    }
    const config: MlpConfig = {
      pixels: Number(c.pixels),
      hidden: Number(c.hidden),
      latent: Number(c.latent),
      activation: c.activation as ActivationKind,
    };
    const vae = new MlpVae(gpu, config, new Float32Array(mlpLayout(config).total));
    restore(vae, ckpt);
    return vae;
  }

  /** Parameters as named f64 arrays, for the CPU densities in densities.ts. */
  async parameters(): Promise<Record<string, Float64Array>> {
    const flat = await this.gpu.readF32(this.params);
    const out: Record<string, Float64Array> = {};
    for (const [k, v] of Object.entries(this.layout.split(flat))) out[k] = Float64Array.from(v);
    return out;
  }
}

interface MlpOps {
  enc1: Linear;
  enc2: Linear;
  dec1: Linear;
  dec2: Linear;
  act: Activation;
  sigmoid: Activation;
  rng: Rng;
  reparam: Reparam;
  loss: BernoulliKl;
}

/** One batch size's ops and activations. Buffers named as in the forward pass. */
export class MlpGraph implements VaeGraph {
  readonly batch: number;
  readonly vae: MlpVae;
  /** Input batch (N, pixels): gathered here by the trainer. */
  readonly x: GPUBuffer;
  /** Encoder output (N, 2 latent): [mu | logvar]. */
  readonly h: GPUBuffer;
  readonly eps: GPUBuffer;
  readonly z: GPUBuffer;
  readonly logits: GPUBuffer;
  /** Per image [recon NLL, KL] (N, 2). */
  readonly perImage: GPUBuffer;
  readonly #b: Record<string, GPUBuffer>;
  readonly #ops: MlpOps;

  private constructor(vae: MlpVae, batch: number, ops: MlpOps) {
    const gpu = vae.gpu, c = vae.config, N = batch;
    this.vae = vae;
    this.batch = batch;
    this.#ops = ops;
    const f = (label: string, n: number) => gpu.storage(label, n * 4);
    this.x = f("x", N * c.pixels);
    this.h = f("h", N * 2 * c.latent);
    this.eps = f("eps", N * c.latent);
    this.z = f("z", N * c.latent);
    this.logits = f("logits", N * c.pixels);
    this.perImage = f("per_image", N * 2);
    this.#b = {
      encPre: f("enc_pre", N * c.hidden),
      encAct: f("enc_act", N * c.hidden),
      decPre: f("dec_pre", N * c.hidden),
      decAct: f("dec_act", N * c.hidden),
      dLogits: f("d_logits", N * c.pixels),
      dDecAct: f("d_dec_act", N * c.hidden),
      dDecPre: f("d_dec_pre", N * c.hidden),
      dZ: f("d_z", N * c.latent),
      dH: f("d_h", N * 2 * c.latent),
      dEncAct: f("d_enc_act", N * c.hidden),
      dEncPre: f("d_enc_pre", N * c.hidden),
      probs: f("probs", N * c.pixels),
    };
  }

  static async create(vae: MlpVae, batch: number): Promise<MlpGraph> {
    const gpu = vae.gpu, c = vae.config, N = batch;
    const [enc1, enc2, dec1, dec2, act, sigmoid, rng, reparam, loss] = await Promise.all([
      Linear.create(gpu, { batch: N, inFeatures: c.pixels, outFeatures: c.hidden }),
      Linear.create(gpu, { batch: N, inFeatures: c.hidden, outFeatures: 2 * c.latent }),
      Linear.create(gpu, { batch: N, inFeatures: c.latent, outFeatures: c.hidden }),
      Linear.create(gpu, { batch: N, inFeatures: c.hidden, outFeatures: c.pixels }),
      Activation.create(gpu, c.activation, N * c.hidden),
      Activation.create(gpu, "sigmoid", N * c.pixels),
      Rng.create(gpu),
      Reparam.create(gpu, N, c.latent),
      BernoulliKl.create(gpu, N, c.pixels, c.latent),
    ]);
    return new MlpGraph(vae, batch, { enc1, enc2, dec1, dec2, act, sigmoid, rng, reparam, loss });
  }

  /** h (N, 2 latent) = encoder(x (N, pixels)). */
  encode(rec: Recorder, h: Tensor = this.h, x: Tensor = this.x): void {
    const v = this.vae, o = this.#ops, b = this.#b;
    o.enc1.forward(rec, b.encPre, x, v.p("enc.fc1.weight"), v.p("enc.fc1.bias"));
    o.act.forward(rec, b.encAct, b.encPre);
    o.enc2.forward(rec, h, b.encAct, v.p("enc.fc2.weight"), v.p("enc.fc2.bias"));
  }

  /** logits (N, pixels) = decoder(z (N, latent)). */
  decode(rec: Recorder, logits: Tensor = this.logits, z: Tensor = this.z): void {
    const v = this.vae, o = this.#ops, b = this.#b;
    o.dec1.forward(rec, b.decPre, z, v.p("dec.fc1.weight"), v.p("dec.fc1.bias"));
    o.act.forward(rec, b.decAct, b.decPre);
    o.dec2.forward(rec, logits, b.decAct, v.p("dec.fc2.weight"), v.p("dec.fc2.bias"));
  }

  /** Bernoulli means (N, pixels) = sigmoid(decoder(z)); returns the buffer holding them. */
  decodeMeans(rec: Recorder, z: Tensor = this.z): GPUBuffer {
    this.decode(rec, this.logits, z);
    this.#ops.sigmoid.forward(rec, this.#b.probs, this.logits);
    return this.#b.probs;
  }

  /** z = mu + exp(logvar / 2) eps, from this.h and this.eps. */
  reparameterize(rec: Recorder): void {
    this.#ops.reparam.forward(rec, this.z, this.h, this.eps);
  }

  /** eps ~ N(0, I) from the counter-based generator at stream position `counter`. */
  sampleEps(rec: Recorder, seed: number, counter: number): void {
    this.#ops.rng.normal(rec, this.eps, this.batch * this.vae.config.latent, seed, counter);
  }

  /**
   * Forward pass to the per-image loss terms: encode x, z = mu + sigma eps
   * (eps already in `this.eps`), decode, Bernoulli NLL + KL into perImage and
   * the batch sums into sums[slot].
   */
  forwardLoss(
    rec: Recorder,
    sums: Tensor,
    slot: number,
    _mode: Mode = "train",
    encode = true,
  ): void {
    if (encode) this.encode(rec);
    this.#ops.reparam.forward(rec, this.z, this.h, this.eps);
    this.decode(rec);
    this.#ops.loss.forward(rec, this.perImage, sums, this.logits, this.x, this.h, slot);
  }

  activations(): [string, GPUBuffer][] {
    const b = this.#b;
    return [
      ["input x", this.x],
      ["encoder fc1", b.encPre],
      ["encoder fc2 (mu, logvar)", this.h],
      ["reparameterized z", this.z],
      ["decoder fc1", b.decPre],
      ["decoder fc2 (logits)", this.logits],
      ["loss (recon, KL)", this.perImage],
      ["d logits", b.dLogits],
      ["d (mu, logvar)", b.dH],
      ["d encoder fc1", b.dEncPre],
    ];
  }

  /** Gradients of the batch-mean loss into the model's grads buffer (after forwardLoss). */
  backward(rec: Recorder): void {
    const v = this.vae, o = this.#ops, b = this.#b;
    o.loss.backward(rec, b.dLogits, b.dH, this.logits, this.x, this.h, undefined, 1 / this.batch);
    o.dec2.backward(
      rec,
      b.dDecAct,
      v.g("dec.fc2.weight"),
      v.g("dec.fc2.bias"),
      b.dLogits,
      b.decAct,
      v.p("dec.fc2.weight"),
    );
    o.act.backward(rec, b.dDecPre, b.dDecAct, this.#savedFor(b.decAct, b.decPre));
    o.dec1.backward(
      rec,
      b.dZ,
      v.g("dec.fc1.weight"),
      v.g("dec.fc1.bias"),
      b.dDecPre,
      this.z,
      v.p("dec.fc1.weight"),
    );
    o.reparam.backward(rec, b.dH, b.dZ, this.eps, this.h);
    o.enc2.backward(
      rec,
      b.dEncAct,
      v.g("enc.fc2.weight"),
      v.g("enc.fc2.bias"),
      b.dH,
      b.encAct,
      v.p("enc.fc2.weight"),
    );
    o.act.backward(rec, b.dEncPre, b.dEncAct, this.#savedFor(b.encAct, b.encPre));
    o.enc1.backward(
      rec,
      null,
      v.g("enc.fc1.weight"),
      v.g("enc.fc1.bias"),
      b.dEncPre,
      this.x,
      v.p("enc.fc1.weight"),
    );
  }

  /** tanh and sigmoid differentiate from their output; ReLU-like ones from their input. */
  #savedFor(output: GPUBuffer, input: GPUBuffer): GPUBuffer {
    const k = this.vae.config.activation;
    return k === "tanh" || k === "sigmoid" ? output : input;
  }
}
