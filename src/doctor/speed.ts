/**
 * The doctor's speed check: MLP VAE and conv VAE training steps timed exactly as the bench's
 * training entries time them (src/bench/training.ts: warm-up steps first, one submit per step,
 * one readback at the end), at the bench's shapes, on the first MNIST training images.
 */

import type { Gpu } from "../gpu/gpu.ts";
import type { GpuDataset } from "../data/gpu_dataset.ts";
import { createBenchContext } from "../bench/timing.ts";
import { timeTrainingSteps } from "../bench/training.ts";
import { initMlpParams, KINGMA_WELLING, mlpLayout, MlpVae } from "../mlp/mlp_vae.ts";
import { ConvVae } from "../conv/conv_vae.ts";
import { likelihoodByName } from "../likelihood/registry.ts";

export interface StepSpeed {
  images_per_s: number;
  /** Milliseconds per step. */
  ms: number;
  /** Timed steps, after `warmup` untimed ones. */
  iters: number;
  warmup: number;
  batch: number;
  shape: string;
  /**
   * Software adapters: this process's share of all CPUs while the steps ran; well below 1
   * means other processes took CPU time and the speed reads low.
   */
  cpu_share?: number;
}

export interface Speeds {
  mlp: StepSpeed;
  conv: StepSpeed;
}

/**
 * Times `steps` training steps of each model (undefined: the bench's --quick choice, about 2 s
 * of steps, at least 10 MLP and 2 conv steps).
 */
export async function trainingSpeeds(
  gpu: Gpu,
  data: GpuDataset,
  steps: number | undefined,
): Promise<Speeds> {
  const c = await createBenchContext(gpu, true, steps);
  c.data = data;
  const mlpConfig = KINGMA_WELLING, mlpBatch = 200, mlpWarmup = 3;
  const mlp = new MlpVae(gpu, mlpConfig, initMlpParams(mlpLayout(mlpConfig), 1));
  const m = await timeTrainingSteps(c, mlp, mlpBatch, mlpWarmup, 10);
  const mlpShare = c.cpuShare;
  const convConfig = { latent: 16 }, convBatch = 256, convWarmup = 1;
  const conv = ConvVae.init(gpu, convConfig, likelihoodByName("bernoulli"), 1);
  const v = await timeTrainingSteps(c, conv, convBatch, convWarmup, 2);
  const convShare = c.cpuShare;
  const share = (x: number | undefined) =>
    gpu.isSoftware && x !== undefined ? { cpu_share: x } : {};
  return {
    mlp: {
      ...m,
      warmup: mlpWarmup,
      batch: mlpBatch,
      shape: `784-${mlpConfig.hidden}-${mlpConfig.latent}`,
      ...share(mlpShare),
    },
    conv: {
      ...v,
      warmup: convWarmup,
      batch: convBatch,
      shape: `latent ${convConfig.latent}`,
      ...share(convShare),
    },
  };
}
