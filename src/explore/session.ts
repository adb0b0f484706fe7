/**
 * The explorer's model in a browser (or in Deno, for its test): a trained VAE rebuilt from the
 * server's description and tensors, and what the page asks of it: the mean image at any z, and
 * the completion of a half-drawn digit by the course's psi optimizer against the frozen decoder.
 * Only WebGPU and the core's ops: no Deno API.
 */

import { ConvVae } from "../conv/conv_vae.ts";
import type { ConvConfig } from "../conv/layout.ts";
import { GpuDataset } from "../data/gpu_dataset.ts";
import type { Gpu } from "../gpu/gpu.ts";
import { likelihoodByName } from "../likelihood/registry.ts";
import { MlpVae } from "../mlp/mlp_vae.ts";
import type { MlpConfig } from "../mlp/mlp_net.ts";
import type { Vae } from "../model/vae.ts";
import { PSI_DEFAULTS, PsiBatch } from "../study/psi.ts";
import type { PsiTrack } from "../ops/psi_step.ts";
import type { ExploreModel } from "./protocol.ts";

const P = 784;

/** A completion: the psi found, its track, and the mean image at psi's mu. */
export interface Completion {
  /** (2L): [mu | logvar] of q(z | psi*). */
  psi: Float32Array;
  /** The optimizer's track: best -ELBO of the observed pixels, its step, steps taken. */
  track: PsiTrack;
  /** The likelihood's mean image (784) at z = mu of psi*. */
  image: Float32Array;
}

/** A trained VAE on one device, and the page's questions to it. */
export class ExploreSession {
  /** The device the model lives on. */
  readonly gpu: Gpu;
  /** The model. */
  readonly vae: Vae;
  /** What the server said of it. */
  readonly info: ExploreModel;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(gpu: Gpu, vae: Vae, info: ExploreModel) {
    this.gpu = gpu;
    this.vae = vae;
    this.info = info;
  }

  /** Builds the model `info` describes from its flat parameters and state (f32). */
  static create(
    gpu: Gpu,
    info: ExploreModel,
    params: Float32Array,
    state: Float32Array | null,
  ): ExploreSession {
    const likelihood = likelihoodByName(info.likelihood.name, info.likelihood.constants);
    let vae: Vae;
    if (info.model === "conv") {
      if (!state) {
        throw new RangeError("Cannot build the conv VAE: its batch norm state is missing");
      }
      vae = new ConvVae(gpu, info.config as unknown as ConvConfig, { params, state }, likelihood);
    } else {
      vae = new MlpVae(gpu, info.config as unknown as MlpConfig, params, likelihood);
    }
    return new ExploreSession(gpu, vae, info);
  }

  /** The likelihood's mean image (784, in [0, 1]) of decoder(z), z of L numbers, in eval mode. */
  decode(z: ArrayLike<number>): Promise<Float32Array> {
    const L = this.vae.latent;
    if (z.length !== L) {
      throw new RangeError(`Cannot decode z of ${z.length} numbers: the model's latent has ${L}`);
    }
    return this.#serial(async () => {
      const g = await this.vae.graph(1);
      this.gpu.write(g.z, Float32Array.from(z));
      const rec = this.gpu.record("explore.decode");
      const image = g.decodeMeans(rec);
      await rec.submit();
      return await this.gpu.readF32(image, 0, P);
    });
  }

  /**
   * Completes `pixels` (784 bytes, 0-255) from the pixels where `mask` is 1: psi of q(z | psi)
   * optimized against the frozen decoder on the masked pixels' ELBO, as `deno task complete`
   * does (its default optimizer, steps and patience), then decoded at psi's mu.
   */
  complete(
    pixels: Uint8Array,
    mask: Float32Array,
    onCheck?: (track: PsiTrack, step: number) => void,
  ): Promise<Completion> {
    if (pixels.length !== P) {
      throw new RangeError(`Cannot complete ${pixels.length} pixels: need ${P}`);
    }
    return this.#serial(async () => {
      const data = await GpuDataset.create(this.gpu, pixels, 1);
      const batch = await PsiBatch.create(this.vae, data, { images: 1, samples: 1, mask });
      try {
        await batch.load([0]);
        const r = await batch.optimize({
          ...PSI_DEFAULTS,
          onCheck: onCheck ? (tracks, step) => onCheck(tracks[0], step) : undefined,
        });
        const image = await batch.decode(r.psi);
        return { psi: r.psi, track: r.tracks[0], image };
      } finally {
        batch.destroy();
        data.destroy();
      }
    });
  }

  /** One GPU job at a time: the graph's buffers are shared by every call. */
  #serial<T>(job: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(job);
    this.#queue = next.catch(() => {});
    return next;
  }
}
