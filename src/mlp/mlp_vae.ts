/**
 * The MLP VAE (Kingma & Welling): the generic model with the MLP networks of
 * src/mlp/mlp_net.ts, Bernoulli likelihood by default.
 */

import type { Gpu } from "../gpu/gpu.ts";
import { bernoulli } from "../likelihood/bernoulli.ts";
import type { Likelihood } from "../likelihood/likelihood.ts";
import { initUniform, type ParamLayout } from "../model/params.ts";
import { Vae } from "../model/vae.ts";
import { seededRandom } from "../random.ts";
import { mlpArchitecture, type MlpConfig } from "./mlp_net.ts";

export { type MlpConfig, mlpLayout } from "./mlp_net.ts";

/** Kingma & Welling's MNIST MLP: 784 -> 500 tanh -> 2 latent, and back. */
export const KINGMA_WELLING: MlpConfig = {
  pixels: 784,
  hidden: 500,
  latent: 2,
  activation: "tanh",
};

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

/** An MLP VAE on the GPU: a Vae whose networks are built from an MlpConfig. */
export class MlpVae extends Vae {
  /** The architecture it was built from. */
  readonly config: MlpConfig;

  /**
   * Uploads `initial` (mlpLayout(config, likelihood.width).total floats, e.g. from
   * initMlpParams) as the parameters; the likelihood defaults to Bernoulli.
   */
  constructor(
    gpu: Gpu,
    config: MlpConfig,
    initial: Float32Array,
    likelihood: Likelihood = bernoulli,
  ) {
    super(gpu, mlpArchitecture(config, likelihood.width), likelihood, {
      params: initial,
      state: null,
    });
    this.config = config;
  }

  /** Parameters as named f64 arrays, for the CPU densities in src/reference/mlp_densities.ts. */
  async parameters(): Promise<Record<string, Float64Array>> {
    const flat = await this.gpu.readF32(this.params);
    const out: Record<string, Float64Array> = {};
    for (const [k, v] of Object.entries(this.layout.split(flat))) out[k] = Float64Array.from(v);
    return out;
  }
}
