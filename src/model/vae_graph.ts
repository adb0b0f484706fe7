/**
 * One batch size's VAE graph, the same for every architecture and likelihood: encoder network,
 * reparameterization z = mu + exp(logvar / 2) eps, decoder network to a head of 784 W numbers
 * per image, and the likelihood's fused loss. Besides the training step (forwardLoss, backward)
 * it exposes the decoder-only path that the latent studies, inference without the encoder and
 * image completion build on: decode any z, the likelihood's mean image and samples, and the
 * gradient of the loss with respect to (mu, logvar) through a frozen decoder.
 */

import type { BinarizeMode, GpuDataset } from "../data/gpu_dataset.ts";
import type { Gpu, Recorder, Tensor } from "../gpu/gpu.ts";
import type { Likelihood } from "../likelihood/likelihood.ts";
import { PIXELS } from "../data/image.ts";
import { type BackwardOptions, LikelihoodLoss } from "../ops/likelihood_loss.ts";
import { LikelihoodOutput } from "../ops/likelihood_output.ts";
import { Reparam } from "../ops/reparam.ts";
import { Rng } from "../ops/rng.ts";
import { BatchFeed } from "./batch_feed.ts";
import type { Architecture, Decoder, Encoder, Mode, ParamAccess } from "./network.ts";

/**
 * What a graph needs of its model, a `Vae` (vae.ts, which builds graphs and so is not imported
 * here): its device, architecture, likelihood, latent size and parameter buffers.
 */
export interface GraphModel extends ParamAccess {
  readonly gpu: Gpu;
  readonly arch: Architecture;
  readonly likelihood: Likelihood;
  readonly latent: number;
}

/**
 * The buffers and ops of one VAE at one batch size N (made by `Vae.graph`): the training step
 * (forwardLoss, backward) and the decoder-only path (decode, decodeMeans, decodeSamples,
 * decoderBackward).
 */
export class VaeGraph {
  /** The model whose parameters this graph reads and whose gradients it writes. */
  readonly vae: GraphModel;
  /** N, the images per batch every buffer here is sized for. */
  readonly batch: number;
  /** Input batch (N, 784): the likelihood's data, gathered by a `feed`. */
  readonly x: GPUBuffer;
  /** Encoder output (N, 2L): [mu | logvar]. */
  readonly h: GPUBuffer;
  /** Standard normal noise (N, L), written by sampleEps. */
  readonly eps: GPUBuffer;
  /** Latent codes (N, L): mu + exp(logvar / 2) eps after reparameterize. */
  readonly z: GPUBuffer;
  /** Decoder head (N, 784, W), pixel-major. */
  readonly head: GPUBuffer;
  /** Per image [recon NLL, KL] (N, 2), written by forwardLoss. */
  readonly perImage: GPUBuffer;
  /** Mean images or samples (N, 784), written by decodeMeans and decodeSamples. */
  readonly image: GPUBuffer;
  /** d loss / d (mu, logvar) (N, 2L) after backward or decoderBackward. */
  readonly dH: GPUBuffer;
  readonly #encoder: Encoder;
  readonly #decoder: Decoder;
  readonly #rng: Rng;
  readonly #reparam: Reparam;
  readonly #loss: LikelihoodLoss;
  readonly #output: LikelihoodOutput;
  readonly #dHead: GPUBuffer;
  readonly #dZ: GPUBuffer;

  private constructor(vae: GraphModel, batch: number, parts: {
    encoder: Encoder;
    decoder: Decoder;
    rng: Rng;
    reparam: Reparam;
    loss: LikelihoodLoss;
    output: LikelihoodOutput;
  }) {
    const gpu = vae.gpu, N = batch, L = vae.latent, W = vae.likelihood.width;
    const f = (label: string, n: number) => gpu.storage(label, n * 4);
    this.vae = vae;
    this.batch = batch;
    this.#encoder = parts.encoder;
    this.#decoder = parts.decoder;
    this.#rng = parts.rng;
    this.#reparam = parts.reparam;
    this.#loss = parts.loss;
    this.#output = parts.output;
    this.x = f("x", N * PIXELS);
    this.h = f("h", N * 2 * L);
    this.eps = f("eps", N * L);
    this.z = f("z", N * L);
    this.head = f("head", N * PIXELS * W);
    this.perImage = f("per_image", N * 2);
    this.image = f("image", N * PIXELS);
    this.dH = f("d_h", N * 2 * L);
    this.#dHead = f("d_head", N * PIXELS * W);
    this.#dZ = f("d_z", N * L);
  }

  /** Builds the networks and the likelihood's ops for batches of `batch`; see `Vae.graph`. */
  static async create(vae: GraphModel, batch: number): Promise<VaeGraph> {
    if (!Number.isInteger(batch) || batch < 1) {
      throw new RangeError(`Cannot build a VAE graph for a batch of ${batch}: need >= 1 image`);
    }
    const gpu = vae.gpu, lik = vae.likelihood, L = vae.latent;
    const [nets, rng, reparam, loss, output] = await Promise.all([
      vae.arch.networks(gpu, batch, vae),
      Rng.create(gpu),
      Reparam.create(gpu, batch, L),
      LikelihoodLoss.create(gpu, {
        kernel: lik.kernel,
        n: batch,
        d: PIXELS,
        latent: L,
        width: lik.width,
        k: lik.k,
      }),
      LikelihoodOutput.create(gpu, {
        kernel: lik.kernel,
        n: batch,
        d: PIXELS,
        k: lik.k,
        ...lik.noise,
      }),
    ]);
    return new VaeGraph(vae, batch, { ...nets, rng, reparam, loss, output });
  }

  /**
   * The gather of `data` into x as this likelihood sees it (Bernoulli: binarized as `binarize`
   * says; the others ignore it), with its noise buffer where the data are noisy. Build one per
   * loop and destroy it after.
   */
  feed(data: GpuDataset, binarize: BinarizeMode): BatchFeed {
    const { gpu, likelihood } = this.vae;
    return new BatchFeed(
      { gpu, likelihood, x: this.x, batch: this.batch, rng: this.#rng },
      data,
      binarize,
    );
  }

  /** h (N, 2L) = encoder(x (N, 784)). */
  encode(rec: Recorder, h: Tensor = this.h, x: Tensor = this.x, mode: Mode = "eval"): void {
    this.#encoder.forward(rec, h, x, mode);
  }

  /** eps ~ N(0, I) from the counter-based generator at stream position `counter`. */
  sampleEps(rec: Recorder, seed: number, counter: number): void {
    this.#rng.normal(rec, this.eps, this.batch * this.vae.latent, seed, counter);
  }

  /** z = mu + exp(logvar / 2) eps, from this.h and this.eps. */
  reparameterize(rec: Recorder): void {
    this.#reparam.forward(rec, this.z, this.h, this.eps);
  }

  /** head (N, 784 W) = decoder(z (N, L)). */
  decode(rec: Recorder, mode: Mode, head: Tensor = this.head, z: Tensor = this.z): void {
    this.#decoder.forward(rec, head, z, mode);
  }

  /** The likelihood's mean images (N, 784) of decoder(z) in eval mode; returns the buffer. */
  decodeMeans(rec: Recorder, z: Tensor = this.z): GPUBuffer {
    this.decode(rec, "eval", this.head, z);
    this.#output.mean(rec, this.image, this.head);
    return this.image;
  }

  /** One draw per pixel from p(x | decoder(z)) in eval mode; returns the buffer (N, 784). */
  decodeSamples(rec: Recorder, seed: number, counter: number, z: Tensor = this.z): GPUBuffer {
    this.decode(rec, "eval", this.head, z);
    this.#output.sample(rec, this.image, this.head, this.#rng, seed, counter);
    return this.image;
  }

  /** The mean images of the head already decoded (after forwardLoss or decode). */
  headMeans(rec: Recorder): GPUBuffer {
    this.#output.mean(rec, this.image, this.head);
    return this.image;
  }

  /**
   * Encode x (unless `encode` is false: h already holds this batch's encoding, or a psi being
   * optimized), z from eps, decode, per-image terms into perImage and their sums into
   * sums[2 slot], sums[2 slot + 1]. `mask` (784) leaves pixels out of the recon term.
   */
  forwardLoss(
    rec: Recorder,
    sums: Tensor,
    slot: number,
    mode: Mode,
    encode = true,
    mask?: Tensor,
  ): void {
    if (encode) this.encode(rec, this.h, this.x, mode);
    this.reparameterize(rec);
    this.decode(rec, mode);
    this.#loss.forward(rec, this.perImage, sums, this.head, this.x, this.h, slot, mask);
  }

  /** Gradients of the loss (batch mean by default) into the model's grads, after forwardLoss. */
  backward(rec: Recorder, o: BackwardOptions = {}): void {
    this.#lossBackward(rec, o, true);
    this.#encoder.backward(rec, this.dH, this.x);
  }

  /**
   * d loss / d (mu, logvar) into dH through the frozen decoder (no weight gradients), after a
   * forwardLoss in eval mode: the gradient that inference without the encoder follows. With
   * the default scale 1 / N; pass scale 1 for each image's own ELBO.
   */
  decoderBackward(rec: Recorder, o: BackwardOptions = {}): void {
    this.#lossBackward(rec, o, false);
  }

  #lossBackward(rec: Recorder, o: BackwardOptions, weights: boolean): void {
    this.#loss.backward(rec, this.#dHead, this.dH, this.head, this.x, this.h, o);
    this.#decoder.backward(rec, this.#dZ, this.#dHead, this.z, { weights });
    this.#reparam.backward(rec, this.dH, this.#dZ, this.eps, this.h);
  }

  /** Named forward buffers in forward order, for finding where a NaN first appears. */
  activations(): [string, GPUBuffer][] {
    return [
      ["input x", this.x],
      ...this.#encoder.activations(),
      ["encoder head (mu, logvar)", this.h],
      ["reparameterized z", this.z],
      ...this.#decoder.activations(),
      [`decoder head (${this.vae.likelihood.name} parameters)`, this.head],
      ["loss (recon, KL)", this.perImage],
    ];
  }
}
