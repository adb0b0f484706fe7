import assert from "node:assert/strict";
import {
  type BinarizeMode,
  type GatherMode,
  GpuDataset,
  IMAGE_PIXELS,
} from "../src/data/gpu_dataset.ts";
import { likelihoodByName } from "../src/likelihood/registry.ts";
import { initMlpParams, mlpLayout, MlpVae } from "../src/mlp/mlp_vae.ts";
import { Rng } from "../src/ops/rng.ts";
import { assertClose, gpuTest, rng } from "./helpers.ts";

// Every data mode: Bernoulli under each binarization, dequantized, binned, grey levels.
const CASES: [string, BinarizeMode, GatherMode, number][] = [
  ["bernoulli", "static", "static", 0],
  ["bernoulli", "dynamic", "dynamic", 0],
  ["bernoulli", "none", "none", 0],
  ["gaussian", "static", "dequantize", 0],
  ["beta", "dynamic", "dequantize", 0],
  ["categorical", "static", "bins", 4],
  ["mse", "dynamic", "none", 0],
];

gpuTest(
  "VaeGraph.feed gathers each likelihood's data exactly as GpuDataset.gather does after its noise",
  async (gpu) => {
    const rand = rng(11), N = 7, count = 40;
    const images = Uint8Array.from({ length: count * IMAGE_PIXELS }, () => rand() * 256);
    const data = await GpuDataset.create(gpu, images, count);
    const indices = Uint32Array.from({ length: N }, () => Math.floor(rand() * count));
    const idx = gpu.storage("feed.indices", indices);
    const noise = gpu.storage("feed.noise", N * IMAGE_PIXELS * 4);
    const x = gpu.storage("feed.x", N * IMAGE_PIXELS * 4);
    const ref = await Rng.create(gpu);
    for (const [name, binarize, mode, bins] of CASES) {
      const lik = likelihoodByName(name, { bins: 4 });
      const shape = { pixels: 784, hidden: 8, latent: 2, activation: "tanh" as const };
      const vae = new MlpVae(gpu, shape, initMlpParams(mlpLayout(shape, lik.width), 1), lik);
      const g = await vae.graph(N);
      const feed = g.feed(data, binarize);
      const what = `${name} (${binarize})`;
      assert.deepEqual([feed.mode, feed.bins], [mode, bins], what);
      const noisy = mode === "dynamic" || mode === "dequantize";
      assert.equal(feed.noisy, noisy, what);
      const rec = gpu.record();
      feed.gather(rec, idx, 5, 3);
      if (noisy) ref.uniform(rec, noise, N * IMAGE_PIXELS, 5, 3);
      data.gather(rec, x, idx, N, mode, noisy ? noise : undefined, bins);
      await rec.submit();
      assertClose(what, await gpu.readF32(g.x), await gpu.readF32(x), { atol: 0, rtol: 0 });
      if (noisy) {
        assert.throws(() => feed.gather(gpu.record(), idx), {
          name: "TypeError",
          message: new RegExp(
            `Cannot gather ${name} data \\(mode ${mode}\\): its noise needs a seed`,
          ),
        });
      } else {
        feed.gather(gpu.record(), idx); // fixed data need no seed
      }
      feed.destroy();
    }
    for (const b of [idx, noise, x]) b.destroy();
    data.destroy();
  },
);
