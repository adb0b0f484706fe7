/**
 * The training loop shared by every VAE: shuffled batches gathered on the GPU,
 * one submit per step, losses accumulated per step on the GPU and read back a
 * few times per epoch, validation -ELBO per epoch, early stopping, atomic
 * checkpoints (best and last) and a per-epoch log.
 */

import type { Gpu, Recorder } from "../gpu/gpu.ts";
import type { GpuDataset } from "../data/gpu_dataset.ts";
import { permutation } from "../data/shuffle.ts";
import { Adam } from "../ops/optim.ts";
import { Progress } from "../progress.ts";
import type { Vae } from "../model/vae.ts";
import { type Binarize, evaluate } from "./evaluate.ts";
import { saveModel, type TrainState } from "./checkpoint.ts";
import type { DataSource } from "../data/mnist.ts";
import { curvePoints, type EpochLog, valLoss } from "./epoch_log.ts";
import {
  backwardScales,
  fmtLoss,
  klWarmupWeight,
  NEG_ELBO,
  type Objective,
  objectiveLoss,
} from "../model/objective.ts";
import { recordStepForward, type StepBuffers } from "./step.ts";
import { locateNan, type NanReport, type ReplayStep, TrainSnapshot } from "./nan_locator.ts";

/** Thrown when training must stop: a NaN, named by step and layer. */
export class TrainingError extends Error {
  /** `message` names the step, the layer and the value that stopped training. */
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}

/** Everything one training run needs; the optional fields have the course's defaults. */
export interface TrainOptions {
  /** Called with the best checkpoint's path each time it is written. */
  afterBest?: (path: string) => Promise<unknown>;
  /** The model to train in place (its params, grads and Adam moments). */
  model: Vae;
  /** The training split. */
  train: GpuDataset;
  /** The validation split: early stopping and the best checkpoint follow its loss. */
  val: GpuDataset;
  /** The most epochs to run (counting those of a resumed run). */
  epochs: number;
  /** Images per step; the last partial batch of an epoch is dropped. */
  batch: number;
  /** Adam's learning rate. */
  lr: number;
  /** Seeds the shuffles and the noise, so a run repeats. */
  seed: number;
  /** Where the training data came from; checkpoints record it. */
  data?: DataSource;
  /** Bernoulli data only: static or dynamic binarization ("none" for other likelihoods). */
  binarize: Binarize;
  /** Epochs without a better validation loss before training stops early. */
  patience: number;
  /** Validation images per epoch (the first N of the split); default all. */
  valImages?: number;
  /** Where model.safetensors (best) and last.safetensors (latest) go. */
  bestPath: string;
  /** Where the latest epoch's checkpoint (last.safetensors) goes; resume from it. */
  lastPath: string;
  /** State to resume from (epoch, Adam t, log); null for a fresh run. */
  resume: TrainState | null;
  /** Called after each epoch with the whole log so far (write log.json, elbo.svg). */
  onEpoch?: (log: EpochLog[]) => Promise<void>;
  /** What to minimize; default the negative ELBO. */
  objective?: Objective;
  /**
   * A tutorial's own printed training loss from the epoch's summed per-image losses and its
   * step count (a preset's quirk, logged as train_printed beside the true mean).
   */
  printed?: (sum: number, steps: number, batch: number) => number;
  /** Epochs over which the KL weight rises linearly from ~0 to 1 (0: off). */
  klWarmup?: number;
  /** Free bits lambda, nats per latent dimension (0: off); see LikelihoodLoss's freeBits. */
  freeBits?: number;
}

/** How a training run went. */
export interface TrainResult {
  /** One entry per epoch, a resumed run's earlier ones included. */
  log: EpochLog[];
  /** The epoch with the lowest validation loss (the one saved at bestPath). */
  bestEpoch: number;
  /** That validation loss, nats per image. */
  bestVal: number;
  /** Training throughput over the run's epochs. */
  imagesPerSec: number;
  /** Whether `patience` ended the run before `epochs`. */
  stoppedEarly: boolean;
}

// Losses are read back every `every` steps: at most 50 (fast models), and about
// every 2 s for slow ones, so the progress bar moves and the CPU never queues
// more than a couple of seconds of work ahead of the GPU.
const READBACK_MAX = 50;
const READBACK_SECONDS = 2;

/** Trains `model` on `train`, validating on `val`; see TrainOptions. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const { model, train: data } = o;
  const gpu = model.gpu;
  const graph = await model.graph(o.batch);
  const B = o.batch;
  const steps = Math.floor(data.count / B);
  if (steps < 1) {
    throw new RangeError(
      `Cannot train: ${data.count} training images make no full batch of ${B}; lower --batch or raise --train-limit`,
    );
  }
  const adam = await Adam.create(gpu, model.layout.total, { lr: o.lr });
  const log: EpochLog[] = o.resume ? [...o.resume.log] : [];
  if (o.resume) adam.t = o.resume.adamT;
  const objective = o.objective ?? NEG_ELBO;
  const lossOf = (recon: number, kl: number) => objectiveLoss(objective, recon, kl);
  let best = log.reduce(
    (b, e) => (valLoss(e) < b.val ? { epoch: e.epoch, val: valLoss(e) } : b),
    {
      epoch: 0,
      val: Infinity,
    },
  );
  let sinceBest = log.length - best.epoch;

  const perm = gpu.storage("train.permutation", data.count * 4);
  const batchIdx = gpu.storage("train.batch_indices", B * 4);
  const sums = gpu.storage("train.sums", steps * 2 * 4);
  const feed = graph.feed(data, o.binarize);
  const evalCtx = { gpu, graph, data: o.val, binarize: o.binarize, seed: o.seed ^ 0x5eed };
  const valCount = Math.min(o.valImages ?? o.val.count, o.val.count);
  const buffers: StepBuffers = { graph, feed, perm, batchIdx, sums, batch: B, seed: o.seed };
  let stoppedEarly = false;
  let trainSeconds = 0, trainImages = 0;

  // The parameters as of the last clean readback, for replaying a step that went non-finite.
  const snapshot = new TrainSnapshot(model);
  for (let epoch = log.length + 1; epoch <= o.epochs; epoch++) {
    gpu.write(perm, permutation(data.count, o.seed, epoch));
    const progress = new Progress({ total: steps, label: `epoch ${epoch}/${o.epochs}` });
    const t0 = performance.now();
    let running = NaN;
    let every = 1, lastRead = 0;
    const forward = (rec: Recorder, step: number) => {
      const global = (epoch - 1) * steps + step;
      current = global;
      recordStepForward(rec, buffers, step, global);
    };
    const base = backwardScales(objective, B), warmupSteps = (o.klWarmup ?? 0) * steps;
    let current = 0; // the global step being recorded, 0-based
    const scales = () => ({
      ...base,
      klWeight: base.klWeight * klWarmupWeight(current + 1, warmupSteps),
      freeBits: o.freeBits ?? 0,
    });
    const update = (rec: Recorder) => adam.step(rec, model.params, model.grads, model.m, model.v);
    await snapshot.save(0, adam.t);
    for (let step = 0; step < steps; step++) {
      const rec = gpu.record("train step");
      forward(rec, step);
      graph.backward(rec, scales());
      update(rec);
      await rec.submit();
      if (step + 1 - lastRead >= every || step === steps - 1) {
        // A readback also bounds how far the CPU runs ahead of the GPU.
        const s = await gpu.readF32(sums, 0, (step + 1) * 2);
        const bad = _firstNonFinite(s);
        if (bad >= 0) {
          const report = await locateNan({
            gpu,
            model,
            graph,
            adam,
            snapshot,
            sums,
            bad: Math.floor(bad / 2),
            replay: _replay(gpu, forward, (rec) => graph.backward(rec, scales()), update, perm, B),
          });
          progress.done(`epoch ${epoch}: stopped at step ${report.step + 1}`);
          throw new TrainingError(await _nanMessage(epoch, report, o.lastPath));
        }
        await snapshot.save(step + 1, adam.t);
        running = _meanLoss(s, lastRead, step + 1, lossOf) / B;
        const sec = (performance.now() - t0) / 1000;
        lastRead = step + 1;
        every = Math.max(
          1,
          Math.min(READBACK_MAX, Math.round((READBACK_SECONDS * lastRead) / sec)),
        );
        progress.update(step + 1, { imagesPerSec: ((step + 1) * B) / sec, loss: running });
      }
    }
    const s = await gpu.readF32(sums, 0, steps * 2);
    const seconds = (performance.now() - t0) / 1000;
    trainSeconds += seconds;
    trainImages += steps * B;
    let recon = 0, kl = 0;
    for (let i = 0; i < steps; i++) recon += s[2 * i], kl += s[2 * i + 1];
    const val = await evaluate(evalCtx, valCount, `validation after epoch ${epoch}`);
    const n = steps * B;
    const trainValue = lossOf(recon, kl) / n, valValue = lossOf(val.recon, val.kl);
    const entry: EpochLog = {
      epoch,
      ...(objective.elbo ? { train_neg_elbo: trainValue } : { train_loss: trainValue }),
      train_recon: recon / n,
      train_kl: kl / n,
      ...(objective.elbo ? { val_neg_elbo: valValue } : { val_loss: valValue }),
      val_recon: val.recon,
      val_kl: val.kl,
      val_active_units: val.latent.activeUnits,
      ...(o.printed ? { train_printed: o.printed(trainValue * n, steps, B) } : {}),
      ...(warmupSteps > 0 ? { kl_weight: klWarmupWeight(epoch * steps, warmupSteps) } : {}),
      steps,
      train_curve: curvePoints(s, steps, B, (epoch - 1) * steps, lossOf),
      seconds: (performance.now() - t0) / 1000,
      images_per_s: n / seconds,
    };
    log.push(entry);
    const name = objective.elbo ? "-ELBO" : "loss";
    progress.done(
      `epoch ${epoch}: train ${name} ${fmtLoss(trainValue)}, val ${name} ${fmtLoss(valValue)} ` +
        `(recon ${val.recon.toFixed(2)}, KL ${val.kl.toFixed(2)}, ` +
        `${val.latent.activeUnits}/${model.latent} units active), ${
          entry.images_per_s.toFixed(0)
        } img/s` +
        (entry.train_printed === undefined
          ? ""
          : `; as the tutorial prints it: ${entry.train_printed.toFixed(1)}`),
    );
    if (!Number.isFinite(valValue)) {
      throw new TrainingError(
        `Cannot go on: validation ${name} is ${valValue} after epoch ${epoch}`,
      );
    }
    const state: TrainState = {
      epoch,
      adamT: adam.t,
      seed: o.seed,
      log,
      bestEpoch: best.epoch,
      ...(o.data ? { data: o.data } : {}),
    };
    if (valValue < best.val) {
      best = { epoch, val: valValue };
      sinceBest = 0;
      await saveModel(o.bestPath, model, { ...state, bestEpoch: epoch });
      // E.g. its weights as a PyTorch state_dict (the train tasks pass exportTorch): a few ms.
      await o.afterBest?.(o.bestPath);
    } else {
      sinceBest++;
    }
    await saveModel(o.lastPath, model, { ...state, bestEpoch: best.epoch });
    if (o.onEpoch) await o.onEpoch(log);
    if (sinceBest >= o.patience) {
      console.error(
        `early stop: no better validation -ELBO for ${o.patience} epochs (best: epoch ${best.epoch})`,
      );
      stoppedEarly = true;
      break;
    }
  }
  snapshot.destroy();
  perm.destroy();
  batchIdx.destroy();
  sums.destroy();
  feed.destroy();
  return {
    log,
    bestEpoch: best.epoch,
    bestVal: best.val,
    imagesPerSec: trainSeconds > 0 ? trainImages / trainSeconds : 0,
    stoppedEarly,
  };
}

function _firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

function _meanLoss(
  s: Float32Array,
  from: number,
  to: number,
  lossOf: (recon: number, kl: number) => number,
): number {
  let t = 0;
  for (let i = from; i < to; i++) t += lossOf(s[2 * i], s[2 * i + 1]);
  return t / Math.max(1, to - from);
}

/** The trainer's step, split for the NaN locator: one submit per part. */
function _replay(
  gpu: Gpu,
  forward: (rec: Recorder, step: number) => void,
  backward: (rec: Recorder) => void,
  update: (rec: Recorder) => void,
  perm: GPUBuffer,
  batch: number,
): ReplayStep {
  const submit = (label: string, body: (rec: Recorder) => void) => {
    const rec = gpu.record(label);
    body(rec);
    return rec.submit();
  };
  return {
    forward: (step) => submit("replay forward", (rec) => forward(rec, step)),
    backward: () => submit("replay backward", backward),
    update: () => submit("replay update", update),
    images: async (step) => new Uint32Array(await gpu.read(perm, step * batch * 4, batch * 4)),
  };
}

async function _nanMessage(epoch: number, r: NanReport, lastPath: string): Promise<string> {
  const kept = await _exists(lastPath)
    ? `The last good checkpoint is kept at ${lastPath}.`
    : "No checkpoint was written yet (the first is written after epoch 1).";
  return `Cannot go on: training went non-finite at epoch ${epoch}, step ${r.step + 1}: ` +
    `${r.what}. ${kept} Try a lower --lr.`;
}

async function _exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
