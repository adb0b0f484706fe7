/**
 * deno task train-mlp: the Kingma & Welling MLP VAE (784-500 tanh-latent 2,
 * Bernoulli decoder) on binarized MNIST, batch 200, Adam 1e-3, up to 100
 * epochs with early stopping on validation -ELBO.
 *
 * Writes to out/train-mlp/: metrics.json, log.json, elbo.svg, model.safetensors
 * (best), last.safetensors (for --resume).
 */

import { exportTorch } from "../src/app/export.ts";
import { join } from "node:path";
import { parseFlags, printWritten, runTask } from "../src/cli.ts";
import { initMlpParams, KINGMA_WELLING, mlpLayout, MlpVae } from "../src/mlp/mlp_vae.ts";
import { BINARIZE_FLAG, sessionFlagSpec } from "../src/train/flags.ts";
import { runSession } from "../src/train/session.ts";
import { writeManifest } from "../src/report/manifest.ts";

runTask(async () => {
  const f = parseFlags(
    Deno.args,
    {
      ...sessionFlagSpec({
        epochs: 100,
        batch: 200,
        latent: 2,
        out: "out/train-mlp",
        isSamples: 100,
        isImages: 1000,
      }),
      ...BINARIZE_FLAG,
      hidden: {
        type: "number",
        default: 500,
        integer: true,
        min: 1,
        max: 8192,
        help: "hidden units",
      },
    },
    {
      task: "train-mlp",
      summary:
        "Trains the Kingma & Welling MLP VAE on binarized MNIST and reports test -ELBO and IS NLL.",
    },
  );
  const config = { ...KINGMA_WELLING, latent: f.latent, hidden: f.hidden };
  const { gpu, mnist, metrics, written } = await runSession(
    "train-mlp",
    f,
    (gpu, seed) => {
      const init = initMlpParams(mlpLayout(config), seed);
      return Promise.resolve(new MlpVae(gpu, config, init));
    },
    { afterBest: exportTorch },
  );
  const manifest = await writeManifest(f.out, {
    task: "train-mlp",
    title: `Kingma & Welling MLP VAE (784-${f.hidden}-${f.latent})`,
    figures: [{
      file: join(f.out, "elbo.svg"),
      caption: `Training and validation -ELBO per epoch, nats per image of ${metrics.data_space}.`,
    }],
    metrics: join(f.out, "metrics.json"),
    log: join(f.out, "log.json"),
    loss: String(metrics.loss),
    adapter: gpu.adapterSummary,
    data: mnist.source,
    notes: ["Its figures are drawn by `deno task mlp-figures`."],
  });
  printWritten([...written, manifest]);
});
