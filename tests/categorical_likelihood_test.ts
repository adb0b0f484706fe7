import type { Gpu } from "../src/gpu/gpu.ts";
import { categorical } from "../src/likelihood/categorical.ts";
import type { Likelihood } from "../src/likelihood/likelihood.ts";
import { LikelihoodLoss } from "../src/ops/likelihood_loss.ts";
import { LikelihoodOutput, OutputShape } from "../src/ops/likelihood_output.ts";
import { Rng } from "../src/ops/rng.ts";
import { binOf } from "../src/reference/categorical.ts";
import {
  likelihoodKlBackward,
  likelihoodKlForward,
  likelihoodMean,
  likelihoodSample,
} from "../src/reference/likelihood_kl.ts";
import { type HarnessOptions, likelihoodTests } from "./likelihood_harness.ts";
import { assertClose, f32, gpuTest, normal, rng, type Tolerance } from "./helpers.ts";

const EPS = 2 ** -24;

/**
 * Pixels p uniform on 0..255, binned as the gather bins them; logits ~ N(0, 3^2) (N(0, 1) when
 * gentle), with every 97th pixel at an extreme: the true bin at +100 and the rest at -100, the
 * reverse, all k equal at +100 or at -100, or the true bin at 10 over zeros (the log1p path).
 */
function _makeCase(k: number): HarnessOptions["makeCase"] {
  return (rand, n, d, gentle) => {
    const x = new Float64Array(n * d), head = normal(rand, n * d * k);
    for (let i = 0; i < n * d; i++) {
      const j = Math.floor((Math.floor(256 * rand()) * k) / 256);
      x[i] = (j + 0.5) / k;
      const pixel = head.subarray(i * k, (i + 1) * k);
      if (gentle) continue;
      pixel.forEach((v, w) => (pixel[w] = 3 * v));
      if (i % 97 !== 0) continue;
      const kind = (i / 97) % 5;
      pixel.forEach((_, w) => {
        const hit = w === j;
        pixel[w] = [hit ? 100 : -100, hit ? -100 : 100, 100, -100, hit ? 10 : 0][kind];
      });
    }
    return { head, x };
  };
}

// exp(a) of an f32 argument a = l_w - max l that is itself rounded (by <= |a| eps) is off by
// <= |a| eps relative, plus the exp's own few ulps. Below a = -A the value e^a < e^-A is below
// atol anyway, so every exp counts at most A + 4 ulps.
const A = 24;

/**
 * Tolerances for k bins. Softmax, gradients and the mean are ratios of sums of k such exps:
 * <= (k + A + 4) eps relative. Every NLL term is >= 0 and, where l_j is not the largest logit,
 * >= log 2, so the same bound is relative per pixel too (where it is the largest, log1p keeps
 * it relative); a per-image sum (~6 strided terms, then a 7-level tree) adds ~16 eps of itself.
 * The sampled bin centre is one f32 division (WGSL allows 2.5 ulps).
 */
function _tolerances(k: number) {
  const rtol = (k + A + 4) * EPS;
  return {
    sumTol: { atol: 1e-6, rtol: rtol + 16 * EPS },
    // The harness holds dh to gradTol too: scale (exp(lv) - 1) / 2 cancels near lv = 0, leaving
    // 0.37 * 0.5 * a few ulps of 1 (~1e-7) absolute. _checkAll holds dhead alone to e^-A.
    gradTol: { atol: 1e-7, rtol },
    meanTol: { atol: 0, rtol },
    sampleTol: { atol: 0, rtol: 3 * EPS },
  } satisfies Record<string, Tolerance>;
}

likelihoodTests(categorical(4), { makeCase: _makeCase(4), ..._tolerances(4) });

Deno.test("categorical rejects bins outside [2, 256] with a RangeError", () => {
  for (const bad of [1, 257, 2.5, Number.NaN]) {
    let threw = false;
    try {
      categorical(bad);
    } catch (e) {
      threw = e instanceof RangeError && /bins must be an integer in \[2, 256\]/.test(String(e));
    }
    if (!threw) throw new Error(`categorical(${bad}) did not throw the RangeError`);
  }
  const c = categorical(7);
  if (c.width !== 7 || c.k !== 7 || c.constants.bins !== 7) {
    throw new Error(`categorical(7) has width ${c.width}, k ${c.k}, bins ${c.constants.bins}`);
  }
});

Deno.test("binOf recovers every bin of every k from its bin centre, f32 a few ulps off", () => {
  for (let k = 2; k <= 256; k++) {
    for (let j = 0; j < k; j++) {
      const centre = Math.fround((j + 0.5) / k), ulp = 2 ** (Math.floor(Math.log2(centre)) - 23);
      // The gather's f32 division may be 2.5 ulps off (WGSL); the kernel's product x * k is f32.
      for (let off = -3; off <= 3; off++) {
        const x = centre + off * ulp;
        if (binOf(x, k) !== j || Math.floor(Math.fround(x * k)) !== j) {
          throw new Error(`k=${k}: bin ${j}'s centre ${off} ulps off reads as bin ${binOf(x, k)}`);
        }
      }
    }
  }
});

/**
 * Every categorical kernel on one case against the reference: per-image loss, dhead, mean and
 * sample. `pixelTol` replaces the per-image tolerance (for D = 1, where a per-image NLL is one
 * pixel's). dhead is held to atol e^-A, tighter than the harness (which shares it with dh).
 */
async function _check(
  gpu: Gpu,
  lik: Likelihood,
  c: { head: Float64Array; x: Float64Array; n: number; d: number },
  label: string,
  pixelTol?: Tolerance,
) {
  const { n, d } = c, k = lik.k, latent = 3, tol = _tolerances(k);
  const head = Float64Array.from(f32(c.head)), x = Float64Array.from(f32(c.x));
  const h = Float64Array.from(f32(normal(rng(n * d), n * 2 * latent)));
  const loss = await LikelihoodLoss.create(gpu, { kernel: lik.kernel, n, d, latent, width: k, k });
  const output = await LikelihoodOutput.create(gpu, { kernel: lik.kernel, n, d, k, ...lik.noise });
  const rngOp = await Rng.create(gpu);
  const b = {
    head: gpu.storage("head", f32(head)),
    x: gpu.storage("x", f32(x)),
    h: gpu.storage("h", f32(h)),
    perImage: gpu.storage("per_image", n * 2 * 4),
    sums: gpu.storage("sums", 8),
    dHead: gpu.storage("dhead", n * d * k * 4),
    dH: gpu.storage("dh", n * 2 * latent * 4),
    mean: gpu.storage("mean", n * d * 4),
    draw: gpu.storage("draw", n * d * 4),
  };
  const rec = gpu.record();
  loss.forward(rec, b.perImage, b.sums, b.head, b.x, b.h, 0);
  loss.backward(rec, b.dHead, b.dH, b.head, b.x, b.h, { scale: 0.37 });
  output.mean(rec, b.mean, b.head);
  output.sample(rec, b.draw, b.head, rngOp, 11, n * d);
  await rec.submit();
  const uniforms = await gpu.readF32(output.noise.uniforms!, 0, n * d);
  const got = {
    perImage: await gpu.readF32(b.perImage, 0, 2 * n),
    dHead: await gpu.readF32(b.dHead, 0, n * d * k),
    mean: await gpu.readF32(b.mean, 0, n * d),
    draw: await gpu.readF32(b.draw, 0, n * d),
  };
  for (const buf of Object.values(b)) buf.destroy();
  for (const [what, a] of Object.entries(got)) {
    if (!a.every(Number.isFinite)) throw new Error(`${label}: ${what} has a non-finite value`);
  }
  const shape = { n, d, latent, k }, px = lik.reference;
  const ref = likelihoodKlForward(px, shape, head, x, h);
  const grad = likelihoodKlBackward(px, shape, head, x, h, { scale: 0.37 });
  assertClose(`${label} per_image`, got.perImage, ref.perImage, pixelTol ?? tol.sumTol);
  assertClose(`${label} dhead`, got.dHead, grad.dHead, { ...tol.gradTol, atol: Math.exp(-A) });
  assertClose(`${label} mean`, got.mean, likelihoodMean(px, head, n, d, k), tol.meanTol);
  const want = likelihoodSample(px, head, [], uniforms, lik.noise, n, d, k);
  assertClose(`${label} sample`, got.draw, want, tol.sampleTol);
}

gpuTest("categorical kernels match the f64 reference for k = 2, 7 and 256", async (gpu) => {
  for (const [k, n, d] of [[2, 7, 33], [2, 3, 784], [7, 7, 33], [7, 3, 784], [256, 2, 784]]) {
    const c = _makeCase(k)(rng(200 + k + n), n, d, false);
    await _check(gpu, categorical(k), { ...c, n, d }, `k=${k} n=${n} d=${d}`);
  }
});

gpuTest(
  "categorical kernels match the f64 reference per pixel at logits +-100, equal logits, k = 2 to 256",
  async (gpu) => {
    for (const k of [2, 4, 7, 256]) {
      const head: number[] = [], x: number[] = [];
      for (const j of [0, k >> 1, k - 1]) {
        const other = (j + 1) % k;
        const patterns: ((w: number) => number)[] = [
          () => 0, // equal: log k
          () => 100,
          () => -100,
          (w) => (w === j ? 100 : -100), // certain and right: ~(k - 1) e^-200
          (w) => (w === j ? -100 : 100), // certain and wrong: 200 + log(k - 1)
          (w) => (w === j ? -100 : w === other ? 100 : -100), // 200
          (w) => (w === j ? 10 : 0), // the log1p path: ~(k - 1) e^-10
          (w) => (w === j ? 0 : -100), // other bins' mass subnormal in f32
          (w) => (w === other ? 100 : w === j ? 100 - 2 ** -17 : -100), // a close second
        ];
        for (const f of patterns) {
          for (let w = 0; w < k; w++) head.push(f(w));
          x.push((j + 0.5) / k);
        }
      }
      // One pixel per image: each per-image NLL is one pixel's, held to the per-pixel bound;
      // atol 1e-30 only absorbs masses that f32 cannot hold (e^-200, subnormals).
      const tol = { atol: 1e-30, rtol: _tolerances(k).meanTol.rtol };
      const c = { head: Float64Array.from(head), x: Float64Array.from(x), n: x.length, d: 1 };
      await _check(gpu, categorical(k), c, `extremes k=${k}`, tol);
    }
  },
);

gpuTest(
  "categorical_output inverse CDF never draws a bin of f32 mass 0, even at u = 1",
  async (gpu) => {
    // The sample kernel on chosen uniforms: 2^-25 and 1 - 2^-24 are the generator's extremes;
    // u = 1 (never generated) makes u * sum reach the total, the case rounding could cause.
    const k = 4, z = -200; // e^-200 is 0 in f32
    const cases: [number[], number, number][] = [
      [[z, 0, 0, z], 2 ** -25, 1],
      [[z, 0, 0, z], 1 - 2 ** -24, 2],
      [[z, 0, 0, z], 1, 2],
      [[0, z, z, z], 1 - 2 ** -24, 0],
      [[0, z, z, z], 1, 0],
      [[z, z, z, 0], 2 ** -25, 3],
      [[1, 1, 1, 1], 2 ** -25, 0],
      [[1, 1, 1, 1], 0.2499999, 0],
      [[1, 1, 1, 1], 0.2500001, 1],
      [[1, 1, 1, 1], 1, 3],
    ];
    const n = cases.length;
    const kernel = await gpu.kernel("categorical_output", { WG: 256, MODE: 1 });
    const shape = gpu.uniform(OutputShape, { n, d: 1, k });
    const head = gpu.storage("head", f32(cases.flatMap(([l]) => l)));
    const uniforms = gpu.storage("uniforms", f32(cases.map(([, u]) => u)));
    const out = gpu.storage("draw", n * 4);
    const rec = gpu.record();
    rec.dispatchItems(kernel, gpu.bind(kernel, [shape, head, null, uniforms, out]), n);
    await rec.submit();
    const got = await gpu.readF32(out, 0, n);
    for (const b of [shape, head, uniforms, out]) b.destroy();
    cases.forEach(([l, u, j], i) => {
      if (got[i] !== Math.fround((j + 0.5) / k)) {
        throw new Error(`logits ${l}, u = ${u}: drew ${got[i] * k - 0.5}, want bin ${j}`);
      }
    });
  },
);

gpuTest(
  "categorical_output bin frequencies and sample mean match softmax over 10^6 draws, k = 4 and 7",
  async (gpu) => {
    const rngOp = await Rng.create(gpu);
    const n = 1276, d = 784, count = n * d;
    const cases: number[][] = [[0.5, -1, 1.5, 0], [1, -0.5, 0, 2, -100, 0.3, -2]];
    for (const logits of cases) {
      const k = logits.length, lik = categorical(k);
      const e = logits.map((l) => Math.exp(l - Math.max(...logits)));
      const pi = e.map((v) => v / e.reduce((a, b) => a + b));
      const op = await LikelihoodOutput.create(gpu, {
        kernel: "categorical",
        n,
        d,
        k,
        ...lik.noise,
      });
      const head = new Float32Array(count * k);
      for (let i = 0; i < count; i++) head.set(logits, i * k);
      const headBuf = gpu.storage("head", head), out = gpu.storage("draw", count * 4);
      const mean = gpu.storage("mean", count * 4);
      const rec = gpu.record();
      op.sample(rec, out, headBuf, rngOp, 2024, 10 + k);
      op.mean(rec, mean, headBuf);
      await rec.submit();
      const draw = await gpu.readF32(out, 0, count);
      const meanImage = (await gpu.readF32(mean, 0, 1))[0];
      for (const b of [headBuf, out, mean]) b.destroy();
      const freq = new Array<number>(k).fill(0);
      let sum = 0;
      for (let i = 0; i < count; i++) {
        const j = Math.round(draw[i] * k - 0.5);
        if (!(j >= 0 && j < k) || draw[i] !== Math.fround((j + 0.5) / k)) {
          throw new Error(`k=${k}: draw ${i} is ${draw[i]}, not a bin centre`);
        }
        freq[j]++;
        sum += draw[i];
      }
      pi.forEach((p, j) => {
        if (p < 1e-30) {
          if (freq[j] !== 0) {
            throw new Error(`k=${k}: bin ${j} of mass ${p} drawn ${freq[j]} times`);
          }
        } else {_assertWithin(
            `k=${k} P(bin ${j})`,
            freq[j] / count,
            p,
            Math.sqrt(p * (1 - p) / count),
          );}
      });
      const centre = pi.map((_, j) => (j + 0.5) / k);
      const mu = pi.reduce((a, p, j) => a + p * centre[j], 0);
      const sd = Math.sqrt(pi.reduce((a, p, j) => a + p * (centre[j] - mu) ** 2, 0));
      _assertWithin(`k=${k} sample mean`, sum / count, mu, sd / Math.sqrt(count));
      assertClose(`k=${k} mean image`, [meanImage], [mu], _tolerances(k).meanTol);
    }
  },
);

function _assertWithin(name: string, value: number, want: number, standardError: number) {
  const z = (value - want) / standardError;
  if (!(Math.abs(z) <= 5)) {
    throw new Error(`${name}: ${value} is ${z.toFixed(2)} standard errors from ${want}`);
  }
}
