/**
 * Building blocks of the latent-space studies (latent-2d, latent-pca): the posterior means of
 * the first test images, decoded mean images over a lattice of the 2-D prior's quantiles, a
 * caption strip for PNG figures, and the words that name a model in titles.
 */

import type { GpuDataset } from "../data/gpu_dataset.ts";
import type { Vae } from "../model/vae.ts";
import { latticePoints, normalQuantile } from "../plot/lattice.ts";
import type { GrayImage } from "../plot/png.ts";
import { textImage } from "../plot/label.ts";
import { paddedIndices } from "../train/evaluate.ts";

const P = 784;
/** Images per encoder or decoder pass: the training batch, whose graph may already exist. */
const BATCH = 256;

/**
 * mu (count, L) of the first `count` images of `data`, encoded in eval mode (batch norm's
 * running statistics) from the fixed threshold x > 0.5 for binary data (or the grey levels,
 * `binarize` "none", for a model trained on them), `batch` images a pass (the last padded).
 * One readback.
 */
export async function encodeMeans(
  vae: Vae,
  data: GpuDataset,
  count: number,
  batch = BATCH,
  binarize: "static" | "none" = "static",
): Promise<Float32Array> {
  if (!Number.isInteger(count) || count < 1 || count > data.count) {
    throw new RangeError(`Cannot encode ${count} images: the split holds ${data.count}`);
  }
  const gpu = vae.gpu, L = vae.latent, B = Math.min(batch, count);
  const g = await vae.graph(B);
  const feed = g.feed(data, binarize);
  if (feed.noisy) {
    feed.destroy();
    throw new RangeError(
      `Cannot encode fixed images for the ${vae.likelihood.name} likelihood: its data are noisy`,
    );
  }
  const idx = paddedIndices(count, B), batches = idx.length / B;
  const idxBuf = gpu.storage("study.indices", idx);
  const batchIdx = gpu.storage("study.batch_indices", B * 4);
  const h = gpu.storage("study.h", idx.length * 2 * L * 4);
  for (let b = 0; b < batches; b++) {
    const rec = gpu.record("encode means");
    rec.copy(idxBuf, b * B * 4, batchIdx, 0, B * 4);
    feed.gather(rec, batchIdx);
    g.encode(rec);
    rec.copy(g.h, 0, h, b * B * 2 * L * 4, B * 2 * L * 4);
    await rec.submit();
  }
  const all = await gpu.readF32(h, 0, count * 2 * L);
  for (const buf of [idxBuf, batchIdx, h]) buf.destroy();
  feed.destroy();
  // h rows are [mu | logvar]; keep mu.
  const mu = new Float32Array(count * L);
  for (let i = 0; i < count; i++) mu.set(all.subarray(i * 2 * L, i * 2 * L + L), i * L);
  return mu;
}

/**
 * The likelihood's mean images (k * k, 784) decoded at latticePoints(k, { quantile: true }):
 * row-major, z1 increasing across, z2 decreasing down the rows, `batch` a pass. Needs a 2-D
 * latent.
 */
export function decodeLattice(vae: Vae, k: number, batch = BATCH): Promise<Float32Array> {
  return decodeAt(vae, latticePoints(k, { quantile: true }), batch);
}

/** The likelihood's mean images (n, 784) decoded at z (n, 2), `batch` a pass. Needs a 2-D latent. */
export async function decodeAt(vae: Vae, z: Float32Array, batch = BATCH): Promise<Float32Array> {
  if (vae.latent !== 2) {
    throw new RangeError(`Cannot decode a 2-D lattice: the model's latent has ${vae.latent} dims`);
  }
  const gpu = vae.gpu, n = z.length / 2, B = Math.min(batch, n);
  const g = await vae.graph(B);
  const batches = Math.ceil(n / B);
  const means = gpu.storage("study.lattice", batches * B * P * 4);
  const chunk = new Float32Array(B * 2);
  for (let b = 0; b < batches; b++) {
    chunk.fill(0).set(z.subarray(b * B * 2, Math.min(n, (b + 1) * B) * 2));
    gpu.write(g.z, chunk); // queue-ordered: lands after the previous batch's submit
    const rec = gpu.record("decode lattice");
    const image = g.decodeMeans(rec);
    rec.copy(image, 0, means, b * B * P * 4, B * P * 4);
    await rec.submit();
  }
  const out = await gpu.readF32(means, 0, n * P);
  means.destroy();
  return out;
}

/** How the lattice's coordinates were chosen, for the caption under it. */
export function latticeCaption(k: number): string[] {
  const lo = normalQuantile(0.5 / k).toFixed(2), hi = normalQuantile(1 - 0.5 / k).toFixed(2);
  return [
    `decoder means; z1 left to right, z2 bottom to top`,
    `z1, z2 = inverse normal CDF of (i + 0.5) / ${k}: ${lo} .. ${hi}`,
  ];
}

/** `lines` of pixel-font text, each centred in a white strip `width` pixels wide. */
export function captionStrip(lines: string[], width: number, scale = 2): GrayImage {
  const texts = lines.map((l) => textImage(l, scale));
  const gap = 3 * scale, pad = 4 * scale;
  const height = 2 * pad + texts.reduce((s, t) => s + t.height, 0) + gap * (texts.length - 1);
  const w = Math.max(width, ...texts.map((t) => t.width + 2 * pad));
  const data = new Uint8Array(w * height).fill(255);
  let y0 = pad;
  for (const t of texts) {
    const x0 = Math.floor((w - t.width) / 2);
    for (let y = 0; y < t.height; y++) {
      data.set(t.data.subarray(y * t.width, (y + 1) * t.width), (y0 + y) * w + x0);
    }
    y0 += t.height + gap;
  }
  return { width: w, height, data };
}

/** "Conv VAE, Bernoulli, latent 2, epoch 7": the model at the start of a figure's title. */
export function modelWords(vae: Vae, epoch: number): string {
  const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
  return `${cap(vae.kind)} VAE, ${cap(vae.likelihood.name)}, latent ${vae.latent}, epoch ${epoch}`;
}

/** Wide enough for a title of modelWords and a few words more at 16 px. */
export const SCATTER_WIDTH = 720;
