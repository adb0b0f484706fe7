/**
 * The conv VAE's standard figures: the first 32 test images beside their
 * reconstructions (decoded from z = mu), and 64 samples from the prior
 * (Bernoulli means), both with batch norm in evaluation mode.
 */

import type { GpuDataset } from "../data/gpu_dataset.ts";
import { hconcat, imageGrid, writePng } from "../plot/png.ts";
import type { Binarize } from "../train/evaluate.ts";
import type { ConvVae } from "./conv_vae.ts";

const P = 784;

export async function convFigures(
  vae: ConvVae,
  test: GpuDataset,
  o: { binarize: Binarize; seed: number; reconstructions: string; samples: string },
): Promise<string[]> {
  const gpu = vae.gpu;
  // Reconstructions: z = mu (eps = 0), decoded to Bernoulli means.
  const g = await vae.graph(32);
  const idx = gpu.storage("fig.indices", Uint32Array.from({ length: 32 }, (_, i) => i));
  let rec = gpu.record("reconstructions");
  test.gather(rec, g.x, idx, 32, o.binarize === "dynamic" ? "static" : o.binarize);
  g.encode(rec);
  rec.clear(g.eps);
  g.reparameterize(rec);
  g.decodeMeans(rec);
  await rec.submit();
  const xs = await gpu.readF32(g.x, 0, 32 * P), recon = await gpu.readF32(g.probs, 0, 32 * P);
  const grid = (a: Float32Array) =>
    imageGrid(a, { h: 28, w: 28, rows: 4, cols: 8, scale: 2, pad: 2 });
  await writePng(o.reconstructions, hconcat(grid(xs), grid(recon), 16));
  idx.destroy();

  // Prior samples: z ~ N(0, I).
  const s = await vae.graph(64);
  rec = gpu.record("samples");
  s.sampleEps(rec, o.seed + 11, 0);
  rec.copy(s.eps, 0, s.z, 0, 64 * vae.latent * 4);
  s.decodeMeans(rec);
  await rec.submit();
  const samples = await gpu.readF32(s.probs, 0, 64 * P);
  await writePng(
    o.samples,
    imageGrid(samples, { h: 28, w: 28, rows: 8, cols: 8, scale: 2, pad: 2 }),
  );
  return [o.reconstructions, o.samples];
}
