/**
 * The four `train-<likelihood>` tasks: the course's conv VAE under one
 * likelihood, batch 256, Adam 1e-3, up to 50 epochs with early stopping on validation -ELBO.
 * Writes to out/train-<likelihood>/: metrics.json, log.json, elbo.svg, reconstructions.png
 * (the first 32 test images beside their reconstructions), samples.png (64 prior samples as
 * mean images, then a row of draws from p(x | z)), model.safetensors (best), last.safetensors
 * (for --resume).
 */

import { join } from "node:path";
import { type Flags, parseFlags, printWritten } from "../cli.ts";
import { GpuDataset } from "../data/gpu_dataset.ts";
import type { Mnist } from "../data/mnist.ts";
import type { Gpu } from "../gpu/gpu.ts";
import { binarizeFor, type LikelihoodName } from "../likelihood/likelihood.ts";
import { DEFAULT_BINS, likelihoodByName } from "../likelihood/registry.ts";
import { BINARIZE_FLAG, type SessionDefaults, sessionFlagSpec } from "../train/flags.ts";
import { runSession } from "../train/session.ts";
import { exportTorch } from "./export.ts";
import { type ManifestFile, writeManifest } from "../report/manifest.ts";
import { ConvVae } from "../conv/conv_vae.ts";
import { convFigures } from "../conv/figures.ts";

const SUMMARY: Record<LikelihoodName, string> = {
  bernoulli: "a Bernoulli likelihood on binarized MNIST",
  gaussian: "a Gaussian likelihood (mean and log-variance per pixel) on uniformly dequantized " +
    "grey levels y = (p + u) / 256; also reports bits/dim",
  beta: "a Beta likelihood (two softplus shapes per pixel) on uniformly dequantized grey levels " +
    "y = (p + u) / 256; also reports bits/dim",
  categorical: "a Categorical likelihood over k grey-level bins per pixel (--bins)",
};

/**
 * The flags of `train-<name>`, with the session defaults overridden by `defaults` (another task
 * that trains the same way, e.g. latent-2d, changes the latent and the output directory). Only
 * Bernoulli binarizes and only Categorical has bins: the others do not offer the flag.
 */
export function convTrainFlags(name: LikelihoodName, defaults: Partial<SessionDefaults> = {}) {
  const session = sessionFlagSpec({
    epochs: 50,
    batch: 256,
    latent: 16,
    out: `out/train-${name}`,
    // Each importance sample is a decoder pass: on the software adapter K = 100 over 1,000
    // images would take ~10 minutes, so the default is smaller; raise it on a GPU.
    isSamples: 50,
    isImages: 512,
    ...defaults,
  });
  const bins = {
    bins: {
      type: "number",
      default: DEFAULT_BINS,
      integer: true,
      min: 2,
      max: 256,
      help: "k, grey-level bins per pixel",
    },
  } as const;
  const spec = { ...session, ...BINARIZE_FLAG, ...bins };
  return Object.fromEntries(
    Object.entries(spec).filter(([k]) =>
      (k !== "binarize" || name === "bernoulli") && (k !== "bins" || name === "categorical")
    ),
  ) as typeof spec;
}

export type ConvTrainFlags = Flags<ReturnType<typeof convTrainFlags>>;

export interface ConvTrainResult {
  gpu: Gpu;
  model: ConvVae;
  mnist: Mnist;
  /** The test split on the GPU. */
  test: GpuDataset;
  /** Training's outputs: metrics.json, log.json, elbo.svg, checkpoints, figures. */
  written: string[];
  metrics: Record<string, unknown>;
  /** The curve and the two figures, with captions for the report. */
  figures: ManifestFile[];
}

/** Trains, evaluates and draws the figures of the conv VAE with likelihood `name`. */
export async function trainConv(
  task: string,
  name: LikelihoodName,
  f: ConvTrainFlags,
): Promise<ConvTrainResult> {
  const lik = likelihoodByName(name, { bins: f.bins ?? DEFAULT_BINS });
  const config = { latent: f.latent };
  const { gpu, model, mnist, metrics, written } = await runSession(
    task,
    f,
    (gpu, seed) => Promise.resolve(ConvVae.init(gpu, config, lik, seed)),
    { afterBest: exportTorch },
  );
  const test = await GpuDataset.create(gpu, mnist.test.images, mnist.test.count);
  const figures = await convFigures(model, test, {
    binarize: binarizeFor(lik, f.binarize),
    seed: f.seed,
    reconstructions: join(f.out, "reconstructions.png"),
    samples: join(f.out, "samples.png"),
  });
  const data = String(metrics.data_space);
  const captioned = [
    {
      file: join(f.out, "elbo.svg"),
      caption: `Training and validation -ELBO per epoch, nats per image of ${data}.`,
    },
    {
      file: figures[0],
      caption: `The first 32 test images (left, ${data}) and their reconstructions (right): ` +
        "the likelihood's mean image decoded from z = mu, batch norm in eval mode.",
    },
    {
      file: figures[1],
      caption: "64 samples z ~ N(0, I) of the prior decoded to the likelihood's mean images; " +
        "the row below: one draw from p(x | z) for each z of the first row.",
    },
  ];
  return {
    gpu,
    model: model as ConvVae,
    mnist,
    test,
    metrics,
    written: [...written, ...figures],
    figures: captioned,
  };
}

/** Parses the task's flags, trains, evaluates and draws the figures. */
export async function trainConvTask(name: LikelihoodName, args: string[]): Promise<void> {
  const task = `train-${name}`;
  const f = parseFlags(args, convTrainFlags(name), {
    task,
    summary: `Trains the conv VAE with ${SUMMARY[name]}; writes curves, reconstructions, ` +
      "prior samples and test metrics (-ELBO, IS NLL).",
  });
  const r = await trainConv(task, name, f);
  const manifest = await writeManifest(f.out, {
    task,
    title: `Conv VAE, ${name} likelihood`,
    figures: r.figures,
    metrics: join(f.out, "metrics.json"),
    log: join(f.out, "log.json"),
    loss: String(r.metrics.loss),
    adapter: r.gpu.adapterSummary,
    data: r.mnist.source,
    notes: [SUMMARY[name].replace(/^a /, "A ") + "."],
  });
  printWritten([...r.written, manifest]);
}
