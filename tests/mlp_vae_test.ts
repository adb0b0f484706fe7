import { join } from "node:path";
import { loadMnist } from "../src/data/mnist.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import {
  decoder,
  elbo,
  log_likelihood,
  log_prior,
  log_q,
  type MlpShape,
  type Params,
} from "../src/reference/mlp_densities.ts";
import { initMlpParams, mlpLayout, MlpVae } from "../src/mlp/mlp_vae.ts";
import { Adam } from "../src/ops/optim.ts";
import { type AdamState, adamStep, mlpStep } from "../src/reference/mlp_vae.ts";
import { rngNormal } from "../src/reference/rng.ts";
import { evaluate } from "../src/train/evaluate.ts";
import { loadCheckpoint } from "../src/train/checkpoint.ts";
import { train } from "../src/train/trainer.ts";
import { valLoss } from "../src/train/epoch_log.ts";
import { permutation } from "../src/data/shuffle.ts";
import { assertClose, gpuTest, normal, numericGrad, rng, uniform } from "./helpers.ts";

const TINY: MlpShape = { pixels: 6, hidden: 5, latent: 2, activation: "tanh" };

function tinyParams(rand: () => number): Params {
  const layout = mlpLayout(TINY);
  const p: Params = {};
  for (const s of layout.specs) p[s.name] = uniform(rand, s.size, -0.8, 0.8);
  return p;
}

Deno.test("mlpStep reference gradients match central differences in f64", () => {
  const rand = rng(3);
  const p = tinyParams(rand);
  const x = uniform(rand, 3 * TINY.pixels, 0, 1).map((v) => (v > 0.5 ? 1 : 0));
  const eps = normal(rand, 3 * TINY.latent);
  const { grads } = mlpStep(p, x, eps, TINY);
  for (const name of Object.keys(p)) {
    const f = (w: Float64Array) => mlpStep({ ...p, [name]: w }, x, eps, TINY).loss;
    assertClose(`d loss / d ${name}`, grads[name], numericGrad(f, p[name].slice()), {
      atol: 1e-7,
      rtol: 1e-6,
    });
  }
});

Deno.test("densities: the one-sample ELBO averages to -(recon + analytic KL)", () => {
  const rand = rng(4);
  const p = tinyParams(rand);
  const x = uniform(rand, 2 * TINY.pixels, 0, 1).map((v) => (v > 0.5 ? 1 : 0));
  // E_q[log p(x,z) - log q(z|x)] = E_q[log p(x|z)] - KL; with many eps the MC mean converges.
  const S = 20000;
  let mc = 0;
  for (let s = 0; s < S; s++) mc += elbo(p, x, normal(rand, 2 * TINY.latent), TINY);
  mc /= S;
  let exact = 0;
  for (let s = 0; s < 2000; s++) exact -= mlpStep(p, x, normal(rand, 2 * TINY.latent), TINY).loss;
  exact /= 2000;
  if (Math.abs(mc - exact) > 0.05) throw new Error(`MC ELBO ${mc} vs analytic-KL ELBO ${exact}`);
});

Deno.test("densities: log_likelihood is stable at logits of +-100 and log_q(0, 0) is log_prior", () => {
  const x = Float64Array.of(1, 0, 1, 0);
  const ll = log_likelihood(x, Float64Array.of(100, -100, -100, 100), 4)[0];
  assertClose("log p(x | logits)", [ll], [-200], { atol: 1e-9, rtol: 1e-12 });
  const z = Float64Array.of(0.3, -1.2);
  assertClose(
    "log_q at N(0, I)",
    log_q(new Float64Array(2), new Float64Array(2), z, 2),
    log_prior(z, 2),
    {
      atol: 1e-12,
      rtol: 0,
    },
  );
  const p = tinyParams(rng(5));
  if (decoder(p, z, TINY).length !== TINY.pixels) throw new Error("decoder output size");
});

gpuTest(
  "MLP VAE: 20 GPU training steps on a fixed 512-image subset match the f64 reference",
  async (gpu) => {
    const mnist = await loadMnist();
    const N = 64,
      steps = 20,
      seed = 9,
      shape: MlpShape = { pixels: 784, hidden: 500, latent: 2, activation: "tanh" };
    const images = mnist.train.images.subarray(0, 512 * 784);
    const data = await GpuDataset.create(gpu, images, 512);
    const layout = mlpLayout(shape);
    const init = initMlpParams(layout, seed);
    const vae = new MlpVae(gpu, shape, init);
    const graph = await vae.graph(N);
    const adam = await Adam.create(gpu, layout.total, { lr: 1e-3 });
    const sums = gpu.storage("sums", steps * 2 * 4);
    const idx = gpu.storage("idx", N * 4);

    const p: Params = {};
    for (const [k, v] of Object.entries(layout.split(init))) p[k] = Float64Array.from(v);
    const st: AdamState = { t: 0, m: {}, v: {} };
    const want: number[] = [];
    for (let s = 0; s < steps; s++) {
      const first = (s % 8) * N;
      gpu.write(idx, Uint32Array.from({ length: N }, (_, i) => first + i));
      const rec = gpu.record();
      data.gather(rec, graph.x, idx, N, "static");
      graph.sampleEps(rec, seed, s);
      graph.forwardLoss(rec, sums, s, "train");
      graph.backward(rec);
      adam.step(rec, vae.params, vae.grads, vae.m, vae.v);
      await rec.submit();

      const x = new Float64Array(N * 784);
      for (let i = 0; i < N * 784; i++) x[i] = images[first * 784 + i] / 255 > 0.5 ? 1 : 0;
      const r = mlpStep(p, x, rngNormal(N * 2, seed, s), shape);
      adamStep(p, r.grads, st, 1e-3);
      want.push(r.loss);
    }
    const s32 = await gpu.readF32(sums, 0, steps * 2);
    const got = want.map((_, s) => (s32[2 * s] + s32[2 * s + 1]) / N);
    // f32 sums of 64 x 784 terms and 20 Adam steps drift by well under 0.01 nats per image.
    assertClose("per-step loss (nats per image)", got, want, { atol: 0, rtol: 2e-5 });
    const after = layout.split(await gpu.readF32(vae.params));
    for (const name of Object.keys(p)) {
      assertClose(`${name} after ${steps} steps`, after[name], p[name], { atol: 2e-5, rtol: 1e-3 });
    }
    if (!(want[steps - 1] < want[0] - 50)) {
      throw new Error(
        `loss did not fall: ${want[0]} -> ${want[steps - 1]}`,
      );
    }
    for (const b of [sums, idx]) b.destroy();
    data.destroy();
  },
);

gpuTest(
  "MLP VAE: a short training run lowers the validation -ELBO and keeps the best checkpoint",
  async (gpu) => {
    const mnist = await loadMnist();
    const dir = await Deno.makeTempDir();
    const shape: MlpShape = { pixels: 784, hidden: 200, latent: 2, activation: "tanh" };
    const vae = new MlpVae(gpu, shape, initMlpParams(mlpLayout(shape), 1));
    const trainData = await GpuDataset.create(
      gpu,
      mnist.train.images.subarray(0, 3000 * 784),
      3000,
    );
    const valData = await GpuDataset.create(gpu, mnist.val.images.subarray(0, 1000 * 784), 1000);
    const ctx = {
      gpu,
      graph: await vae.graph(100),
      data: valData,
      binarize: "static" as const,
      seed: 3,
    };
    const before = await evaluate(ctx, 1000);
    const result = await train({
      model: vae,
      train: trainData,
      val: valData,
      epochs: 2,
      batch: 100,
      lr: 1e-3,
      seed: 1,
      binarize: "static",
      patience: 5,
      bestPath: join(dir, "model.safetensors"),
      lastPath: join(dir, "last.safetensors"),
      resume: null,
    });
    const after = valLoss(result.log[result.log.length - 1]);
    if (!(after < before.negElbo - 100)) {
      throw new Error(
        `validation -ELBO ${before.negElbo} -> ${after}`,
      );
    }
    if (!(valLoss(result.log[1]) < valLoss(result.log[0]))) {
      throw new Error(
        "epoch 2 no better than 1",
      );
    }
    const ckpt = await loadCheckpoint(join(dir, "model.safetensors"), "");
    if (ckpt.state.epoch !== result.bestEpoch) {
      throw new Error(
        `checkpoint epoch ${ckpt.state.epoch}`,
      );
    }
    trainData.destroy();
    valData.destroy();
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest(
  "MLP VAE: a NaN stops training with the step and layer named and the last good checkpoint kept",
  async (gpu) => {
    const mnist = await loadMnist();
    const dir = await Deno.makeTempDir();
    const shape: MlpShape = { pixels: 784, hidden: 50, latent: 2, activation: "tanh" };
    const vae = new MlpVae(gpu, shape, initMlpParams(mlpLayout(shape), 2));
    const trainData = await GpuDataset.create(gpu, mnist.train.images.subarray(0, 400 * 784), 400);
    const valData = await GpuDataset.create(gpu, mnist.val.images.subarray(0, 200 * 784), 200);
    const lastPath = join(dir, "last.safetensors");
    let message = "";
    try {
      await train({
        model: vae,
        train: trainData,
        val: valData,
        epochs: 3,
        batch: 100,
        lr: 1e-3,
        seed: 2,
        binarize: "static",
        patience: 5,
        bestPath: join(dir, "model.safetensors"),
        lastPath,
        resume: null,
        // After epoch 1, poison the decoder's output bias. (WGSL lets compilers assume
        // finite math, so a NaN fed through tanh's clamp or a zero pixel may vanish; an
        // infinite logit reaches the loss on every adapter.)
        onEpoch: (log) => {
          const offset = vae.layout.get("dec.fc2.bias").offset * 4;
          if (log.length === 1) gpu.write(vae.params, Float32Array.of(Infinity), offset);
          return Promise.resolve();
        },
      });
    } catch (e) {
      if ((e as Error).name !== "TrainingError") throw e;
      message = (e as Error).message;
    }
    if (
      !message.includes("epoch 2, step 1:") ||
      !message.includes("parameter dec.fc2.bias (first at index 0, value Infinity)") ||
      !message.includes(`The last good checkpoint is kept at ${lastPath}`)
    ) {
      throw new Error(`unexpected message: ${message}`);
    }
    const ckpt = await loadCheckpoint(lastPath, "");
    if (ckpt.state.epoch !== 1) {
      throw new Error(`last checkpoint is from epoch ${ckpt.state.epoch}`);
    }
    const params = ckpt.read(vae).params;
    if (!params.every(Number.isFinite)) {
      throw new Error("the kept checkpoint holds non-finite parameters");
    }
    trainData.destroy();
    valData.destroy();
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest(
  "MLP VAE: a NaN mid-epoch is traced to its step, layer and image, not to where Adam spread it",
  async (gpu) => {
    // 400 random binary images; pixel 100 is on only in image `culprit`. Hidden unit 0 weighs
    // it by 3e38 (finite) and the encoder head weighs unit 0 by 10, so that image alone
    // overflows the head to +Inf, two layers in. No other image touches the 3e38, whose
    // gradient, and so Adam's update, stays zero. Once Adam has spread the NaN, the first
    // layer of every later step is non-finite: only a replay names the head.
    const count = 400, batch = 10, seed = 4;
    const rand = rng(9);
    const bytes = new Uint8Array(count * 784).map(() => (rand() < 0.2 ? 255 : 0));
    const perm = permutation(count, seed, 1);
    const badStep = 25, culprit = perm[badStep * batch + 3];
    for (let i = 0; i < count; i++) bytes[i * 784 + 100] = i === culprit ? 255 : 0;
    const shape: MlpShape = { pixels: 784, hidden: 32, latent: 2, activation: "relu" };
    const layout = mlpLayout(shape);
    const params = initMlpParams(layout, 5);
    params[layout.get("enc.fc1.weight").offset + 100] = 3e38;
    const head = layout.get("enc.fc2.weight").offset;
    for (let k = 0; k < 2 * shape.latent; k++) params[head + k * shape.hidden] = 10;
    const vae = new MlpVae(gpu, shape, params);
    const dir = await Deno.makeTempDir();
    const trainData = await GpuDataset.create(gpu, bytes, count);
    const valData = await GpuDataset.create(gpu, bytes.subarray(0, 50 * 784), 50);
    let message = "";
    try {
      await train({
        model: vae,
        train: trainData,
        val: valData,
        epochs: 1,
        batch,
        lr: 1e-3,
        seed,
        binarize: "static",
        patience: 5,
        bestPath: join(dir, "model.safetensors"),
        lastPath: join(dir, "last.safetensors"),
        resume: null,
      });
    } catch (e) {
      if ((e as Error).name !== "TrainingError") throw e;
      message = (e as Error).message;
    }
    const want = [
      `epoch 1, step ${badStep + 1}:`,
      "the first non-finite values are in encoder head (mu, logvar) (batch row 3, training image " +
      `${culprit})`,
      "No checkpoint was written yet",
    ];
    for (const w of want) {
      if (!message.includes(w)) throw new Error(`message lacks "${w}": ${message}`);
    }
    trainData.destroy();
    valData.destroy();
    await Deno.remove(dir, { recursive: true });
  },
);
