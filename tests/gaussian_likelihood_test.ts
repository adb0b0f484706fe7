import type { Gpu } from "../src/gpu/gpu.ts";
import { gaussian } from "../src/likelihood/gaussian.ts";
import { LikelihoodLoss } from "../src/ops/likelihood_loss.ts";
import { LikelihoodOutput } from "../src/ops/likelihood_output.ts";
import { Rng } from "../src/ops/rng.ts";
import { likelihoodKlBackward, likelihoodKlForward } from "../src/reference/likelihood_kl.ts";
import { likelihoodTests } from "./likelihood_harness.ts";
import { assertClose, f32, gpuTest, normal, uniform } from "./helpers.ts";

// Data y = (p + u) / 256; means near y (every 13th anywhere in (-0.5, 1.5), so the mean image
// clips); log-variances in (-8, 2), with every 97th pixel at s = +-20 and m = y +- 3.
likelihoodTests(gaussian, {
  makeCase(rand, n, d, gentle) {
    const y = uniform(rand, n * d, 0, 1).map((u) => (Math.floor(256 * rand()) + u) / 256);
    const z = normal(rand, n * d);
    const head = new Float64Array(2 * n * d);
    for (let i = 0; i < n * d; i++) {
      head[2 * i] = i % 13 === 0 ? -0.5 + 2 * rand() : y[i] + 0.1 * z[i];
      head[2 * i + 1] = gentle ? -2 + 4 * rand() : -8 + 10 * rand();
      if (!gentle && i % 97 === 0) {
        head[2 * i + 1] = i % 2 ? -20 : 20;
        head[2 * i] = y[i] + (i % 3 === 0 ? 3 : i % 3 === 1 ? -3 : 0);
      }
    }
    return { head, x: y };
  },
  // Per image: 784 terms of size |log 2 pi| + |s| + r^2, each off by a few f32 ulps (exp, the
  // products), summed as ~6 strided terms then a 7-level tree: error <= ~16 eps sum|terms|.
  // sum|terms| <= ~784 (2 + 8 + 0.5) ~ 8e3 for the moderate pixels (1e-3 absolute); the
  // s = -20, |y - m| = 3 pixels (r^2 ~ 4e9) dominate their image's sum, hence rtol.
  sumTol: { atol: 2e-3, rtol: 2e-6 },
  // Per head number, times the harness's scale 0.37: r = (y - m) e^{-s/2} carries ~3 ulps
  // (the subtraction, lavapipe's exp), so r^2 carries ~6 relative; (1 - r^2) / 2 cancels near
  // r^2 = 1 and keeps that error absolute: 0.37 * 0.5 * 16 eps = 3.5e-7 with a margin. Away from
  // the cancellation the error is relative (the same ~6 ulps, under rtol).
  gradTol: { atol: 3.5e-7, rtol: 1e-5 },
  meanTol: { atol: 0, rtol: 0 },
  // m + e^{s/2} eps: e^{s/2} eps is off by a few ulps relative, m by none.
  sampleTol: { atol: 1e-6, rtol: 1e-5 },
});

async function _lossAndGrad(
  gpu: Gpu,
  head: Float64Array,
  y: Float64Array,
): Promise<{ nll: Float32Array; dHead: Float32Array }> {
  const n = y.length, latent = 1;
  const op = await LikelihoodLoss.create(gpu, {
    kernel: "gaussian",
    n,
    d: 1,
    latent,
    width: 2,
    k: 0,
  });
  const bufs = {
    head: gpu.storage("head", f32(head)),
    y: gpu.storage("y", f32(y)),
    h: gpu.storage("h", new Float32Array(2 * n * latent)),
    perImage: gpu.storage("per_image", 2 * n * 4),
    sums: gpu.storage("sums", 8),
    dHead: gpu.storage("dhead", 2 * n * 4),
    dH: gpu.storage("dh", 2 * n * latent * 4),
  };
  const rec = gpu.record();
  op.forward(rec, bufs.perImage, bufs.sums, bufs.head, bufs.y, bufs.h, 0);
  op.backward(rec, bufs.dHead, bufs.dH, bufs.head, bufs.y, bufs.h, { scale: 1 });
  await rec.submit();
  const perImage = await gpu.readF32(bufs.perImage, 0, 2 * n);
  const dHead = await gpu.readF32(bufs.dHead, 0, 2 * n);
  for (const b of Object.values(bufs)) b.destroy();
  return { nll: perImage.filter((_, i) => i % 2 === 0), dHead };
}

gpuTest(
  "gaussian_kl kernels are finite and match the f64 reference per pixel at s = +-20, m far from y",
  async (gpu) => {
    // One pixel per image (D = 1), so per_image holds each pixel's own NLL.
    const head: number[] = [], y: number[] = [];
    for (const yv of [0.001953125, 0.5, 0.998]) {
      for (const s of [-20, -13.6, -4.6, 0, 5, 20]) {
        for (const dm of [0, 1e-4, -0.3, 3, -10]) {
          y.push(yv);
          head.push(yv + dm, s);
        }
      }
    }
    const h64 = Float64Array.from(f32(head)), y64 = Float64Array.from(f32(y));
    const got = await _lossAndGrad(gpu, h64, y64);
    const shape = { n: y.length, d: 1, latent: 1, k: 0 };
    const zeros = new Float64Array(2 * y.length);
    const want = likelihoodKlForward(gaussian.reference, shape, h64, y64, zeros);
    const wantGrad = likelihoodKlBackward(gaussian.reference, shape, h64, y64, zeros, {
      scale: 1,
    });
    for (const [what, a] of Object.entries(got)) {
      if (!a.every(Number.isFinite)) throw new Error(`${what} has a non-finite value`);
    }
    // One term each: (log 2 pi + s + r^2) / 2 cancels to ~0 at s = -20, r^2 ~ 18, leaving a few
    // ulps of 20 (~5e-6) absolute; elsewhere a few ulps relative (r^2 reaches 4.9e10).
    assertClose("nll", got.nll, want.perImage.filter((_, i) => i % 2 === 0), {
      atol: 1e-5,
      rtol: 1e-5,
    });
    assertClose("dhead", got.dHead, wantGrad.dHead, { atol: 1e-7, rtol: 1e-5 });
  },
);

const PHI_MINUS_HALF = 0.3085375387259869; // P(N(0, 1) < -1/2)

gpuTest(
  "gaussian_output samples have the head's mean and variance over 10^6 draws, and clip at 0",
  async (gpu) => {
    const n = 1280, d = 784, half = (n / 2) * d;
    // Images 0 .. n/2: m = 0.5, sd 0.1 (the clip at 0 and 1 is 5 sd away: mass 6e-7, an effect
    // on the mean below 1e-8). The rest: m = 0.1, sd 0.2, so P(sample = 0) = Phi(-1/2).
    const head = new Float32Array(2 * n * d);
    for (let i = 0; i < n * d; i++) {
      const [m, sd] = i < half ? [0.5, 0.1] : [0.1, 0.2];
      head[2 * i] = m;
      head[2 * i + 1] = Math.log(sd * sd);
    }
    const op = await LikelihoodOutput.create(gpu, {
      kernel: "gaussian",
      n,
      d,
      k: 0,
      ...gaussian.noise,
    });
    const rngOp = await Rng.create(gpu);
    const headBuf = gpu.storage("head", head), out = gpu.storage("draw", n * d * 4);
    const rec = gpu.record();
    op.sample(rec, out, headBuf, rngOp, 2024, 5);
    await rec.submit();
    const draw = await gpu.readF32(out, 0, n * d);
    headBuf.destroy();
    out.destroy();
    const bad = draw.findIndex((v) => !(v >= 0 && v <= 1));
    if (bad >= 0) throw new Error(`draw ${bad} is ${draw[bad]}, outside [0, 1]`);
    let sum = 0, ss = 0, zeros = 0;
    for (let i = 0; i < half; i++) sum += draw[i];
    const mean = sum / half;
    for (let i = 0; i < half; i++) ss += (draw[i] - mean) ** 2;
    for (let i = half; i < n * d; i++) zeros += draw[i] === 0 ? 1 : 0;
    _assertWithin("mean", mean, 0.5, 0.1 / Math.sqrt(half));
    // Var of the sample variance of a normal: 2 sd^4 / N.
    _assertWithin("variance", ss / (half - 1), 0.01, 0.01 * Math.sqrt(2 / half));
    const p0 = PHI_MINUS_HALF;
    _assertWithin("P(0)", zeros / half, p0, Math.sqrt((p0 * (1 - p0)) / half));
  },
);

function _assertWithin(name: string, value: number, want: number, standardError: number) {
  const z = (value - want) / standardError;
  if (!(Math.abs(z) <= 5)) {
    throw new Error(`${name}: ${value} is ${z.toFixed(2)} standard errors from ${want}`);
  }
}
