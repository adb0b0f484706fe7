/**
 * deno task train-notebook / train-blog: a tutorial preset trained through the same session as
 * every model (progress bars, validation, checkpoints, metrics), then the tutorial's figures:
 *   reconstructions.png       (input, reconstruction) pairs of the first test images
 *   grid.png                  decoder outputs over the tutorial's square of the 2-D latent,
 *                             z1 ticked along the bottom, z2 up the left
 *   latent_scatter.svg        mu of the first N test images, coloured by digit
 *   latent_scatter_train.svg  the same for the first N training images
 * and manifest.json for the report.
 */

import { join } from "node:path";
import { parseFlags, printWritten } from "../cli.ts";
import { GpuDataset } from "../data/gpu_dataset.ts";
import type { Vae } from "../model/vae.ts";
import { imageGrid, vconcat, writePng } from "../plot/png.ts";
import { latticeAxes } from "../plot/lattice.ts";
import { scatterPlot, writeSvg } from "../plot/svg.ts";
import { writeManifest } from "../report/manifest.ts";
import { captionStrip, decodeAt, encodeMeans } from "../study/latent_figures.ts";
import { sessionFlagSpec } from "../train/flags.ts";
import { runSession } from "../train/session.ts";
import { exportTorch } from "./export.ts";
import { initMlpParams, MlpVae } from "../mlp/mlp_vae.ts";
import { mlpLayout, mlpShapeText } from "../mlp/mlp_net.ts";
import { type Preset, presetGrid } from "../mlp/presets.ts";

const P = 784;

export async function trainPresetTask(preset: Preset, args: string[]): Promise<void> {
  const { isSamples: _k, isImages: _n, ...session } = sessionFlagSpec({
    epochs: preset.epochs,
    batch: preset.batch,
    latent: 2,
    out: `out/${preset.task}`,
    isSamples: 0,
    isImages: 1,
  });
  const f = parseFlags(args, {
    ...session,
    lr: { ...session.lr, default: preset.lr },
    patience: {
      ...session.patience,
      default: 10000,
      help: "early stopping: epochs without a better validation loss (the tutorial had none)",
    },
    scatterImages: {
      type: "number",
      default: 2000,
      integer: true,
      min: 1,
      max: 10000,
      help: "images in each latent scatter (test, training)",
    },
  }, {
    task: preset.task,
    summary: preset.summary,
    details: ["Reproduced from the tutorial, quirks included:", ...preset.quirks],
  });
  if (f.latent !== 2) {
    console.error(`note: the tutorial's latent is 2; its grid figure needs 2 (got ${f.latent})`);
  }
  const config = { ...preset.config, latent: f.latent };
  const objective = preset.objective(f.batch);
  const { gpu, model, mnist, written } = await runSession(
    preset.task,
    { ...f, binarize: "none", isSamples: 0, isImages: 1 },
    (gpu, seed) => {
      const init = initMlpParams(mlpLayout(config, preset.likelihood.width), seed);
      return Promise.resolve(new MlpVae(gpu, config, init, preset.likelihood));
    },
    {
      objective,
      afterBest: exportTorch,
      printed: preset.printed,
      metrics: {
        preset: preset.name,
        architecture: `${mlpShapeText(config)} (decoder mirrored)`,
        tutorial_quirks: preset.quirks,
      },
    },
  );

  const n = Math.min(f.scatterImages, mnist.test.count, mnist.train.count);
  const [test, trainSet] = await Promise.all([
    GpuDataset.create(gpu, mnist.test.images.subarray(0, n * P), n),
    GpuDataset.create(gpu, mnist.train.images.subarray(0, n * P), n),
  ]);
  const figures = await _presetPngs(model, preset, test, f.out);
  for (
    const [split, data, labels] of [
      ["test", test, mnist.test.labels],
      ["training", trainSet, mnist.train.labels],
    ] as const
  ) {
    const mu = await encodeMeans(model, data, n, 250, "none");
    const L = model.latent;
    const path = join(f.out, split === "test" ? "latent_scatter.svg" : "latent_scatter_train.svg");
    await writeSvg(
      path,
      scatterPlot({
        x: Array.from({ length: n }, (_, i) => mu[i * L]),
        y: Array.from({ length: n }, (_, i) => mu[i * L + 1]),
        labels: Array.from(labels.subarray(0, n)),
        title: `${preset.task}: posterior means of the first ${n} ${split} images`,
        xLabel: "mu 1",
        yLabel: "mu 2",
        legendTitle: "digit",
      }),
    );
    figures.push({
      file: path,
      caption: `mu of the first ${n} ${split} images, coloured by digit` +
        (L > 2 ? ` (the first two of ${L} dimensions)` : "") + ".",
    });
  }
  test.destroy();
  trainSet.destroy();
  const manifest = await writeManifest(f.out, {
    task: preset.task,
    title: `Tutorial preset "${preset.name}": ${mlpShapeText(config)} MLP VAE`,
    figures: [
      {
        file: join(f.out, "elbo.svg"),
        caption: `Training and validation loss per epoch: ${objective.description}.`,
      },
      ...figures,
    ],
    metrics: join(f.out, "metrics.json"),
    log: join(f.out, "log.json"),
    loss: objective.description,
    adapter: gpu.adapterSummary,
    data: mnist.source,
    notes: preset.quirks,
  });
  printWritten([...written, ...figures.map((x) => x.file), manifest]);
}

/**
 * The tutorial's PNG figures of `model` into `out`: reconstructions.png and, for a 2-D
 * latent, grid.png; their files and captions, for the manifest.
 */
async function _presetPngs(
  model: Vae,
  preset: Preset,
  test: GpuDataset,
  out: string,
): Promise<{ file: string; caption: string }[]> {
  const figures: { file: string; caption: string }[] = [];
  const { rows, cols } = preset.pairs;
  const recon = join(out, "reconstructions.png");
  await writePng(recon, await _pairs(model, test, rows, cols));
  figures.push({
    file: recon,
    caption: `The first ${rows * cols} test images (grey levels), ${rows} rows of ${cols}, each ` +
      "followed on its right by its reconstruction: the decoder's output at z = mu of the " +
      `encoder, as the tutorial shows it${preset.pairs.note ? ` (${preset.pairs.note})` : ""}.`,
  });
  if (model.latent === 2) {
    const { k, lo, step, words } = preset.grid;
    const grid = imageGrid(await decodeAt(model, presetGrid(preset)), {
      h: 28,
      w: 28,
      rows: k,
      cols: k,
      scale: 2,
      pad: 0,
    });
    const coords = Array.from({ length: k }, (_, i) => lo + step * i);
    const axes = latticeAxes(grid, coords, { cell: 56 });
    const gridPath = join(out, "grid.png");
    const lines = [`decoder outputs; z1 left to right, z2 bottom to top`, words];
    await writePng(gridPath, vconcat(axes, captionStrip(lines, axes.width), 0));
    figures.push({
      file: gridPath,
      caption: `Decoder outputs over a ${k} x ${k} grid of the latent square (${words}); z1 ` +
        "increases to the right, z2 upwards, ticked at round values.",
    });
  }
  return figures;
}

/** rows x cols pairs: each test image, then its reconstruction at z = mu (eval mode). */
async function _pairs(vae: Vae, data: GpuDataset, rows: number, cols: number) {
  const gpu = vae.gpu, n = rows * cols;
  const g = await vae.graph(n);
  const idx = gpu.storage("preset.indices", Uint32Array.from({ length: n }, (_, i) => i));
  const rec = gpu.record("preset reconstructions");
  data.gather(rec, g.x, idx, n, "none");
  g.encode(rec);
  rec.clear(g.eps);
  g.reparameterize(rec);
  g.decodeMeans(rec);
  await rec.submit();
  const xs = await gpu.readF32(g.x, 0, n * P), ys = await gpu.readF32(g.image, 0, n * P);
  idx.destroy();
  const both = new Float32Array(2 * n * P);
  for (let i = 0; i < n; i++) {
    both.set(xs.subarray(i * P, (i + 1) * P), 2 * i * P);
    both.set(ys.subarray(i * P, (i + 1) * P), (2 * i + 1) * P);
  }
  return imageGrid(both, { h: 28, w: 28, rows, cols: 2 * cols, scale: 2, pad: 2 });
}
