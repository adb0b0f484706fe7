import { join } from "node:path";
import { ConvVae } from "../src/conv/conv_vae.ts";
import { gaussian } from "../src/likelihood/gaussian.ts";
import { bernoulli } from "../src/likelihood/bernoulli.ts";
import { initMlpParams, mlpLayout, MlpVae } from "../src/mlp/mlp_vae.ts";
import type { Vae } from "../src/model/vae.ts";
import { loadCheckpoint, restore, saveModel } from "../src/train/checkpoint.ts";
import { loadVae } from "../src/app/models.ts";
import { loadSafetensors, saveSafetensors } from "../src/safetensors.ts";
import { assertClose, gpuTest, rng, uniform } from "./helpers.ts";

/**
 * forwardLoss in eval mode on random data, then either the full backward or the
 * decoder-only one; returns dH and the gradients buffer.
 */
async function _run(vae: Vae, N: number, full: boolean) {
  const gpu = vae.gpu, g = await vae.graph(N);
  const rand = rng(5);
  gpu.write(g.x, Float32Array.from(uniform(rand, N * 784, 0.01, 0.99)));
  gpu.write(vae.grads, new Float32Array(vae.layout.total));
  const sums = gpu.storage("sums", 8);
  const rec = gpu.record();
  g.sampleEps(rec, 3, 0);
  g.forwardLoss(rec, sums, 0, "eval");
  if (full) g.backward(rec, { scale: 1 });
  else g.decoderBackward(rec, { scale: 1 });
  await rec.submit();
  const out = {
    dH: await gpu.readF32(g.dH),
    grads: vae.layout.split(await gpu.readF32(vae.grads)),
  };
  sums.destroy();
  return out;
}

gpuTest(
  "VaeGraph.decoderBackward gives the full backward's d (mu, logvar) and leaves the decoder's " +
    "weight gradients alone (MLP and conv, Gaussian head)",
  async (gpu) => {
    const shape = { pixels: 784, hidden: 37, latent: 3, activation: "tanh" as const };
    const mlp = new MlpVae(gpu, shape, initMlpParams(mlpLayout(shape, 2), 1), gaussian);
    const conv = ConvVae.init(gpu, { latent: 5 }, gaussian, 2);
    for (const [name, vae, N] of [["mlp", mlp, 7], ["conv", conv, 3]] as const) {
      const full = await _run(vae, N, true), dec = await _run(vae, N, false);
      if (!dec.dH.some((v) => v !== 0)) throw new Error(`${name}: decoderBackward left dH at 0`);
      // The same kernels in the same order up to dH: equal to rounding.
      assertClose(`${name} dH`, dec.dH, full.dH, { atol: 1e-7, rtol: 1e-6 });
      for (const [t, g] of Object.entries(dec.grads)) {
        // Batch norm's scale and shift gradients are made on the way (network.ts says so).
        if (t.includes(".bn")) continue;
        if (g.some((v) => v !== 0)) throw new Error(`${name}: decoderBackward wrote d ${t}`);
      }
      if (
        !full.grads["dec.head.weight" in full.grads ? "dec.head.weight" : "dec.fc2.weight"].some((
          v,
        ) => v !== 0)
      ) {
        throw new Error(`${name}: the full backward wrote no decoder gradient`);
      }
    }
  },
);

gpuTest("a checkpoint of another likelihood is refused with both named", async (gpu) => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "model.safetensors");
    const g = ConvVae.init(gpu, { latent: 2 }, gaussian, 0);
    await saveModel(path, g, { epoch: 1, adamT: 1, seed: 0, bestEpoch: 1, log: [] });
    let message = "";
    try {
      await loadVae(gpu, path, "", { model: "conv", likelihood: "bernoulli" });
    } catch (e) {
      message = `${(e as Error).name}: ${(e as Error).message}`;
    }
    if (!/CheckpointError.*gaussian.*bernoulli/.test(message)) throw new Error(`got "${message}"`);
    message = "";
    try {
      restore(ConvVae.init(gpu, { latent: 2 }, bernoulli, 0), await loadCheckpoint(path, ""));
    } catch (e) {
      message = `${(e as Error).name}: ${(e as Error).message}`;
    }
    if (!/CheckpointError.*gaussian.*bernoulli/.test(message)) throw new Error(`got "${message}"`);
    // It loads as what it is, head and all.
    const back = await loadVae(gpu, path, "", { model: "conv", likelihood: "gaussian" });
    assertClose("params", await gpu.readF32(back.params), await gpu.readF32(g.params), {
      atol: 0,
      rtol: 0,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest(
  "an MLP checkpoint written before the likelihood seam (no likelihood in its config) loads as Bernoulli",
  async (gpu) => {
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "model.safetensors");
      const shape = { pixels: 784, hidden: 8, latent: 2, activation: "tanh" as const };
      const a = new MlpVae(gpu, shape, initMlpParams(mlpLayout(shape), 4));
      await saveModel(path, a, { epoch: 1, adamT: 1, seed: 0, bestEpoch: 1, log: [] });
      const ckpt = await loadSafetensors(path);
      const { likelihood: _, ...old } = JSON.parse(ckpt.metadata.config);
      await saveSafetensors(path, ckpt.tensors, { ...ckpt.metadata, config: JSON.stringify(old) });
      const b = await loadVae(gpu, path, "", { model: "mlp", likelihood: "bernoulli" });
      if (b.likelihood.name !== "bernoulli") throw new Error(`loaded as ${b.likelihood.name}`);
      assertClose("params", await gpu.readF32(b.params), await gpu.readF32(a.params), {
        atol: 0,
        rtol: 0,
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
