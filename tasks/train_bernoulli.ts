/**
 * deno task train-bernoulli: the course's conv VAE (SPEC.md model 1) with a
 * Bernoulli likelihood on binarized MNIST: batch 256, Adam 1e-3, up to 50
 * epochs with early stopping on validation -ELBO.
 *
 * Writes to out/train-bernoulli/: metrics.json, log.json, elbo.svg,
 * reconstructions.png (first 32 test images beside their reconstructions),
 * samples.png (64 prior samples, Bernoulli means), model.safetensors (best),
 * last.safetensors (for --resume).
 */

import { join } from "node:path";
import { parseFlags, printWritten, runTask } from "../src/cli.ts";
import { ConvVae, initConvParams } from "../src/conv/conv_vae.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { sessionFlagSpec } from "../src/train/flags.ts";
import { runSession } from "../src/train/session.ts";
import { convFigures } from "../src/conv/figures.ts";

runTask(async () => {
  const f = parseFlags(
    Deno.args,
    sessionFlagSpec({
      epochs: 50,
      batch: 256,
      latent: 16,
      out: "out/train-bernoulli",
      // Each importance sample is a decoder pass: on the software adapter K = 100 over 1,000
      // images would take ~10 minutes, so the default is smaller; raise it on a GPU.
      isSamples: 50,
      isImages: 512,
    }),
    {
      task: "train-bernoulli",
      summary:
        "Trains the conv VAE with a Bernoulli likelihood on binarized MNIST; writes curves, " +
        "reconstructions, prior samples and test metrics (-ELBO, IS NLL).",
    },
  );
  const config = { latent: f.latent, likelihood: "bernoulli" as const };
  const { gpu, model, mnist, written } = await runSession(
    "train-bernoulli",
    f,
    "bernoulli",
    (gpu, seed) => Promise.resolve(new ConvVae(gpu, config, initConvParams(config, seed))),
  );
  const test = await GpuDataset.create(gpu, mnist.test.images, mnist.test.count);
  const figures = await convFigures(model as ConvVae, test, {
    binarize: f.binarize,
    seed: f.seed,
    reconstructions: join(f.out, "reconstructions.png"),
    samples: join(f.out, "samples.png"),
  });
  printWritten([...written, ...figures]);
});
