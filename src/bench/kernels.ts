/**
 * The bench's memory-bound group: Adam, each likelihood's fused loss (NLL + KL), batch norm, max pool and the
 * batch gather at the conv VAE's shapes, as GB/s = bytes read and written / time (each byte
 * counted once).
 */

import type { Recorder } from "../gpu/gpu.ts";
import { permutation } from "../data/shuffle.ts";
import { Adam } from "../ops/optim.ts";
import { LikelihoodLoss } from "../ops/likelihood_loss.ts";
import { likelihoodByName, LIKELIHOODS } from "../likelihood/registry.ts";
import { BatchNorm2d } from "../ops/batchnorm.ts";
import { MaxPool2d } from "../ops/maxpool.ts";
import { convLayout } from "../conv/conv_vae.ts";
import { addEntry } from "./table.ts";
import { type BenchContext, measure, timeRecorded } from "./timing.ts";

/** Every kernel of the group in turn; needs `c.data` for the gathers. */
export async function kernelsGroup(c: BenchContext): Promise<void> {
  const gpu = c.gpu, F = 4;
  const rand = _filler(7);
  const bandwidth = async (
    name: string,
    shape: string,
    bytes: number,
    record: (rec: Recorder) => void,
    note?: string,
  ) => {
    const { r: ms, iters } = await measure(c, (n) => timeRecorded(gpu, record, n), (ms) => ms);
    addEntry(c, { name, group: "kernels", ms, gbps: bytes / (ms * 1e6), iters, shape, note });
  };
  const buffers: GPUBuffer[] = [];
  const buf = (label: string, n: number, fill = true) => {
    const b = gpu.storage(label, fill ? rand(n) : n * F);
    buffers.push(b);
    return b;
  };

  // Adam reads params, grads, m, v and writes params, m, v.
  const n = convLayout({ latent: 16 }).params.total;
  const adam = await Adam.create(gpu, n, { lr: 1e-3 });
  const [p, g, m, v] = [buf("p", n), buf("g", n), buf("m", n, false), buf("v", n, false)];
  await bandwidth(
    "adam",
    `${n.toLocaleString("en-US")} params (conv VAE)`,
    7 * n * F,
    (rec) => adam.step(rec, p, g, m, v),
    "28 bytes per parameter: reads p, g, m, v; writes p, m, v",
  );

  const N = 256, D = 784, L = 16;
  const h = buf("h", N * 2 * L);
  const perImage = buf("per image", N * 2, false), sums = buf("sums", 2, false);
  const dH = buf("d h", N * 2 * L, false);
  // Data in (0, 1) and bin centres are valid for every likelihood; heads are any numbers.
  const x = gpu.storage(
    "x",
    Float32Array.from({ length: N * D }, (_, i) => ((i * 37) % 4 + 0.5) / 4),
  );
  buffers.push(x);
  for (const name of LIKELIHOODS) {
    const lik = likelihoodByName(name);
    const W = lik.width;
    const loss = await LikelihoodLoss.create(gpu, {
      kernel: lik.kernel,
      n: N,
      d: D,
      latent: L,
      width: W,
      k: lik.k,
    });
    const head = buf(`${name} head`, N * D * W), dHead = buf(`${name} d head`, N * D * W, false);
    await bandwidth(
      `${name}_kl forward`,
      `${N}x${D}x${W}, latent ${L}`,
      (N * D * (W + 1) + 2 * N * L + 2 * N) * F,
      (rec) => loss.forward(rec, perImage, sums, head, x, h, 0),
    );
    await bandwidth(
      `${name}_kl backward`,
      `${N}x${D}x${W}, latent ${L}`,
      (N * D * (2 * W + 1) + 4 * N * L) * F,
      (rec) => loss.backward(rec, dHead, dH, head, x, h),
    );
  }

  for (const [ch, size] of [[128, 3], [64, 7], [32, 15], [1, 31]] as const) {
    const bn = await BatchNorm2d.create(gpu, { batch: N, channels: ch, height: size, width: size });
    const e = N * ch * size * size, shape = `${N}x${ch}x${size}x${size}`;
    const [bx, by, bdy, bdx] = [buf("x", e), buf("y", e, false), buf("dy", e), buf("dx", e, false)];
    const [gamma, beta, mean, vari] = [
      buf("gamma", ch),
      buf("beta", ch),
      buf("mean", ch),
      buf("var", ch),
    ];
    const [dg, db] = [buf("dgamma", ch, false), buf("dbeta", ch, false)];
    gpu.write(vari, new Float32Array(ch).fill(1));
    // Moments read x once, the normalization reads it again and writes y.
    await bandwidth(
      "batchnorm forward (train)",
      shape,
      3 * e * F,
      (rec) => bn.forwardTrain(rec, by, bx, gamma, beta, mean, vari),
    );
    // The reduction reads x and dy, the gradient pass reads them again and writes dx.
    await bandwidth(
      "batchnorm backward",
      shape,
      5 * e * F,
      (rec) => bn.backward(rec, bdx, dg, db, bdy, bx, gamma, beta),
    );
  }

  for (const [ch, size] of [[32, 28], [64, 14], [128, 7]] as const) {
    const pool = await MaxPool2d.create(gpu, { batch: N, channels: ch, height: size, width: size });
    const e = N * ch * size * size, o = N * ch * pool.outHeight * pool.outWidth;
    const shape = `${N}x${ch}x${size}x${size}`;
    const [px, py, pdy, pdx] = [buf("x", e), buf("y", o, false), buf("dy", o), buf("dx", e, false)];
    // Forward reads the four window values and writes y and argmax; backward reads dy and
    // argmax and writes all of dx.
    await bandwidth("maxpool forward", shape, 6 * o * F, (rec) => pool.forward(rec, py, px));
    await bandwidth(
      "maxpool backward",
      shape,
      (2 * o + e) * F,
      (rec) => pool.backward(rec, pdx, pdy),
    );
  }

  const data = c.data!, idx = gpu.storage("indices", permutation(data.count, 1, 1).subarray(0, N));
  const noise = buf("noise", N * D), gx = buf("x", N * D, false);
  buffers.push(idx);
  // Bytes of the packed images, the indices, and the f32 batch written.
  const gatherBytes = N * D + N * F + N * D * F;
  await bandwidth(
    "gather static",
    `${N} images`,
    gatherBytes,
    (rec) => data.gather(rec, gx, idx, N, "static"),
  );
  await bandwidth(
    "gather dynamic",
    `${N} images`,
    gatherBytes + N * D * F,
    (rec) => data.gather(rec, gx, idx, N, "dynamic", noise),
  );
  for (const b of buffers) b.destroy();
}

/** A seeded uniform(-1, 1) filler, so every run times the same values. */
function _filler(seed: number): (n: number) => Float32Array {
  let s = seed;
  return (n) =>
    Float32Array.from({ length: n }, () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s / 2 ** 31 - 1;
    });
}
