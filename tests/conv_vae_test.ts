import { join } from "node:path";
import { convLayout, ConvVae, initConvParams } from "../src/conv/conv_vae.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { Adam } from "../src/ops/optim.ts";
import { loadCheckpoint, restore, saveModel } from "../src/train/checkpoint.ts";
import { loadVae } from "../src/app/models.ts";
import { assertClose, gpuTest, normal, rng } from "./helpers.ts";

const CONFIG = { latent: 16 };

Deno.test("conv VAE layout holds the SPEC's layers with PyTorch's shapes", () => {
  const { params, state } = convLayout(CONFIG);
  const shape = (n: string) => JSON.stringify(params.get(n).shape);
  const want: Record<string, number[]> = {
    "enc.conv1.weight": [32, 1, 5, 5],
    "enc.conv2.weight": [64, 32, 5, 5],
    "enc.conv3.weight": [128, 64, 3, 3],
    "enc.head.weight": [32, 1152],
    "dec.deconv1.weight": [16, 128, 5, 5],
    "dec.deconv4.weight": [32, 1, 5, 5],
    "dec.head.weight": [784, 961],
  };
  for (const [n, s] of Object.entries(want)) {
    if (shape(n) !== JSON.stringify(s)) {
      throw new Error(`${n}: ${shape(n)}, want ${JSON.stringify(s)}`);
    }
  }
  if (state.specs.length !== 8) throw new Error(`state has ${state.specs.length} tensors`);
});

gpuTest(
  "conv VAE: repeated steps on one fixed batch lower its loss and keep it finite",
  async (gpu) => {
    const mnist = await loadMnist();
    const N = 16, steps = 12;
    const data = await GpuDataset.create(gpu, mnist.train.images.subarray(0, N * 784), N);
    const vae = new ConvVae(gpu, CONFIG, initConvParams(CONFIG, 4));
    const graph = await vae.graph(N);
    const adam = await Adam.create(gpu, vae.layout.total, { lr: 1e-3 });
    const sums = gpu.storage("sums", steps * 2 * 4);
    const idx = gpu.storage("idx", Uint32Array.from({ length: N }, (_, i) => i));
    for (let s = 0; s < steps; s++) {
      const rec = gpu.record();
      data.gather(rec, graph.x, idx, N, "static");
      graph.sampleEps(rec, 1, s);
      graph.forwardLoss(rec, sums, s, "train");
      graph.backward(rec);
      adam.step(rec, vae.params, vae.grads, vae.m, vae.v);
      await rec.submit();
    }
    const l = await gpu.readF32(sums, 0, steps * 2);
    const loss = (s: number) => (l[2 * s] + l[2 * s + 1]) / N;
    for (let s = 0; s < steps; s++) {
      if (!Number.isFinite(loss(s))) {
        throw new Error(`step ${s}: ${loss(s)}`);
      }
    }
    if (!(loss(steps - 1) < loss(0) - 50)) throw new Error(`loss ${loss(0)} -> ${loss(steps - 1)}`);
    data.destroy();
  },
);

gpuTest(
  "conv VAE: evaluation mode decodes each z independently of the rest of the batch",
  async (gpu) => {
    const vae = new ConvVae(gpu, CONFIG, initConvParams(CONFIG, 5));
    // Give batch norm non-trivial running statistics.
    const st = vae.state.layout;
    const r = rng(6);
    const stats = new Float32Array(st.total);
    for (const s of st.specs) {
      for (let i = 0; i < s.size; i++) {
        stats[s.offset + i] = s.name.endsWith("var") ? 0.5 + r() : r() - 0.5;
      }
    }
    gpu.write(vae.state.buffer, stats);
    const z = Float32Array.from(normal(r, 4 * 16));
    const g4 = await vae.graph(4), g2 = await vae.graph(2);
    gpu.write(g4.z, z);
    gpu.write(g2.z, z.subarray(0, 2 * 16));
    const rec = gpu.record();
    const m4 = g4.decodeMeans(rec), m2 = g2.decodeMeans(rec);
    await rec.submit();
    const a = await gpu.readF32(m4, 0, 2 * 784), b = await gpu.readF32(m2, 0, 2 * 784);
    assertClose("eval decode, batch 4 vs batch 2", a, b, { atol: 1e-6, rtol: 1e-5 });
  },
);

gpuTest("conv VAE: a checkpoint restores parameters and batch norm statistics", async (gpu) => {
  const dir = await Deno.makeTempDir();
  const init = initConvParams(CONFIG, 7);
  init.state[3] = 0.25;
  const a = new ConvVae(gpu, CONFIG, init);
  const path = join(dir, "model.safetensors");
  await saveModel(path, a, { epoch: 3, adamT: 42, seed: 7, bestEpoch: 2, log: [] });
  const b = await loadVae(gpu, path, "", { model: "conv" });
  assertClose("params", await gpu.readF32(b.params), init.params, { atol: 0, rtol: 0 });
  assertClose("state", await gpu.readF32(b.state.buffer), init.state, { atol: 0, rtol: 0 });
  const ckpt = await loadCheckpoint(path, "");
  if (ckpt.state.adamT !== 42 || ckpt.state.epoch !== 3) throw new Error("train state lost");
  // A model of another latent size refuses it.
  const other = new ConvVae(
    gpu,
    { ...CONFIG, latent: 2 },
    initConvParams({ ...CONFIG, latent: 2 }, 0),
  );
  let refused = false;
  try {
    restore(other, ckpt);
  } catch (e) {
    refused = (e as Error).name === "CheckpointError";
  }
  if (!refused) throw new Error("restored a latent-16 checkpoint into a latent-2 model");
  await Deno.remove(dir, { recursive: true });
});
