/**
 * The MLP VAE networks (SPEC.md model 2, Kingma & Welling) for the generic graph:
 * encoder pixels -> hidden (activation) -> 2 latent rows [mu | logvar] (the two heads are one
 * linear layer, so the input gradient is one kernel); decoder latent -> hidden (activation)
 * -> pixels W, the likelihood's head.
 */

import type { Gpu, Recorder, Tensor } from "../gpu/gpu.ts";
import { Activation, type ActivationKind } from "../ops/activation.ts";
import { Linear } from "../ops/linear.ts";
import type { Architecture, Decoder, Encoder, Mode, ParamAccess } from "../model/network.ts";
import { ParamLayout } from "../model/params.ts";

export interface MlpConfig {
  pixels: number;
  hidden: number;
  latent: number;
  activation: ActivationKind;
}

/** The parameter layout of an MLP VAE; names match src/mlp/densities.ts. */
export function mlpLayout(c: MlpConfig, width = 1): ParamLayout {
  const layout = new ParamLayout();
  layout.add("enc.fc1.weight", [c.hidden, c.pixels]);
  layout.add("enc.fc1.bias", [c.hidden]);
  layout.add("enc.fc2.weight", [2 * c.latent, c.hidden]);
  layout.add("enc.fc2.bias", [2 * c.latent]);
  layout.add("dec.fc1.weight", [c.hidden, c.latent]);
  layout.add("dec.fc1.bias", [c.hidden]);
  layout.add("dec.fc2.weight", [c.pixels * width, c.hidden]);
  layout.add("dec.fc2.bias", [c.pixels * width]);
  return layout;
}

export function mlpArchitecture(config: MlpConfig, width: number): Architecture {
  return {
    kind: "mlp",
    latent: config.latent,
    params: mlpLayout(config, width),
    state: null,
    describe: () => ({ model: "mlp", ...config }),
    async networks(gpu, batch, access) {
      const [encoder, decoder] = await Promise.all([
        MlpEncoder.create(gpu, batch, config, access),
        MlpDecoder.create(gpu, batch, config, width, access),
      ]);
      return { encoder, decoder };
    },
  };
}

/** tanh and sigmoid differentiate from their output; ReLU-like ones from their input. */
function _saved(kind: ActivationKind, output: GPUBuffer, input: GPUBuffer): GPUBuffer {
  return kind === "tanh" || kind === "sigmoid" ? output : input;
}

export class MlpEncoder implements Encoder {
  readonly #v: ParamAccess;
  readonly #kind: ActivationKind;
  readonly #fc1: Linear;
  readonly #fc2: Linear;
  readonly #act: Activation;
  readonly #pre: GPUBuffer;
  readonly #post: GPUBuffer;
  readonly #dPost: GPUBuffer;
  readonly #dPre: GPUBuffer;

  private constructor(
    gpu: Gpu,
    N: number,
    c: MlpConfig,
    v: ParamAccess,
    ops: [Linear, Linear, Activation],
  ) {
    const f = (label: string, n: number) => gpu.storage(label, n * 4);
    this.#v = v;
    this.#kind = c.activation;
    [this.#fc1, this.#fc2, this.#act] = ops;
    this.#pre = f("enc_pre", N * c.hidden);
    this.#post = f("enc_act", N * c.hidden);
    this.#dPost = f("d_enc_act", N * c.hidden);
    this.#dPre = f("d_enc_pre", N * c.hidden);
  }

  static async create(gpu: Gpu, N: number, c: MlpConfig, v: ParamAccess): Promise<MlpEncoder> {
    const ops = await Promise.all([
      Linear.create(gpu, { batch: N, inFeatures: c.pixels, outFeatures: c.hidden }),
      Linear.create(gpu, { batch: N, inFeatures: c.hidden, outFeatures: 2 * c.latent }),
      Activation.create(gpu, c.activation, N * c.hidden),
    ]);
    return new MlpEncoder(gpu, N, c, v, ops);
  }

  forward(rec: Recorder, h: Tensor, x: Tensor, _mode: Mode): void {
    const v = this.#v;
    this.#fc1.forward(rec, this.#pre, x, v.p("enc.fc1.weight"), v.p("enc.fc1.bias"));
    this.#act.forward(rec, this.#post, this.#pre);
    this.#fc2.forward(rec, h, this.#post, v.p("enc.fc2.weight"), v.p("enc.fc2.bias"));
  }

  backward(rec: Recorder, dH: Tensor, x: Tensor): void {
    const v = this.#v;
    this.#fc2.backward(
      rec,
      this.#dPost,
      v.g("enc.fc2.weight"),
      v.g("enc.fc2.bias"),
      dH,
      this.#post,
      v.p("enc.fc2.weight"),
    );
    this.#act.backward(rec, this.#dPre, this.#dPost, _saved(this.#kind, this.#post, this.#pre));
    this.#fc1.backward(
      rec,
      null,
      v.g("enc.fc1.weight"),
      v.g("enc.fc1.bias"),
      this.#dPre,
      x,
      v.p("enc.fc1.weight"),
    );
  }

  activations(): [string, GPUBuffer][] {
    return [["encoder fc1", this.#pre], [`encoder fc1 ${this.#kind}`, this.#post]];
  }
}

export class MlpDecoder implements Decoder {
  readonly #v: ParamAccess;
  readonly #kind: ActivationKind;
  readonly #fc1: Linear;
  readonly #fc2: Linear;
  readonly #act: Activation;
  readonly #pre: GPUBuffer;
  readonly #post: GPUBuffer;
  readonly #dPost: GPUBuffer;
  readonly #dPre: GPUBuffer;

  private constructor(
    gpu: Gpu,
    N: number,
    c: MlpConfig,
    v: ParamAccess,
    ops: [Linear, Linear, Activation],
  ) {
    const f = (label: string, n: number) => gpu.storage(label, n * 4);
    this.#v = v;
    this.#kind = c.activation;
    [this.#fc1, this.#fc2, this.#act] = ops;
    this.#pre = f("dec_pre", N * c.hidden);
    this.#post = f("dec_act", N * c.hidden);
    this.#dPost = f("d_dec_act", N * c.hidden);
    this.#dPre = f("d_dec_pre", N * c.hidden);
  }

  static async create(
    gpu: Gpu,
    N: number,
    c: MlpConfig,
    width: number,
    v: ParamAccess,
  ): Promise<MlpDecoder> {
    const ops = await Promise.all([
      Linear.create(gpu, { batch: N, inFeatures: c.latent, outFeatures: c.hidden }),
      Linear.create(gpu, { batch: N, inFeatures: c.hidden, outFeatures: c.pixels * width }),
      Activation.create(gpu, c.activation, N * c.hidden),
    ]);
    return new MlpDecoder(gpu, N, c, v, ops);
  }

  forward(rec: Recorder, out: Tensor, z: Tensor, _mode: Mode): void {
    const v = this.#v;
    this.#fc1.forward(rec, this.#pre, z, v.p("dec.fc1.weight"), v.p("dec.fc1.bias"));
    this.#act.forward(rec, this.#post, this.#pre);
    this.#fc2.forward(rec, out, this.#post, v.p("dec.fc2.weight"), v.p("dec.fc2.bias"));
  }

  backward(rec: Recorder, dZ: Tensor, dOut: Tensor, z: Tensor, o: { weights: boolean }): void {
    const v = this.#v;
    const saved = _saved(this.#kind, this.#post, this.#pre);
    if (o.weights) {
      this.#fc2.backward(
        rec,
        this.#dPost,
        v.g("dec.fc2.weight"),
        v.g("dec.fc2.bias"),
        dOut,
        this.#post,
        v.p("dec.fc2.weight"),
      );
      this.#act.backward(rec, this.#dPre, this.#dPost, saved);
      this.#fc1.backward(
        rec,
        dZ,
        v.g("dec.fc1.weight"),
        v.g("dec.fc1.bias"),
        this.#dPre,
        z,
        v.p("dec.fc1.weight"),
      );
    } else {
      this.#fc2.backwardInput(rec, this.#dPost, dOut, v.p("dec.fc2.weight"));
      this.#act.backward(rec, this.#dPre, this.#dPost, saved);
      this.#fc1.backwardInput(rec, dZ, this.#dPre, v.p("dec.fc1.weight"));
    }
  }

  activations(): [string, GPUBuffer][] {
    return [["decoder fc1", this.#pre], [`decoder fc1 ${this.#kind}`, this.#post]];
  }
}
