/**
 * Evaluation on a GPU-resident split: negative ELBO with sampled z (nats per
 * image, recon and KL separately) and the importance-weighted NLL estimate.
 * Per-image results stay on the GPU until one readback at the end.
 */

import type { Gpu, Recorder } from "../gpu/gpu.ts";
import type { GpuDataset } from "../data/gpu_dataset.ts";
import type { IwLogWeight } from "../ops/iw_log_weight.ts";
import type { VaeGraph } from "../model/vae_graph.ts";
import { Progress } from "../progress.ts";
import { type LatentStats, latentStats } from "./collapse.ts";

/**
 * How Bernoulli models see the grey levels: thresholded once ("static"), resampled per use
 * ("dynamic"), or as they are ("none", also what the other likelihoods pass).
 */
export type Binarize = "static" | "dynamic" | "none";

/** Means over the evaluated images, in nats per image. */
export interface EvalResult {
  /** The negative ELBO with one sampled z per image: recon + kl. */
  negElbo: number;
  /** -log p(x | z), the reconstruction term. */
  recon: number;
  /** KL(q(z | x) || N(0, I)), analytic. */
  kl: number;
  /** Images evaluated. */
  count: number;
  /** The encoder's mu and KL per latent dimension over the same images (collapse.ts). */
  latent: LatentStats;
}

/** Indices 0..count-1 padded to whole batches with index 0 (padded results are ignored). */
export function paddedIndices(count: number, batch: number): Uint32Array {
  const idx = new Uint32Array(Math.ceil(count / batch) * batch);
  for (let i = 0; i < count; i++) idx[i] = i;
  return idx;
}

/**
 * What an evaluation runs on: the model's graph at its batch size (which also draws eps and the
 * gather's noise), a split, and the noise seed.
 */
export interface EvalContext {
  /** The device of graph and data. */
  gpu: Gpu;
  /** The model's graph; its batch size is the evaluation batch. */
  graph: VaeGraph;
  /** The split to evaluate (its first `count` images). */
  data: GpuDataset;
  /** Bernoulli data only; the other likelihoods' data follow from the likelihood. */
  binarize: Binarize;
  /** Seed of the evaluation noise: the same on every call, so epochs compare like with like. */
  seed: number;
}

// A progress line every this many batches at most (each costs a wait for the GPU).
const PROGRESS_EVERY = 4;

/**
 * Gathers batch `b` of split `data` (indices 0..count-1) into graph.x, with the noise of
 * dynamic binarization or dequantization drawn from the context's fixed seed, so every call
 * sees the same data. `label` names the pass on the progress bar.
 */
async function _batches(
  ctx: EvalContext,
  count: number,
  label: string,
  each: (rec: Recorder, b: number) => void,
): Promise<void> {
  const { gpu, graph } = ctx;
  const B = graph.batch;
  const idx = paddedIndices(count, B);
  const idxBuf = gpu.storage("eval.indices", idx);
  const batchIdx = gpu.storage("eval.batch_indices", B * 4);
  const feed = graph.feed(ctx.data, ctx.binarize);
  const batches = idx.length / B;
  const progress = new Progress({ total: batches, label });
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const rec = gpu.record("eval");
    rec.copy(idxBuf, b * B * 4, batchIdx, 0, B * 4);
    feed.gather(rec, batchIdx, ctx.seed + 1, b);
    each(rec, b);
    await rec.submit();
    if ((b + 1) % PROGRESS_EVERY === 0 || b === batches - 1) {
      await gpu.finish();
      const sec = (performance.now() - t0) / 1000;
      progress.update(b + 1, { imagesPerSec: Math.min((b + 1) * B, count) / sec });
    }
  }
  progress.clear();
  idxBuf.destroy();
  batchIdx.destroy();
  feed.destroy();
}

/** -ELBO (sampled z), recon and KL over the first `count` images of `data`. */
export async function evaluate(
  ctx: EvalContext,
  count: number,
  label = "evaluate",
): Promise<EvalResult> {
  const { gpu, graph } = ctx;
  const B = graph.batch, batches = Math.ceil(count / B), L = graph.vae.latent;
  const all = gpu.storage("eval.per_image", batches * B * 2 * 4);
  const allH = gpu.storage("eval.h", batches * B * 2 * L * 4);
  const sums = gpu.storage("eval.sums", batches * 2 * 4);
  await _batches(ctx, count, label, (rec, b) => {
    graph.sampleEps(rec, ctx.seed, b); // one Philox stream per batch
    graph.forwardLoss(rec, sums, b, "eval");
    rec.copy(graph.perImage, 0, all, b * B * 2 * 4, B * 2 * 4);
    rec.copy(graph.h, 0, allH, b * B * 2 * L * 4, B * 2 * L * 4);
  });
  const per = await gpu.readF32(all, 0, count * 2);
  const h = await gpu.readF32(allH, 0, count * 2 * L);
  all.destroy();
  allH.destroy();
  sums.destroy();
  let recon = 0, kl = 0;
  for (let i = 0; i < count; i++) {
    recon += per[2 * i];
    kl += per[2 * i + 1];
  }
  return {
    negElbo: (recon + kl) / count,
    recon: recon / count,
    kl: kl / count,
    count,
    latent: latentStats(h, count, L),
  };
}

/**
 * Importance-weighted NLL estimate with K samples (Burda et al.):
 * -log (1/K) sum_k p(x, z_k) / q(z_k | x), z_k ~ q(z | x), per image, averaged.
 * The log weights are computed on the GPU; the log-sum-exp over K of each
 * image's K weights runs in f64 after one readback.
 */
export async function importanceNll(
  ctx: EvalContext,
  iw: IwLogWeight,
  count: number,
  K: number,
): Promise<number> {
  const { gpu, graph } = ctx;
  const B = graph.batch, batches = Math.ceil(count / B);
  const logw = gpu.storage("eval.log_weights", batches * B * K * 4);
  const batchLogw = gpu.storage("eval.batch_log_weights", B * K * 4);
  const sums = gpu.storage("eval.sums", 2 * 4);
  await _batches(ctx, count, `IS NLL (K = ${K})`, (rec, b) => {
    for (let k = 0; k < K; k++) {
      graph.sampleEps(rec, ctx.seed + 7, b * K + k);
      // The encoder is deterministic: encode once, then draw K samples of z.
      graph.forwardLoss(rec, sums, 0, "eval", k === 0);
      iw.forward(rec, batchLogw, graph.perImage, graph.h, graph.eps, k * B);
    }
    rec.copy(batchLogw, 0, logw, b * B * K * 4, B * K * 4);
  });
  batchLogw.destroy();
  // Layout: batch b, sample k, image i at (b K + k) B + i.
  const w = await gpu.readF32(logw, 0, batches * B * K);
  logw.destroy();
  sums.destroy();
  let total = 0;
  for (let i = 0; i < count; i++) {
    const b = Math.floor(i / B), j = i % B;
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, w[(b * K + k) * B + j]);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(w[(b * K + k) * B + j] - max);
    total += -(max + Math.log(s / K));
  }
  return total / count;
}
