/**
 * The course's conv VAE under any likelihood: the generic model with the
 * conv networks of src/conv/conv_net.ts.
 */

import type { Gpu } from "../gpu/gpu.ts";
import { bernoulli } from "../likelihood/bernoulli.ts";
import type { Likelihood } from "../likelihood/likelihood.ts";
import type { ParamLayout } from "../model/params.ts";
import { Vae } from "../model/vae.ts";
import { convArchitecture } from "./conv_net.ts";
import { type ConvConfig, initConvParams } from "./layout.ts";

export { type ConvConfig, convLayout, initConvParams } from "./layout.ts";

/** The course's conv VAE on the GPU: a Vae whose networks are the conv encoder and decoder. */
export class ConvVae extends Vae {
  /** The configuration it was built from. */
  readonly config: ConvConfig;
  /** The conv VAE always has state: its batch norm running statistics. */
  declare readonly state: { layout: ParamLayout; buffer: GPUBuffer };

  /**
   * Uploads `initial` (the layouts of convLayout(config, likelihood.width), e.g. from
   * initConvParams); the likelihood defaults to Bernoulli. `ConvVae.init` does both.
   */
  constructor(
    gpu: Gpu,
    config: ConvConfig,
    initial: { params: Float32Array; state: Float32Array },
    likelihood: Likelihood = bernoulli,
  ) {
    super(gpu, convArchitecture(config, likelihood.width), likelihood, initial);
    this.config = config;
  }

  /** A freshly initialised model (PyTorch's default initialisation from `seed`). */
  static init(gpu: Gpu, config: ConvConfig, likelihood: Likelihood, seed: number): ConvVae {
    return new ConvVae(gpu, config, initConvParams(config, seed, likelihood.width), likelihood);
  }
}
