/**
 * The bench's training groups, in images/s: mlp (the MLP VAE, Kingma & Welling's shapes) and
 * conv-vae (the course's conv VAE), timed over whole steps as the trainer records them.
 */

import { permutation } from "../data/shuffle.ts";
import { Adam } from "../ops/optim.ts";
import { initMlpParams, KINGMA_WELLING, mlpLayout, MlpVae } from "../mlp/mlp_vae.ts";
import { ConvVae } from "../conv/conv_vae.ts";
import { likelihoodByName, LIKELIHOODS } from "../likelihood/registry.ts";
import type { Vae } from "../model/vae.ts";
import { PsiBatch } from "../study/psi.ts";
import { TORCH_WORKLOADS } from "./entry.ts";
import { addEntry } from "./table.ts";
import { type BenchContext, cpuClock } from "./timing.ts";
import { DispatchProfile } from "../gpu/profile.ts";
import { recordStepForward, type StepBuffers } from "../train/step.ts";

/** Wall time the timed training steps of one model should fill (--quick: a quarter). */
const TRAIN_TARGET_MS = 8000;
/** The most timed training steps (a fast GPU takes a millisecond or two per step). */
const MAX_STEPS = 1000;

/** MLP VAE training steps at batch 200; needs `c.data`. */
export async function mlpGroup(c: BenchContext): Promise<void> {
  const config = KINGMA_WELLING, batch = 200, warmup = 3;
  const model = new MlpVae(c.gpu, config, initMlpParams(mlpLayout(config), 1));
  const t = await timeTrainingSteps(c, model, batch, warmup, 10);
  if (c.profile) await _profileTrainingStep(c, TORCH_WORKLOADS.mlp.name, model, batch);
  addEntry(c, {
    name: TORCH_WORKLOADS.mlp.name,
    group: "mlp",
    ...t,
    shape: `784-${config.hidden}-${config.latent}, batch ${batch}`,
    note: `${t.iters} timed steps after ${warmup} warm-up, one submit each; ` +
      `${c.data!.count.toLocaleString("en-US")} MNIST images, static binarization`,
  });
}

/** Conv VAE training steps at batch 256, latent 16, under each likelihood; needs `c.data`. */
export async function convVaeGroup(c: BenchContext): Promise<void> {
  const config = { latent: 16 }, batch = 256;
  for (const name of LIKELIHOODS) {
    const lik = likelihoodByName(name);
    const model = ConvVae.init(c.gpu, config, lik, 1);
    const t = await timeTrainingSteps(c, model, batch, 1, c.quick ? 2 : 3);
    if (c.profile && name === "bernoulli") {
      await _profileTrainingStep(c, TORCH_WORKLOADS.conv.name, model, batch);
    }
    // The gather mode of the timed steps, as the model's (cached) graph feeds them.
    const feed = (await model.graph(batch)).feed(c.data!, "static");
    feed.destroy();
    addEntry(c, {
      name: name === "bernoulli" ? TORCH_WORKLOADS.conv.name : `conv VAE train step (${name})`,
      group: "conv-vae",
      shape: `latent ${config.latent}, batch ${batch}, ${name} head x${lik.width}`,
      ...t,
      note: `${t.iters} timed steps after 1 warm-up, one submit each` +
        (t.iters < 10 ? " (few: a step takes seconds on a CPU adapter)" : "") +
        `; ${c.data!.count.toLocaleString("en-US")} MNIST images, gather mode ${feed.mode}`,
    });
  }
  await _inferStep(c, batch);
}

/**
 * Inference without the encoder as `infer` runs it: per step eps, the eval-mode forward, the
 * decoder-only backward and the psi update of `images` images (one sample each), all steps in
 * one submit, timed up to the readback of the tracks.
 */
async function _inferStep(c: BenchContext, images: number): Promise<void> {
  const model = ConvVae.init(c.gpu, { latent: 16 }, likelihoodByName("bernoulli"), 1);
  const batch = await PsiBatch.create(model, c.data!, { images, samples: 1 });
  await batch.load(Array.from({ length: images }, (_, i) => i));
  const cpu = cpuClock();
  const run = (steps: number) =>
    batch.optimize({
      steps,
      lr: 1e-3,
      patience: steps + 1,
      optimizer: "sgd",
      seed: 1,
      checkEvery: steps + 1,
    });
  let t = performance.now();
  await run(0);
  const warmMs = performance.now() - t;
  const target = c.quick ? TRAIN_TARGET_MS / 4 : TRAIN_TARGET_MS;
  const steps = c.iters ?? Math.min(MAX_STEPS, Math.max(3, Math.ceil(target / warmMs)));
  t = performance.now();
  const r = await run(steps - 1);
  const seconds = (performance.now() - t) / 1000;
  c.cpuShare = cpu();
  batch.destroy();
  if (r.tracks.some((tr) => !Number.isFinite(tr.loss))) {
    throw new Error("Cannot report the infer step's speed: a loss is not finite");
  }
  addEntry(c, {
    name: "conv VAE infer step (frozen decoder)",
    group: "conv-vae",
    shape: `latent 16, ${images} images x 1 sample, bernoulli`,
    images_per_s: (steps * images) / seconds,
    ms: (seconds * 1000) / steps,
    iters: steps,
    note: `${steps} psi steps (eval-mode forward, decoder-only backward, SGD) in one submit ` +
      "after 1 warm-up; images/s counts image-steps",
  });
}

/**
 * Steps 0 .. `most` - 1 of a training run as src/train/trainer.ts records them, each one
 * submit: step(i) records and submits step i; sums receives each step's two loss sums.
 */
async function _trainingSteps(c: BenchContext, model: Vae, batch: number, most: number) {
  const gpu = c.gpu, data = c.data!;
  const graph = await model.graph(batch);
  const adam = await Adam.create(gpu, model.layout.total, { lr: 1e-3 });
  const order = new Uint32Array(most * batch);
  for (let i = 0, epoch = 1; i < order.length; i += data.count, epoch++) {
    const p = permutation(data.count, 1, epoch);
    order.set(p.subarray(0, Math.min(data.count, order.length - i)), i);
  }
  const perm = gpu.storage("bench order", order), batchIdx = gpu.storage("bench batch", batch * 4);
  const sums = gpu.storage("bench sums", most * 2 * 4);
  const feed = graph.feed(data, "static");
  const buffers: StepBuffers = { graph, feed, perm, batchIdx, sums, batch, seed: 1 };
  const step = (i: number) => {
    const rec = gpu.record("bench train step");
    // The whole run's order is one buffer here, so step i is also the global step.
    recordStepForward(rec, buffers, i, i);
    graph.backward(rec);
    adam.step(rec, model.params, model.grads, model.m, model.v);
    return rec.submit();
  };
  const destroy = () => {
    for (const b of [perm, batchIdx, sums, feed]) b.destroy();
  };
  return { step, sums, destroy };
}

/**
 * With --profile: one training step of `model` after one warm-up step, every dispatch timed
 * by timestamp queries in a pass of its own (src/gpu/profile.ts), summed by kernel.
 */
async function _profileTrainingStep(
  c: BenchContext,
  name: string,
  model: Vae,
  batch: number,
): Promise<void> {
  const gpu = c.gpu;
  const { step, destroy } = await _trainingSteps(c, model, batch, 2);
  await step(0);
  await gpu.finish();
  const profile = new DispatchProfile(gpu.device);
  gpu.profile = profile;
  const t = performance.now();
  try {
    await step(1);
    await gpu.finish();
  } finally {
    gpu.profile = null;
  }
  const wallMs = performance.now() - t;
  const timings = await profile.read();
  profile.destroy();
  destroy();
  c.profiles.push({ name, batch, wallMs, timings });
}

/**
 * Whole training steps as src/train/trainer.ts records them (batch indices, the likelihood's
 * gather, eps, forward loss, backward, Adam; one submit per step): `warmup`
 * untimed steps, each waited for, then --iters steps, or as many as the last warm-up step's
 * time says fill TRAIN_TARGET_MS (at least `minSteps`), timed up to the readback of their
 * losses.
 */
export async function timeTrainingSteps(
  c: BenchContext,
  model: Vae,
  batch: number,
  warmup: number,
  minSteps: number,
): Promise<{ images_per_s: number; ms: number; iters: number }> {
  const gpu = c.gpu, cpu = cpuClock();
  const most = warmup + (c.iters ?? MAX_STEPS);
  const { step, sums, destroy } = await _trainingSteps(c, model, batch, most);
  let lastMs = 0;
  for (let i = 0; i < warmup; i++) {
    const t = performance.now();
    await step(i);
    await gpu.finish();
    lastMs = performance.now() - t;
  }
  const target = c.quick ? TRAIN_TARGET_MS / 4 : TRAIN_TARGET_MS;
  const steps = c.iters ??
    Math.min(MAX_STEPS, Math.max(minSteps, Math.ceil(target / Math.max(lastMs, 1e-3))));
  const t0 = performance.now();
  for (let i = warmup; i < warmup + steps; i++) await step(i);
  const s = await gpu.readF32(sums, warmup * 2, steps * 2);
  const seconds = (performance.now() - t0) / 1000;
  c.cpuShare = cpu();
  destroy();
  const bad = s.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) {
    throw new Error(
      `Cannot report ${model.kind} training speed: the loss of timed step ${bad >> 1} is ${s[bad]}`,
    );
  }
  return { images_per_s: (steps * batch) / seconds, ms: (seconds * 1000) / steps, iters: steps };
}
