import { BernoulliSample } from "../src/ops/bernoulli_sample.ts";
import { Rng } from "../src/ops/rng.ts";
import { assertClose, f32, gpuTest, rng, uniform } from "./helpers.ts";

gpuTest("bernoulli_sample thresholds the given noise exactly on odd shapes", async (gpu) => {
  const rand = rng(11);
  for (const n of [1, 7, 33, 257, 100_003]) {
    const p = f32(uniform(rand, n, 0, 1)), u = f32(uniform(rand, n, 0, 1));
    const op = await BernoulliSample.create(gpu, n);
    const bp = gpu.storage("p", p), bu = gpu.storage("u", u), bx = gpu.storage("x", n * 4);
    const rec = gpu.record();
    op.sampleWith(rec, bx, bp, bu);
    await rec.submit();
    const want = p.map((v, i) => (u[i] < v ? 1 : 0));
    assertClose(`bernoulli n=${n}`, await gpu.readF32(bx, 0, n), want, { atol: 0, rtol: 0 });
    for (const b of [bp, bu, bx]) b.destroy();
  }
});

gpuTest("bernoulli_sample with GPU noise has the right frequency", async (gpu) => {
  const n = 200_000, prob = 0.3;
  const op = await BernoulliSample.create(gpu, n);
  const r = await Rng.create(gpu);
  const bp = gpu.storage("p", new Float32Array(n).fill(prob)), bx = gpu.storage("x", n * 4);
  const rec = gpu.record();
  op.sample(rec, bx, bp, r, 5, 0);
  await rec.submit();
  const x = await gpu.readF32(bx, 0, n);
  const mean = x.reduce((a, b) => a + b, 0) / n;
  const se = Math.sqrt((prob * (1 - prob)) / n);
  if (Math.abs(mean - prob) > 5 * se) throw new Error(`mean ${mean}, want ${prob} +- ${5 * se}`);
});
