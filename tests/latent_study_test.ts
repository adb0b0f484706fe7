import { GpuDataset } from "../src/data/gpu_dataset.ts";
import type { Gpu } from "../src/gpu/gpu.ts";
import { mlpLayout } from "../src/mlp/mlp_net.ts";
import { initMlpParams, MlpVae } from "../src/mlp/mlp_vae.ts";
import { decodeLattice, encodeMeans } from "../src/study/latent_figures.ts";
import { assertClose, gpuTest, rng } from "./helpers.ts";

// A small MLP VAE: the study helpers only batch, gather and copy, whatever the architecture.
function tinyVae(gpu: Gpu, latent: number, seed: number): MlpVae {
  const shape = { pixels: 784, hidden: 16, latent, activation: "tanh" as const };
  return new MlpVae(gpu, shape, initMlpParams(mlpLayout(shape), seed));
}

gpuTest("encodeMeans gives the same mu in padded batches of 4 as in one pass", async (gpu) => {
  const rand = rng(5), count = 7;
  const images = Uint8Array.from({ length: count * 784 }, () => Math.floor(256 * rand()));
  const data = await GpuDataset.create(gpu, images, count);
  const vae = tinyVae(gpu, 3, 6);
  const one = await encodeMeans(vae, data, count, count);
  const padded = await encodeMeans(vae, data, count, 4);
  if (one.length !== count * 3) throw new Error(`${one.length} values, want ${count * 3}`);
  if (new Set(one).size < count * 3) throw new Error(`mu values repeat: ${one}`);
  assertClose("mu", padded, one, { atol: 1e-6, rtol: 1e-6 });
  // The first images alone: the same rows, so the batch offsets line up.
  assertClose("first 5", await encodeMeans(vae, data, 5, 2), one.subarray(0, 15), {
    atol: 1e-6,
    rtol: 1e-6,
  });
});

gpuTest(
  "decodeLattice gives the same images in padded batches of 4 as in one pass",
  async (gpu) => {
    const vae = tinyVae(gpu, 2, 7), k = 3;
    const one = await decodeLattice(vae, k, k * k);
    const padded = await decodeLattice(vae, k, 4);
    if (one.length !== k * k * 784) throw new Error(`${one.length} values, want ${k * k * 784}`);
    assertClose("lattice means", padded, one, { atol: 1e-6, rtol: 1e-6 });
    // Different z give different images: the lattice points reached the decoder.
    const first = one.subarray(0, 784), last = one.subarray(8 * 784);
    if (first.every((v, i) => v === last[i])) throw new Error("corner images are identical");
  },
);
