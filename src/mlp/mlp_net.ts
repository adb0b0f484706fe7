/**
 * The MLP builder behind the MLP VAE (Kingma & Welling) and the two tutorial presets, as
 * networks for the generic graph: encoder pixels -> hidden widths (each a linear
 * layer and an activation) -> one linear layer of 2 L numbers, which the head turns into rows
 * [mu | logvar] ("logvar": as they are; "sigmoid": mu = sigmoid(a), logvar = 2 log sigmoid(b),
 * the blog's sigma = sigmoid(b)); decoder latent -> the widths reversed -> pixels W, the
 * likelihood's head (which applies the output activation: Bernoulli's sigmoid, MSE's ReLU).
 * Layers are named enc.fc1 .. enc.fc{n+1} and dec.fc1 .. dec.fc{n+1}.
 */

import type { Gpu, Recorder, Tensor } from "../gpu/gpu.ts";
import { Activation, type ActivationKind } from "../ops/activation.ts";
import { Linear } from "../ops/linear.ts";
import { SigmoidHead } from "../ops/sigmoid_head.ts";
import type { Architecture, Decoder, Encoder, Mode, ParamAccess } from "../model/network.ts";
import { ParamLayout } from "../model/params.ts";

/** How the encoder's last layer parameterizes q(z | x). */
export const ENCODER_HEADS = ["logvar", "sigmoid"] as const;
/**
 * One of ENCODER_HEADS: "logvar" takes the last layer's 2L numbers as [mu | logvar]; "sigmoid"
 * as [a | b] with mu = sigmoid(a), sigma = sigmoid(b).
 */
export type EncoderHead = typeof ENCODER_HEADS[number];

/** An MLP VAE's architecture: widths, activations and encoder head. */
export interface MlpConfig {
  /** Pixels per image (784). */
  pixels: number;
  /** Hidden widths from the input side: 500, or [400, 400]; the decoder mirrors them. */
  hidden: number | number[];
  /** L, the latent dimension. */
  latent: number;
  /** The encoder's hidden activation, and the decoder's unless `decoderActivation` is set. */
  activation: ActivationKind;
  /** The decoder's hidden activation; default `activation`. */
  decoderActivation?: ActivationKind;
  /** LeakyReLU's negative slope (default 0.01, PyTorch's). */
  slope?: number;
  /** How the encoder's last layer parameterizes q(z | x); default "logvar". */
  head?: EncoderHead;
}

/** The hidden widths as a list. */
export function hiddenWidths(c: MlpConfig): number[] {
  return typeof c.hidden === "number" ? [c.hidden] : [...c.hidden];
}

/** "784-400-400-2": the encoder's widths, for tables and logs. */
export function mlpShapeText(c: MlpConfig): string {
  return [c.pixels, ...hiddenWidths(c), c.latent].join("-");
}

/** The parameter layout of an MLP VAE; names match src/mlp/densities.ts for one hidden layer. */
export function mlpLayout(c: MlpConfig, width = 1): ParamLayout {
  const layout = new ParamLayout();
  const hidden = hiddenWidths(c);
  const add = (prefix: string, widths: number[]) => {
    for (let i = 1; i < widths.length; i++) {
      layout.add(`${prefix}.fc${i}.weight`, [widths[i], widths[i - 1]]);
      layout.add(`${prefix}.fc${i}.bias`, [widths[i]]);
    }
  };
  add("enc", [c.pixels, ...hidden, 2 * c.latent]);
  add("dec", [c.latent, ...hidden.toReversed(), c.pixels * width]);
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
      const hidden = hiddenWidths(config), slope = config.slope ?? 0.01;
      const [encoder, decoder, head] = await Promise.all([
        MlpChain.create(gpu, batch, access, {
          prefix: "enc",
          widths: [config.pixels, ...hidden, 2 * config.latent],
          activation: config.activation,
          slope,
        }),
        MlpChain.create(gpu, batch, access, {
          prefix: "dec",
          widths: [config.latent, ...hidden.toReversed(), config.pixels * width],
          activation: config.decoderActivation ?? config.activation,
          slope,
        }),
        (config.head ?? "logvar") === "sigmoid"
          ? SigmoidHead.create(gpu, batch, config.latent)
          : Promise.resolve(null),
      ]);
      return { encoder: new MlpEncoder(gpu, encoder, head), decoder: new MlpDecoder(decoder) };
    },
  };
}

interface ChainSpec {
  prefix: string;
  /** Input, hidden..., output widths. */
  widths: number[];
  activation: ActivationKind;
  slope: number;
}

interface Hidden {
  /** Applies the activation itself where `pre` is null (fused into its forward kernel). */
  linear: Linear;
  act: Activation;
  /**
   * (N, width): pre-activation, activation, and their gradients; where fused, pre and dPost
   * are null (never stored: the next layer's input gradient is dPre itself).
   */
  pre: GPUBuffer | null;
  post: GPUBuffer;
  dPre: GPUBuffer;
  dPost: GPUBuffer | null;
}

/** Linear + activation layers, then a last linear layer with no activation. */
class MlpChain {
  readonly prefix: string;
  readonly kind: ActivationKind;
  readonly #v: ParamAccess;
  readonly #hidden: Hidden[];
  readonly #last: Linear;

  private constructor(spec: ChainSpec, v: ParamAccess, hidden: Hidden[], last: Linear) {
    this.prefix = spec.prefix;
    this.kind = spec.activation;
    this.#v = v;
    this.#hidden = hidden;
    this.#last = last;
  }

  static async create(gpu: Gpu, N: number, v: ParamAccess, s: ChainSpec): Promise<MlpChain> {
    const f = (label: string, n: number) => gpu.storage(label, n * 4);
    const w = s.widths, n = w.length - 1;
    // The linear kernels apply the activations and their derivatives (two dispatches fewer per
    // hidden layer) where the derivative can come from the output alone: tanh and sigmoid
    // always, ReLU and LeakyReLU while the slope keeps the output's sign that of the input.
    const fused = s.activation === "tanh" || s.activation === "sigmoid" || s.slope >= 0;
    const linears = await Promise.all(
      w.slice(1).map((out, i) =>
        Linear.create(gpu, {
          batch: N,
          inFeatures: w[i],
          outFeatures: out,
          // The hidden layers apply the activation after them, the layers after them its
          // derivative to the gradient they pass back.
          ...(fused && i < n - 1 ? { activation: s.activation } : {}),
          ...(fused && i > 0 ? { inputActivation: s.activation } : {}),
          slope: s.slope,
        })
      ),
    );
    const acts = await Promise.all(
      w.slice(1, n).map((width) => Activation.create(gpu, s.activation, N * width, s.slope)),
    );
    const hidden = acts.map((act, i): Hidden => {
      const name = `${s.prefix}_fc${i + 1}`, size = N * w[i + 1];
      return {
        linear: linears[i],
        act,
        pre: fused ? null : f(`${name}_pre`, size),
        post: f(`${name}_act`, size),
        dPre: f(`d_${name}_pre`, size),
        dPost: fused ? null : f(`d_${name}_act`, size),
      };
    });
    return new MlpChain(s, v, hidden, linears[n - 1]);
  }

  #p(i: number, what: "weight" | "bias"): Tensor {
    return this.#v.p(`${this.prefix}.fc${i + 1}.${what}`);
  }

  #g(i: number, what: "weight" | "bias"): Tensor {
    return this.#v.g(`${this.prefix}.fc${i + 1}.${what}`);
  }

  // tanh and sigmoid differentiate from their output; ReLU-like ones from their input.
  #saved(l: Hidden): GPUBuffer {
    return this.kind === "tanh" || this.kind === "sigmoid" || l.pre === null ? l.post : l.pre;
  }

  /** out (N, last width) from x (N, first width). */
  forward(rec: Recorder, out: Tensor, x: Tensor): void {
    let input = x;
    this.#hidden.forEach((l, i) => {
      const w = this.#p(i, "weight"), b = this.#p(i, "bias");
      if (l.pre === null) {
        l.linear.forward(rec, l.post, input, w, b);
      } else {
        l.linear.forward(rec, l.pre, input, w, b);
        l.act.forward(rec, l.post, l.pre);
      }
      input = l.post;
    });
    const n = this.#hidden.length;
    this.#last.forward(rec, out, input, this.#p(n, "weight"), this.#p(n, "bias"));
  }

  /**
   * From dOut (N, last width), after a forward of the same x: dX (N, first width) unless null,
   * and with `weights` every layer's weight gradients (overwritten).
   */
  backward(rec: Recorder, dX: Tensor | null, dOut: Tensor, x: Tensor, weights: boolean): void {
    const n = this.#hidden.length;
    let dY: Tensor = dOut;
    for (let i = n; i >= 0; i--) {
      const layer = i === n ? this.#last : this.#hidden[i].linear;
      const input = i === 0 ? x : this.#hidden[i - 1].post;
      const below = i === 0 ? null : this.#hidden[i - 1];
      // Fused: the input gradient is already the previous activation's input's.
      const dIn = below === null ? dX : below.dPost ?? below.dPre;
      if (weights) {
        layer.backward(
          rec,
          dIn,
          this.#g(i, "weight"),
          this.#g(i, "bias"),
          dY,
          input,
          this.#p(i, "weight"),
        );
      } else if (dIn !== null) {
        layer.backwardInput(rec, dIn, dY, this.#p(i, "weight"), { x: input });
      }
      if (below !== null) {
        if (below.dPost !== null) {
          below.act.backward(rec, below.dPre, below.dPost, this.#saved(below));
        }
        dY = below.dPre;
      }
    }
  }

  activations(who: string): [string, GPUBuffer][] {
    return this.#hidden.flatMap((l, i): [string, GPUBuffer][] => [
      ...(l.pre ? [[`${who} fc${i + 1}`, l.pre] as [string, GPUBuffer]] : []),
      [`${who} fc${i + 1} ${this.kind}`, l.post],
    ]);
  }
}

export class MlpEncoder implements Encoder {
  readonly #chain: MlpChain;
  readonly #head: SigmoidHead | null;
  /** (N, 2L) rows [a | b] before the sigmoid head, and their gradient; null without one. */
  readonly #raw: GPUBuffer | null;
  readonly #dRaw: GPUBuffer | null;

  constructor(gpu: Gpu, chain: MlpChain, head: SigmoidHead | null) {
    this.#chain = chain;
    this.#head = head;
    const size = head ? head.n * 2 * head.latent * 4 : 0;
    this.#raw = head ? gpu.storage("enc_head_raw", size) : null;
    this.#dRaw = head ? gpu.storage("d_enc_head_raw", size) : null;
  }

  forward(rec: Recorder, h: Tensor, x: Tensor, _mode: Mode): void {
    if (this.#head && this.#raw) {
      this.#chain.forward(rec, this.#raw, x);
      this.#head.forward(rec, h, this.#raw);
    } else {
      this.#chain.forward(rec, h, x);
    }
  }

  backward(rec: Recorder, dH: Tensor, x: Tensor): void {
    if (this.#head && this.#raw && this.#dRaw) {
      this.#head.backward(rec, this.#dRaw, dH, this.#raw);
      this.#chain.backward(rec, null, this.#dRaw, x, true);
    } else {
      this.#chain.backward(rec, null, dH, x, true);
    }
  }

  activations(): [string, GPUBuffer][] {
    const raw: [string, GPUBuffer][] = this.#raw
      ? [["encoder head before its sigmoids (a, b)", this.#raw]]
      : [];
    return [...this.#chain.activations("encoder"), ...raw];
  }
}

export class MlpDecoder implements Decoder {
  readonly #chain: MlpChain;

  constructor(chain: MlpChain) {
    this.#chain = chain;
  }

  forward(rec: Recorder, out: Tensor, z: Tensor, _mode: Mode): void {
    this.#chain.forward(rec, out, z);
  }

  backward(rec: Recorder, dZ: Tensor, dOut: Tensor, z: Tensor, o: { weights: boolean }): void {
    this.#chain.backward(rec, dZ, dOut, z, o.weights);
  }

  activations(): [string, GPUBuffer][] {
    return this.#chain.activations("decoder");
  }
}
