/**
 * The course's conv VAE networks for the generic graph.
 * Encoder: conv 1->32 5x5 pad 2, ReLU, maxpool 2; conv 32->64 5x5 pad 2, ReLU, maxpool 2;
 * conv 64->128 3x3 pad 1, ReLU, maxpool 2 (7x7 -> 3x3), each ReLU in its pool's pass
 * (MaxPool2d relu); flatten 1152; one linear head
 * 1152 -> 2 latent giving rows [mu | logvar].
 * Decoder: z as a (latent, 1, 1) map; transposed convs 5x5 stride 2 pad 1, latent->128 (3x3),
 * 128->64 (7x7), 64->32 (15x15), 32->1 (31x31), each followed by batch norm and ReLU (one
 * pass: BatchNorm2d relu);
 * flatten 961; linear 961 -> 784 W, the likelihood's W numbers per pixel.
 */

import type { Gpu, Recorder, Tensor } from "../gpu/gpu.ts";
import { BatchNorm2d } from "../ops/batchnorm.ts";
import { Conv2d } from "../ops/conv2d.ts";
import { ConvTranspose2d } from "../ops/conv_transpose2d.ts";
import { Linear } from "../ops/linear.ts";
import { MaxPool2d } from "../ops/maxpool.ts";
import type { Architecture, Decoder, Encoder, Mode, ParamAccess } from "../model/network.ts";
import { type ConvConfig, convLayout, DEC, DEC_FLAT, ENC, FLAT, PIXELS } from "./layout.ts";

interface EncLayer {
  conv: Conv2d;
  /** The pool of relu(conv out): ReLU and pool in one pass each way. */
  pool: MaxPool2d;
  /** conv out, pool out; gradients of the same. */
  c: GPUBuffer;
  p: GPUBuffer;
  dC: GPUBuffer;
  dP: GPUBuffer;
}

interface DecLayer {
  deconv: ConvTranspose2d;
  /** Batch norm and its ReLU in one pass each way (BatchNorm2d relu). */
  bn: BatchNorm2d;
  /** deconv out, relu(batch norm) out; gradients of the same. */
  t: GPUBuffer;
  a: GPUBuffer;
  dT: GPUBuffer;
  dA: GPUBuffer;
}

/** The conv VAE's architecture for a likelihood of `width` head numbers per pixel. */
export function convArchitecture(config: ConvConfig, width: number): Architecture {
  const { params, state } = convLayout(config, width);
  return {
    kind: "conv",
    latent: config.latent,
    params,
    state,
    describe: () => ({ model: "conv", latent: config.latent }),
    async networks(gpu, batch, access) {
      const [encoder, decoder] = await Promise.all([
        ConvEncoder.create(gpu, batch, config.latent, access),
        ConvDecoder.create(gpu, batch, config.latent, width, access),
      ]);
      return { encoder, decoder };
    },
  };
}

class ConvEncoder implements Encoder {
  readonly #v: ParamAccess;
  readonly #layers: EncLayer[];
  readonly #head: Linear;

  private constructor(v: ParamAccess, layers: EncLayer[], head: Linear) {
    this.#v = v;
    this.#layers = layers;
    this.#head = head;
  }

  static async create(gpu: Gpu, N: number, L: number, v: ParamAccess): Promise<ConvEncoder> {
    const f = (label: string, n: number) => gpu.storage(label, n * 4);
    const layers = await Promise.all(ENC.map(async ([ci, co, k, pad, size], i) => {
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
        relu: true,
      });
      const np = N * co * pool.outHeight * pool.outWidth;
      return {
        conv,
        pool,
        c: f(`enc${i + 1}.conv`, n),
        p: f(`enc${i + 1}.pool`, np),
        dC: f(`enc${i + 1}.d_conv`, n),
        dP: f(`enc${i + 1}.d_pool`, np),
      };
    }));
    const head = await Linear.create(gpu, { batch: N, inFeatures: FLAT, outFeatures: 2 * L });
    return new ConvEncoder(v, layers, head);
  }

  forward(rec: Recorder, h: Tensor, x: Tensor, _mode: Mode): void {
    const v = this.#v;
    let input: Tensor = x;
    this.#layers.forEach((l, i) => {
      l.conv.forward(rec, l.c, input, v.p(`enc.conv${i + 1}.weight`), v.p(`enc.conv${i + 1}.bias`));
      l.pool.forward(rec, l.p, l.c);
      input = l.p;
    });
    this.#head.forward(rec, h, input, v.p("enc.head.weight"), v.p("enc.head.bias"));
  }

  backward(rec: Recorder, dH: Tensor, x: Tensor): void {
    const v = this.#v, enc = this.#layers;
    const top = enc[enc.length - 1];
    this.#head.backward(
      rec,
      top.dP,
      v.g("enc.head.weight"),
      v.g("enc.head.bias"),
      dH,
      top.p,
      v.p("enc.head.weight"),
    );
    for (let i = enc.length - 1; i >= 0; i--) {
      const l = enc[i], k = i + 1;
      l.pool.backward(rec, l.dC, l.dP);
      const input = i > 0 ? enc[i - 1].p : x;
      const dInput = i > 0 ? enc[i - 1].dP : null;
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
      ...this.#layers.flatMap((l, i): [string, GPUBuffer][] => [
        [`encoder conv${i + 1}`, l.c],
        [`encoder pool${i + 1}`, l.p],
      ]),
    ];
  }
}

class ConvDecoder implements Decoder {
  readonly #v: ParamAccess;
  readonly #layers: DecLayer[];
  readonly #head: Linear;

  private constructor(v: ParamAccess, layers: DecLayer[], head: Linear) {
    this.#v = v;
    this.#layers = layers;
    this.#head = head;
  }

  static async create(
    gpu: Gpu,
    N: number,
    L: number,
    width: number,
    v: ParamAccess,
  ): Promise<ConvDecoder> {
    const f = (label: string, n: number) => gpu.storage(label, n * 4);
    let ci = L;
    const specs = DEC.map(([co, size]) => {
      const spec = { ci, co, size };
      ci = co;
      return spec;
    });
    const layers = await Promise.all(specs.map(async ({ ci, co, size }, i) => {
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
        bn: await BatchNorm2d.create(gpu, {
          batch: N,
          channels: co,
          height: out,
          width: out,
          relu: true,
        }),
        t: f(`dec${i + 1}.deconv`, n),
        a: f(`dec${i + 1}.bn_relu`, n),
        dT: f(`dec${i + 1}.d_deconv`, n),
        dA: f(`dec${i + 1}.d_bn_relu`, n),
      };
    }));
    const head = await Linear.create(gpu, {
      batch: N,
      inFeatures: DEC_FLAT,
      outFeatures: PIXELS * width,
    });
    return new ConvDecoder(v, layers, head);
  }

  forward(rec: Recorder, out: Tensor, z: Tensor, mode: Mode): void {
    const v = this.#v;
    let input: Tensor = z;
    this.#layers.forEach((l, i) => {
      const k = i + 1;
      l.deconv.forward(rec, l.t, input, v.p(`dec.deconv${k}.weight`), v.p(`dec.deconv${k}.bias`));
      const args = [
        rec,
        l.a,
        l.t,
        v.p(`dec.bn${k}.weight`),
        v.p(`dec.bn${k}.bias`),
        v.s(`dec.bn${k}.running_mean`),
        v.s(`dec.bn${k}.running_var`),
      ] as const;
      if (mode === "train") l.bn.forwardTrain(...args);
      else l.bn.forwardEval(...args);
      input = l.a;
    });
    this.#head.forward(rec, out, input, v.p("dec.head.weight"), v.p("dec.head.bias"));
  }

  backward(rec: Recorder, dZ: Tensor, dOut: Tensor, z: Tensor, o: { weights: boolean }): void {
    const v = this.#v, dec = this.#layers;
    const last = dec[dec.length - 1];
    if (o.weights) {
      this.#head.backward(
        rec,
        last.dA,
        v.g("dec.head.weight"),
        v.g("dec.head.bias"),
        dOut,
        last.a,
        v.p("dec.head.weight"),
      );
    } else {
      this.#head.backwardInput(rec, last.dA, dOut, v.p("dec.head.weight"));
    }
    for (let i = dec.length - 1; i >= 0; i--) {
      const l = dec[i], k = i + 1;
      // Batch norm (with its ReLU) follows its last forward's mode: through the batch
      // statistics after a train-mode forward, with the running statistics as constants after
      // an eval one.
      l.bn.backward(
        rec,
        l.dT,
        v.g(`dec.bn${k}.weight`),
        v.g(`dec.bn${k}.bias`),
        l.dA,
        l.t,
        v.p(`dec.bn${k}.weight`),
        v.p(`dec.bn${k}.bias`),
      );
      const input = i > 0 ? dec[i - 1].a : z;
      const dInput = i > 0 ? dec[i - 1].dA : dZ;
      const w = v.p(`dec.deconv${k}.weight`);
      if (o.weights) {
        l.deconv.backward(
          rec,
          dInput,
          v.g(`dec.deconv${k}.weight`),
          v.g(`dec.deconv${k}.bias`),
          l.dT,
          input,
          w,
        );
      } else {
        l.deconv.backwardInput(rec, dInput, l.dT, w);
      }
    }
  }

  activations(): [string, GPUBuffer][] {
    return this.#layers.flatMap((l, i): [string, GPUBuffer][] => [
      [`decoder deconv${i + 1}`, l.t],
      [`decoder bn${i + 1} relu`, l.a],
    ]);
  }
}
