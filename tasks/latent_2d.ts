/**
 * deno task latent-2d: the Bernoulli conv VAE with a 2-D latent. Trains it as train-bernoulli
 * does (same flags and schedule, latent 2, all of train-bernoulli's outputs), or with
 * --checkpoint loads a trained one instead, then writes into --out:
 *   latent_scatter.svg  mu of the first 1,000 test images, coloured by digit
 *   lattice.png         decoded mean images over a 20 x 20 lattice of the prior's quantiles,
 *                       z1 ticked along the bottom, z2 up the left
 * The test images are statically binarized (x > 0.5), batch norm is in eval mode.
 */

import { join } from "node:path";
import {
  type Flags,
  type FlagSpecs,
  parseFlags,
  printWritten,
  runTask,
  UsageError,
  usageText,
} from "../src/cli.ts";
import { prepareOutDir } from "../src/io.ts";
import { type ManifestFile, writeManifest } from "../src/report/manifest.ts";
import { Gpu } from "../src/gpu/gpu.ts";
import { type DataSource, loadMnist } from "../src/data/mnist.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { convTrainFlags, trainConv } from "../src/app/train_conv.ts";
import type { Vae } from "../src/model/vae.ts";
import { loadCheckpoint, warnOtherData } from "../src/train/checkpoint.ts";
import { loadVae } from "../src/app/models.ts";
import { imageGrid, vconcat, writePng } from "../src/plot/png.ts";
import { scatterPlot, writeSvg } from "../src/plot/svg.ts";
import { latticeAxes, latticeCoords } from "../src/plot/lattice.ts";
import {
  captionStrip,
  decodeLattice,
  encodeMeans,
  latticeCaption,
  modelWords,
  SCATTER_WIDTH,
} from "../src/study/latent_figures.ts";

const TASK = "latent-2d";
// The latent is this task's point, not a choice: train-bernoulli's flags without --latent.
const { latent: _latent, ...TRAIN } = convTrainFlags("bernoulli", {
  latent: 2,
  out: `out/${TASK}`,
});
const SPEC = {
  checkpoint: {
    type: "string",
    value: "PATH",
    help: "skip training: draw the figures of this conv Bernoulli checkpoint with latent 2",
  },
  ...TRAIN,
  scatterImages: {
    type: "number",
    default: 1000,
    integer: true,
    min: 10,
    max: 10000,
    help: "first test images in the scatter",
  },
  lattice: {
    type: "number",
    default: 20,
    integer: true,
    min: 2,
    max: 50,
    help: "lattice points per side",
  },
} as const satisfies FlagSpecs;
const USAGE = {
  task: TASK,
  summary: "Trains the conv VAE with a Bernoulli likelihood and a 2-D latent as train-bernoulli " +
    "does (or loads --checkpoint), then draws mu of the test images coloured by digit and the " +
    "decoder's means over a lattice of the prior's quantiles.",
};
/** Flags that only mean something when this task trains. */
const TRAINING_ONLY = Object.keys(TRAIN).filter((k) => k !== "out" && k !== "data");

runTask(async () => {
  if (_given(Deno.args, ["latent"]).length > 0) {
    throw new UsageError(
      "latent-2d always trains a 2-D latent; for another size run " +
        "`deno task train-bernoulli --latent N`",
      usageText(SPEC, USAGE),
    );
  }
  const f = parseFlags(Deno.args, SPEC, USAGE);
  // Training checks its --out itself; with --checkpoint only the figures are written.
  if (f.checkpoint !== undefined) await prepareOutDir(f.out);
  const { vae, test, labels, epoch, written, figures, source } = f.checkpoint === undefined
    ? await _trained(f)
    : await _loaded(f, f.checkpoint);
  const model = modelWords(vae, epoch);

  const n = f.scatterImages;
  const mu = await encodeMeans(vae, test, n);
  const scatter = join(f.out, "latent_scatter.svg");
  await writeSvg(
    scatter,
    scatterPlot({
      x: Array.from({ length: n }, (_, i) => mu[2 * i]),
      y: Array.from({ length: n }, (_, i) => mu[2 * i + 1]),
      labels: Array.from(labels.subarray(0, n)),
      title: `${model}: mu of the first ${n} test images`,
      xLabel: "z1 (mu)",
      yLabel: "z2 (mu)",
      width: SCATTER_WIDTH,
      caption: "Posterior means of statically binarized test images (x > 0.5), batch norm " +
        "in eval mode; the prior is N(0, I).",
    }),
  );
  written.push(scatter);

  // About 1400 pixels a side at most, as the MLP's 50 x 50 lattice.
  const k = f.lattice, scale = Math.max(1, Math.floor(1400 / (28 * k)));
  const grid = imageGrid(await decodeLattice(vae, k), {
    h: 28,
    w: 28,
    rows: k,
    cols: k,
    scale,
    pad: 0,
  });
  const axes = latticeAxes(grid, latticeCoords(k, { quantile: true }), { cell: 28 * scale });
  const lattice = join(f.out, "lattice.png");
  await writePng(lattice, vconcat(axes, captionStrip(latticeCaption(k), axes.width), 0));
  written.push(lattice);
  console.error(`${model}; lattice ${k} x ${k}`);
  figures.push(
    {
      file: scatter,
      caption: `${model}: posterior means mu of the first ${n} test images (statically ` +
        "binarized), coloured by digit; the prior is N(0, I).",
    },
    {
      file: lattice,
      caption: `The decoder's mean images over a ${k} x ${k} lattice of the prior's quantiles ` +
        "(z = inverse normal CDF of (i + 0.5) / k in each dimension): z1 increases to the " +
        "right, z2 upwards; the ticks mark round values of z, unevenly spaced as the quantiles " +
        "are.",
    },
  );
  written.push(
    await writeManifest(f.out, {
      task: TASK,
      title: "The 2-D latent of the Bernoulli conv VAE",
      figures,
      ...(f.checkpoint === undefined
        ? { metrics: join(f.out, "metrics.json"), log: join(f.out, "log.json") }
        : {}),
      adapter: vae.gpu.adapterSummary,
      data: source,
      notes: f.checkpoint === undefined ? [] : [`Figures of ${f.checkpoint} (not trained here).`],
    }),
  );
  printWritten(written);
});

interface Model {
  vae: Vae;
  test: GpuDataset;
  labels: Uint8Array;
  /** The epoch whose parameters these are. */
  epoch: number;
  written: string[];
  /** Training's figures with captions (none for a loaded checkpoint). */
  figures: ManifestFile[];
  source: DataSource;
}

/** Trains as train-bernoulli does, into --out; the best epoch's model. */
async function _trained(f: Flags<typeof SPEC>): Promise<Model> {
  const r = await trainConv(TASK, "bernoulli", { ...f, latent: 2 });
  const epoch = Number(r.metrics.best_epoch);
  return {
    vae: r.model,
    test: r.test,
    labels: r.mnist.test.labels,
    epoch,
    written: r.written,
    figures: r.figures,
    source: r.mnist.source,
  };
}

/** The model of a conv Bernoulli checkpoint with latent 2. */
async function _loaded(f: Flags<typeof SPEC>, path: string): Promise<Model> {
  const given = _given(Deno.args, TRAINING_ONLY);
  if (given.length > 0) {
    throw new UsageError(
      `${given.join(", ")} ${given.length === 1 ? "is a training flag" : "are training flags"}` +
        ` and --checkpoint skips training: drop ${
          given.length === 1 ? "it" : "them"
        } or --checkpoint`,
      usageText(SPEC, USAGE),
    );
  }
  const hint = "run `deno task latent-2d` (without --checkpoint) first";
  const ckpt = await loadCheckpoint(path, hint);
  const gpu = await Gpu.create();
  const vae = await loadVae(gpu, path, hint, { model: "conv", likelihood: "bernoulli" });
  if (vae.latent !== 2) {
    throw new UsageError(
      `${path} has a ${vae.latent}-D latent; latent-2d needs latent 2 (train one with ` +
        "`deno task latent-2d`; for a larger latent see `deno task latent-pca`)",
      usageText(SPEC, USAGE),
    );
  }
  const mnist = await loadMnist({ dir: f.data });
  await warnOtherData(path, mnist.source);
  const test = await GpuDataset.create(gpu, mnist.test.images, mnist.test.count);
  return {
    vae,
    test,
    labels: mnist.test.labels,
    epoch: ckpt.state.epoch,
    written: [],
    figures: [],
    source: mnist.source,
  };
}

/** Which of `keys` (camelCase) the command line sets, spelled as flags. */
function _given(args: string[], keys: string[]): string[] {
  const kebab = new Map(keys.map((k) => [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), k]));
  const found = new Set<string>();
  for (const a of args) {
    if (!a.startsWith("--")) continue;
    const name = a.slice(2).split("=")[0];
    const bare = kebab.has(name) ? name : name.startsWith("no-") ? name.slice(3) : name;
    if (kebab.has(bare)) found.add(`--${bare}`);
  }
  return [...found];
}
