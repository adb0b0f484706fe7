/**
 * One training task from data to metrics: load MNIST, put the splits on the
 * GPU, build or resume the model, train with early stopping, reload the best
 * checkpoint, evaluate on the test set (-ELBO with sampled z, recon, KL and
 * the importance-weighted NLL), and write metrics.json, log.json, elbo.svg.
 */

import { join } from "node:path";
import { Gpu } from "../gpu/gpu.ts";
import { loadMnist, type Mnist } from "../data/mnist.ts";
import { GpuDataset } from "../data/gpu_dataset.ts";
import { IwLogWeight } from "../ops/iw_log_weight.ts";
import { prepareOutDir, writeFileAtomic } from "../io.ts";
import { InputError } from "../cli.ts";
import { binarizeFor, bitsPerDim } from "../likelihood/likelihood.ts";
import type { Vae } from "../model/vae.ts";
import { type Binarize, evaluate, importanceNll } from "./evaluate.ts";
import { loadCheckpoint, restore } from "./checkpoint.ts";
import { ACTIVE_THRESHOLD, collapseVerdict } from "./collapse.ts";
import { elboChart, type EpochLog } from "./epoch_log.ts";
import { train } from "./trainer.ts";
import { fmtLoss, NEG_ELBO, type Objective, objectiveLoss } from "../model/objective.ts";

export interface SessionFlags {
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  /** Bernoulli tasks only ("none": grey levels as soft targets, the notebook preset's). */
  binarize?: "static" | "dynamic" | "none";
  patience: number;
  /** Remedies for posterior collapse (0: off). */
  klWarmup?: number;
  freeBits?: number;
  trainLimit: number;
  isSamples: number;
  isImages: number;
  /** Validation and test on the first N images only (0: all). */
  evalImages: number;
  data?: string;
  out: string;
  resume: boolean;
}

export interface SessionResult {
  gpu: Gpu;
  model: Vae;
  mnist: Mnist;
  metrics: Record<string, unknown>;
  written: string[];
}

/** A --resume whose checkpoint already reached --epochs: nothing is trained or written. */
export class NothingToTrainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NothingToTrainError";
  }
}

/** What a task adds to the course's defaults: another objective, facts for metrics.json. */
export interface SessionOptions {
  objective?: Objective;
  /** See TrainOptions.afterBest (the train tasks export the PyTorch weights). */
  afterBest?: (path: string) => Promise<unknown>;
  /** See TrainOptions.printed. */
  printed?: (sum: number, steps: number, batch: number) => number;
  /** Extra metrics.json fields (a preset's name, its tutorial's quirks). */
  metrics?: Record<string, unknown>;
}

/** Trains and evaluates the model that `build` makes; returns what it wrote. */
export async function runSession(
  task: string,
  f: SessionFlags,
  build: (gpu: Gpu, seed: number) => Promise<Vae>,
  options: SessionOptions = {},
): Promise<SessionResult> {
  const objective = options.objective ?? NEG_ELBO;
  // Everything that can refuse the run does so before data or GPU work.
  const bestPath = join(f.out, "model.safetensors"), lastPath = join(f.out, "last.safetensors");
  const hint = `run \`deno task ${task}\` first`;
  const last = f.resume ? await loadCheckpoint(lastPath, hint) : null;
  // A run stopped during its final evaluation (Ctrl-C) has every epoch but no metrics.json
  // newer than its last checkpoint: --resume then finishes the evaluation instead of refusing.
  const evaluated = last !== null && await _newer(join(f.out, "metrics.json"), lastPath);
  if (last && last.state.epoch >= f.epochs && !evaluated) {
    console.error(
      `${lastPath} has all ${last.state.epoch} epochs but no metrics.json after it: ` +
        "finishing the test evaluation",
    );
  } else if (last && last.state.epoch >= f.epochs) {
    throw new NothingToTrainError(
      `Nothing to train: ${lastPath} is at epoch ${last.state.epoch} and --epochs is ` +
        `${f.epochs}; raise --epochs to train on (no file was changed)`,
    );
  }
  if (f.trainLimit > 0 && f.trainLimit < f.batch) {
    throw new InputError(
      `--train-limit ${f.trainLimit} is smaller than --batch ${f.batch}: an epoch would hold no ` +
        "full batch; raise --train-limit or lower --batch",
    );
  }
  await prepareOutDir(f.out);
  if (!f.resume && await Deno.stat(bestPath).then((x) => x.isFile, () => false)) {
    console.error(
      `note: ${f.out} holds a trained model (${bestPath}); this run replaces it as it goes ` +
        "(stop now to keep it, or rerun with --resume to continue it instead)",
    );
  }
  const gpu = await Gpu.create();
  console.error(`adapter: ${gpu.adapterSummary}`);
  const mnist = await loadMnist({ dir: f.data });
  const was = last?.state.data;
  if (was && was.sha256 !== mnist.source.sha256) {
    throw new InputError(
      `${lastPath} was trained on the data in ${was.dir}, this run reads other data from ` +
        `${mnist.dir}; resume with --data ${was.dir}`,
    );
  }
  const trainCount = f.trainLimit > 0
    ? Math.min(f.trainLimit, mnist.train.count)
    : mnist.train.count;
  if (trainCount < f.batch) {
    throw new InputError(
      `${mnist.dir} holds ${trainCount} training images, fewer than one batch (--batch ` +
        `${f.batch}); lower --batch`,
    );
  }
  const [trainData, valData, testData] = await Promise.all([
    GpuDataset.create(gpu, mnist.train.images.subarray(0, trainCount * 784), trainCount),
    GpuDataset.create(gpu, mnist.val.images, mnist.val.count),
    GpuDataset.create(gpu, mnist.test.images, mnist.test.count),
  ]);
  const model = await build(gpu, f.seed);
  const lik = model.likelihood;
  // Only the Bernoulli data are binarized; the others follow from the likelihood.
  const binarize: Binarize = binarizeFor(lik, f.binarize);
  // A Bernoulli term on grey levels (the notebook preset) is a BCE against soft targets.
  const dataSpace = lik.data === "binary" && binarize === "none"
    ? "grey levels p / 255 as soft BCE targets"
    : lik.dataSpace;
  const evalCount = (n: number) => (f.evalImages > 0 ? Math.min(f.evalImages, n) : n);
  let resume = null;
  if (last) {
    resume = restore(model, last);
    console.error(`resuming from ${lastPath} after epoch ${resume.epoch}`);
  }
  const logPath = join(f.out, "log.json"), svgPath = join(f.out, "elbo.svg");
  const writeLog = async (log: EpochLog[]) => {
    await writeFileAtomic(logPath, JSON.stringify(log, null, 2) + "\n");
    const what = objective.elbo ? "negative ELBO" : "loss";
    await writeFileAtomic(svgPath, elboChart(log, `${task}: ${what} per epoch`, objective.axis));
  };
  const result = await train({
    model,
    train: trainData,
    val: valData,
    epochs: f.epochs,
    batch: f.batch,
    lr: f.lr,
    seed: f.seed,
    data: mnist.source,
    binarize,
    patience: f.patience,
    valImages: evalCount(valData.count),
    bestPath,
    lastPath,
    resume,
    onEpoch: writeLog,
    objective,
    printed: options.printed,
    klWarmup: f.klWarmup ?? 0,
    freeBits: f.freeBits ?? 0,
    ...(options.afterBest ? { afterBest: options.afterBest } : {}),
  });

  // Evaluate the best model, not the last.
  restore(model, await loadCheckpoint(bestPath, hint));
  const graph = await model.graph(f.batch);
  const ctx = { gpu, graph, data: testData, binarize, seed: f.seed ^ 0x7e57 };
  const test = await evaluate(ctx, evalCount(testData.count), "test");
  // The IS estimate is of a likelihood's NLL: meaningless for a loss that is not an ELBO.
  const isSamples = objective.elbo ? f.isSamples : 0;
  const isImages = isSamples > 0 ? Math.min(f.isImages, evalCount(testData.count)) : 0;
  const iw = await IwLogWeight.create(gpu, { batch: f.batch, latent: model.latent });
  const nll = isSamples > 0 ? await importanceNll(ctx, iw, isImages, isSamples) : null;
  const testLoss = objectiveLoss(objective, test.recon, test.kl);
  const collapse = collapseVerdict(test.latent, model.latent);
  const bpd = lik.continuous
    ? { test_bpd: bitsPerDim(test.negElbo), test_nll_is_bpd: nll === null ? null : bitsPerDim(nll) }
    : {};
  const metrics = {
    ...options.metrics,
    model: model.kind,
    likelihood: lik.name,
    ...lik.constants,
    data_space: dataSpace,
    latent: model.latent,
    binarize,
    epochs: result.log.length,
    best_epoch: result.bestEpoch,
    stopped_early: result.stoppedEarly,
    adapter: gpu.adapterName,
    variants: gpu.variants,
    backend: gpu.backend,
    driver: gpu.driver,
    cpu_threads: gpu.cpuThreads,
    data: mnist.source,
    // A resume that only evaluated trained nothing: the speed is the epochs' own.
    images_per_s: Math.round(
      result.imagesPerSec || (result.log[result.log.length - 1]?.images_per_s ?? 0),
    ),
    train_images: trainData.count,
    train_limit: f.trainLimit > 0 ? f.trainLimit : null,
    batch: f.batch,
    lr: f.lr,
    loss: objective.description,
    kl_warmup_epochs: f.klWarmup ?? 0,
    free_bits: f.freeBits ?? 0,
    ...(objective.elbo ? { test_neg_elbo: test.negElbo } : { test_loss: testLoss }),
    test_recon: test.recon,
    test_kl: test.kl,
    test_images: test.count,
    val_images: evalCount(valData.count),
    eval_images: f.evalImages > 0 ? f.evalImages : null,
    active_units: test.latent.activeUnits,
    active_threshold: ACTIVE_THRESHOLD,
    posterior_collapse: collapse.collapsed,
    partial_collapse: collapse.partial,
    collapse: collapse.words,
    test_kl_per_dim: test.latent.klPerDim.map((v) => Number(v.toFixed(4))),
    test_mu_variance: test.latent.muVariance.map((v) => Number(v.toPrecision(4))),
    test_nll_is: nll,
    is_samples: isSamples,
    is_images: isImages,
    ...bpd,
    ...(objective.elbo ? { best_val_neg_elbo: result.bestVal } : { best_val_loss: result.bestVal }),
    seed: f.seed,
    note:
      (objective.elbo
        ? "nats per image; -ELBO uses one sampled z per image"
        : "per image; recon and KL are the two terms' means, the loss weighs them as `loss` says; one sampled z per image") +
      (lik.continuous
        ? "; bits/dim = (NLL + 784 ln 256) / (784 ln 2), an upper bound on the 8-bit image's"
        : "") +
      (lik.note ? `; ${lik.note}` : ""),
  };
  const metricsPath = join(f.out, "metrics.json");
  await writeFileAtomic(metricsPath, JSON.stringify(metrics, null, 2) + "\n");
  console.error(
    (objective.elbo ? `test -ELBO ${test.negElbo.toFixed(2)}` : `test loss ${fmtLoss(testLoss)}`) +
      ` (recon ${test.recon.toFixed(2)}, KL ${test.kl.toFixed(2)})` +
      (nll === null ? "" : `, IS NLL ${nll.toFixed(2)} (K = ${f.isSamples}, ${isImages} images)`) +
      (lik.continuous ? `, ${bitsPerDim(test.negElbo).toFixed(3)} bits/dim` : "") +
      `, ${test.count} test images, ${binarize === "none" ? dataSpace : _binarizeWords(binarize)}`,
  );
  console.error(`${collapse.collapsed || collapse.partial ? "warning: " : ""}${collapse.words}`);
  return {
    gpu,
    model,
    mnist,
    metrics,
    written: [metricsPath, logPath, svgPath, bestPath, lastPath],
  };
}

function _binarizeWords(b: Binarize): string {
  return b === "static"
    ? "static binarization (x > 0.5)"
    : b === "dynamic"
    ? "dynamic binarization"
    : "grey levels";
}

/** Whether `path` exists and was modified no earlier than `than`. */
async function _newer(path: string, than: string): Promise<boolean> {
  const [a, b] = await Promise.all([Deno.stat(path).catch(() => null), Deno.stat(than)]);
  return a !== null && (a.mtime?.getTime() ?? 0) >= (b.mtime?.getTime() ?? 0);
}
