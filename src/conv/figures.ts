/**
 * A trained VAE's standard figures, for any likelihood, with batch norm in evaluation mode:
 * the first 32 test images beside their reconstructions (the likelihood's mean image decoded
 * from z = mu), and 64 samples from the prior as mean images, with one more row below of
 * actual draws from p(x | z) for the first row's z.
 */

import type { Vae } from "../model/vae.ts";
import { hconcat, imageGrid, vconcat, writePng } from "../plot/png.ts";
import type { BinarizeMode as Binarize, GpuDataset } from "../data/gpu_dataset.ts";

const P = 784;

export async function convFigures(
  vae: Vae,
  test: GpuDataset,
  o: { binarize: Binarize; seed: number; reconstructions: string; samples: string },
): Promise<string[]> {
  const gpu = vae.gpu;
  // Reconstructions: z = mu (eps = 0), decoded to mean images. Dynamic binarization shows
  // the fixed threshold's images, which is what a reader compares against.
  const g = await vae.graph(32);
  const idx = gpu.storage("fig.indices", Uint32Array.from({ length: 32 }, (_, i) => i));
  const binarize = o.binarize === "dynamic" ? "static" : o.binarize;
  const feed = g.feed(test, binarize);
  let rec = gpu.record("reconstructions");
  feed.gather(rec, idx, o.seed + 13, 0);
  g.encode(rec);
  rec.clear(g.eps);
  g.reparameterize(rec);
  g.decodeMeans(rec);
  await rec.submit();
  const xs = await gpu.readF32(g.x, 0, 32 * P), recon = await gpu.readF32(g.image, 0, 32 * P);
  const grid = (a: Float32Array, rows = 4) =>
    imageGrid(a, { h: 28, w: 28, rows, cols: 8, scale: 2, pad: 2 });
  await writePng(o.reconstructions, hconcat(grid(xs), grid(recon), 16));
  idx.destroy();
  feed.destroy();

  // Prior samples: z ~ N(0, I); their mean images, then draws for the first 8.
  const s = await vae.graph(64);
  rec = gpu.record("samples");
  s.sampleEps(rec, o.seed + 11, 0);
  rec.copy(s.eps, 0, s.z, 0, 64 * vae.latent * 4);
  s.decodeMeans(rec);
  await rec.submit();
  const means = await gpu.readF32(s.image, 0, 64 * P);
  rec = gpu.record("draws");
  s.decodeSamples(rec, o.seed + 12, 0);
  await rec.submit();
  const draws = await gpu.readF32(s.image, 0, 8 * P);
  await writePng(o.samples, vconcat(grid(means, 8), grid(draws, 1), 12));
  return [o.reconstructions, o.samples];
}
