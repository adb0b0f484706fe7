import type { Gpu } from "../src/gpu/gpu.ts";
import { beta } from "../src/likelihood/beta.ts";
import { LikelihoodLoss } from "../src/ops/likelihood_loss.ts";
import { LikelihoodOutput } from "../src/ops/likelihood_output.ts";
import { Rng } from "../src/ops/rng.ts";
import { BETA_TRIALS, betaSample, betaShape, logGammaDraw, mtTail } from "../src/reference/beta.ts";
import { digammaDiff, logBeta } from "../src/reference/special.ts";
import { likelihoodTests } from "./likelihood_harness.ts";
import { assertClose, f32, gpuTest, uniform } from "./helpers.ts";

const ONE_BELOW = Math.fround(1 - 2 ** -24);

/** y = (p + u) / 256 in f32 as the gather makes it: mostly background, some ink, some grey. */
function dequantized(rand: () => number, count: number): Float64Array {
  const y = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const r = rand();
    const p = r < 0.6 ? 0 : r < 0.75 ? 252 + Math.floor(4 * rand()) : Math.floor(256 * rand());
    const u = Math.fround(Math.max(2 ** -25, rand()));
    y[i] = Math.min(Math.fround(Math.fround(p + u) / 256), ONE_BELOW);
  }
  return y;
}

// Raw heads in [-5, 8] (shapes 7e-3 to 8) on realistic data; `gentle` keeps shapes in
// [0.13, 3.05] and y in [0.02, 0.98] for the f64 central differences.
likelihoodTests(beta, {
  makeCase(rand, n, d, gentle) {
    const head = gentle ? uniform(rand, 2 * n * d, -2, 3) : uniform(rand, 2 * n * d, -5, 8);
    const x = gentle ? uniform(rand, n * d, 0.02, 0.98) : dequantized(rand, n * d);
    return { head, x };
  },
  // Per-image NLL sums of 784 terms, ~1e4 in total size, in f32: observed 1.1e-7 relative.
  sumTol: { atol: 1e-4, rtol: 4e-7 },
  // Observed errors up to 1e-6 on gradients of size ~3: 3.6e-7 relative to max(1, |g|).
  gradTol: { atol: 1e-6, rtol: 1e-6 },
  // alpha / (alpha + beta) from f32 shapes: observed 5.3e-7 relative.
  meanTol: { atol: 1e-7, rtol: 1e-6 },
  // The kernel must accept the same trial as the reference (a different one moves a draw by
  // ~0.1). Within it, f32 ln G carries ~1e-7 |ln G|, and |ln G| reaches |ln U| / k ~ 2500 at
  // k = 7e-3, so a draw 1 / (1 + e^t) may move by up to ~1e-4 (observed 8e-6).
  sampleTol: { atol: 1e-4, rtol: 0 },
});

// Raw heads from -1e4 to past the clamp, and data at the ends the gather can produce:
// (0 + 2^-25) / 256 = 2^-33 and (255 + 1 - 2^-24) / 256, capped at 1 - 2^-24.
const EXTREME_HEADS = [-1e4, -50, -5, 0, 5, 50, 1e4, 3e4];
const EXTREME_Y = [2 ** -33, 1 / 512, 0.25, 0.5, 511 / 512, ONE_BELOW];

function extremeCase(): { head: Float64Array; y: Float64Array } {
  const head: number[] = [], y: number[] = [];
  for (const a of EXTREME_HEADS) {
    for (const b of EXTREME_HEADS) {
      for (const v of EXTREME_Y) {
        head.push(a, b);
        y.push(v);
      }
    }
  }
  return { head: Float64Array.from(f32(head)), y: Float64Array.from(f32(y)) };
}

/** |got - want| <= tol * scale elementwise, with the worst case in the message. */
function assertScaled(
  name: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  scale: ArrayLike<number>,
  tol: number,
  label: (i: number) => string,
): void {
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) throw new Error(`${name}: ${label(i)} gave ${got[i]}`);
    const e = Math.abs(got[i] - want[i]) / scale[i];
    if (!(e <= worst)) [worst, at] = [e, i];
  }
  if (!(worst <= tol)) {
    throw new Error(
      `${name}: error ${worst.toExponential(2)} x scale > ${tol} at ${label(at)}: got ${
        got[at]
      }, want ${want[at]}`,
    );
  }
}

gpuTest(
  "beta_kl kernels are finite and match the reference at extreme heads and data",
  async (gpu) => {
    const { head, y } = extremeCase();
    // One pixel per image, so per_image holds each pixel's NLL.
    const n = y.length, d = 1, latent = 1;
    const op = await LikelihoodLoss.create(gpu, { kernel: "beta", n, d, latent, width: 2, k: 0 });
    const bufs = {
      head: gpu.storage("head", f32(head)),
      x: gpu.storage("x", f32(y)),
      h: gpu.storage("h", new Float32Array(2 * n)),
      perImage: gpu.storage("per_image", n * 8),
      sums: gpu.storage("sums", 8),
      dHead: gpu.storage("dhead", n * 8),
      dH: gpu.storage("dh", n * 8),
    };
    const rec = gpu.record();
    op.forward(rec, bufs.perImage, bufs.sums, bufs.head, bufs.x, bufs.h, 0);
    op.backward(rec, bufs.dHead, bufs.dH, bufs.head, bufs.x, bufs.h, { scale: 1 });
    await rec.submit();
    const perImage = await gpu.readF32(bufs.perImage, 0, 2 * n);
    const dHead = await gpu.readF32(bufs.dHead, 0, 2 * n);
    for (const b of Object.values(bufs)) b.destroy();
    const label = (i: number) => `head (${head[2 * i]}, ${head[2 * i + 1]}), y ${y[i]}`;
    const nll = new Float64Array(n), nllScale = new Float64Array(n);
    const grad = new Float64Array(2 * n), gradScale = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const a = head[2 * i], b = head[2 * i + 1];
      const alpha = betaShape(a), bet = betaShape(b);
      const lb = logBeta(alpha, bet), ly = Math.log(y[i]), l1y = Math.log1p(-y[i]);
      nll[i] = beta.reference.nll([a, b], y[i], 0);
      // f32 rounds each of the three terms: the error scales with their sizes, not the sum's.
      nllScale[i] = 1 + Math.abs(lb) + Math.abs((alpha - 1) * ly) + Math.abs((bet - 1) * l1y);
      const g = beta.reference.grad([a, b], y[i], 0);
      grad[2 * i] = g[0];
      grad[2 * i + 1] = g[1];
      const sig = (v: number) => (v >= 1e4 ? 0 : 1 / (1 + Math.exp(-v)));
      // Plus 1e-9 (so 1e-15 absolute): at a raw -50, sigmoid = e^-50 = 2e-22, and WGSL's exp is
      // only promised to 3 + 2 |x| ulp (lavapipe: 1.3e-6 relative there).
      gradScale[2 * i] = 1e-9 + sig(a) * (1 + Math.abs(digammaDiff(alpha, bet)) + Math.abs(ly));
      gradScale[2 * i + 1] = 1e-9 +
        sig(b) * (1 + Math.abs(digammaDiff(bet, alpha)) + Math.abs(l1y));
    }
    // Observed 1.2e-7 and 2.7e-7 times the scale: a few f32 roundings of the largest term.
    assertScaled("NLL", perImage.filter((_, i) => i % 2 === 0), nll, nllScale, 5e-7, label);
    assertScaled("dhead", dHead, grad, gradScale, 1e-6, (i) => `${label(i >> 1)} [${i % 2}]`);
  },
);

/** Runs the output op on `head` (N, D, 2); returns mean, draw and the noise it read. */
async function output(gpu: Gpu, head: Float64Array, n: number, d: number, seed: number) {
  const op = await LikelihoodOutput.create(gpu, { kernel: "beta", n, d, k: 0, ...beta.noise });
  const rngOp = await Rng.create(gpu);
  const headBuf = gpu.storage("head", f32(head));
  const mean = gpu.storage("mean", n * d * 4), draw = gpu.storage("draw", n * d * 4);
  const rec = gpu.record();
  op.mean(rec, mean, headBuf);
  op.sample(rec, draw, headBuf, rngOp, seed, 0);
  await rec.submit();
  const result = {
    mean: await gpu.readF32(mean),
    draw: await gpu.readF32(draw),
    normals: await gpu.readF32(op.noise.normals!, 0, n * d * beta.noise.normals),
    uniforms: await gpu.readF32(op.noise.uniforms!, 0, n * d * beta.noise.uniforms),
  };
  for (const b of [headBuf, mean, draw, op.noise.normals!, op.noise.uniforms!]) b.destroy();
  return result;
}

const NN = beta.noise.normals, NU = beta.noise.uniforms;
// Draws against the reference given the same noise, in units of drawScale: observed 1.7e-7.
const DRAW_TOL = 1e-6;

/**
 * What an f32 draw's error scales with: x = 1 / (1 + e^t), t = ln G2 - ln G1, and f32 holds
 * each ln G to ~1e-7 |ln G|, so x moves by x (1 - x) dt; ln G reaches |ln U| / k, 1.7e5 at
 * k = 1e-4. The 0.5 floor covers the rounding of x itself, a few ulp.
 */
function drawScale(
  head: ArrayLike<number>,
  i: number,
  normals: Float32Array,
  uniforms: Float32Array,
) {
  const T = BETA_TRIALS, nz = normals.subarray(i * NN, (i + 1) * NN);
  const uz = uniforms.subarray(i * NU, (i + 1) * NU);
  const g = [0, 1].map((w) =>
    logGammaDraw(
      betaShape(head[2 * i + w]),
      nz.subarray(w * T, (w + 1) * T),
      uz.subarray(w * T, (w + 1) * T),
      uz[2 * T + w],
    ) ?? 0
  );
  const x = betaSample(head[2 * i], head[2 * i + 1], nz, uz);
  return { x, scale: 0.5 + x * (1 - x) * (1 + Math.abs(g[0]) + Math.abs(g[1])) };
}

gpuTest(
  "beta_output mean and sample stay in [0, 1] and match the reference at extreme heads",
  async (gpu) => {
    const { head } = extremeCase();
    const n = head.length / 2;
    const got = await output(gpu, head, n, 1, 11);
    const wantMean = new Float64Array(n), wantDraw = new Float64Array(n);
    const drawScales = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      wantMean[i] = beta.reference.mean([head[2 * i], head[2 * i + 1]], 0);
      ({ x: wantDraw[i], scale: drawScales[i] } = drawScale(head, i, got.normals, got.uniforms));
    }
    for (const [what, values] of [["mean", got.mean], ["draw", got.draw]] as const) {
      const bad = values.findIndex((v) => !(v >= 0 && v <= 1));
      if (bad >= 0) throw new Error(`${what} ${bad} is ${values[bad]}, outside [0, 1]`);
    }
    // Shapes down to 1e-4: alpha / (alpha + beta) down to 1e-8, relative accuracy holds.
    assertClose("mean", got.mean, wantMean, { atol: 1e-12, rtol: 1e-6 });
    const label = (i: number) => `head (${head[2 * i]}, ${head[2 * i + 1]})`;
    assertScaled("draw", got.draw, wantDraw, drawScales, DRAW_TOL, label);
  },
);

/** Marsaglia-Tsang's probability that one trial at MT shape s rejects, by quadrature. */
function mtRejection(s: number): number {
  const d = s - 1 / 3, c = 1 / Math.sqrt(9 * d), h = 1e-3;
  let accept = 0;
  for (let z = -12; z < 12; z += h) {
    const w = c * (z + h / 2);
    if (w <= -1) continue;
    accept += Math.exp(-0.5 * (z + h / 2) ** 2 + 3 * d * mtTail(w)) * h;
  }
  return 1 - accept / Math.sqrt(2 * Math.PI);
}

gpuTest(
  "beta_output: no Gamma exhausts its 8 trials over 10^6 draws at the worst shape, " +
    "and trials reject at Marsaglia-Tsang's rate",
  async (gpu) => {
    // Half the pixels at raw (-50, -50): shapes 1e-4, boosted to 1 + 1e-4; half at
    // softplus^-1(1) = ln(e - 1): shapes 1 + 1e-4. Either way Marsaglia-Tsang runs at its worst
    // shape, s = 1 + 1e-4, where a trial rejects with probability 0.0483.
    const n = 500, d = 1000, pixels = n * d;
    const head = new Float64Array(2 * pixels);
    const one = Math.fround(Math.log(Math.E - 1));
    for (let i = 0; i < pixels; i++) head.fill(i < pixels / 2 ? -50 : one, 2 * i, 2 * i + 2);
    const got = await output(gpu, head, n, d, 2024);
    const want = new Float64Array(pixels), scales = new Float64Array(pixels);
    let exhausted = 0, firstRejected = 0;
    const trials = { used: 0 };
    for (let i = 0; i < pixels; i++) {
      const nz = got.normals.subarray(i * NN, (i + 1) * NN);
      const uz = got.uniforms.subarray(i * NU, (i + 1) * NU);
      const k = betaShape(head[2 * i]), T = BETA_TRIALS;
      for (const g of [0, 1]) {
        const lg = logGammaDraw(
          k,
          nz.subarray(g * T, (g + 1) * T),
          uz.subarray(g * T, (g + 1) * T),
          uz[2 * T + g],
          trials,
        );
        if (lg === null) exhausted++;
        if (trials.used > 1 || lg === null) firstRejected++;
      }
      ({ x: want[i], scale: scales[i] } = drawScale(head, i, got.normals, got.uniforms));
    }
    if (exhausted > 0) throw new Error(`${exhausted} of ${2 * pixels} Gamma draws exhausted`);
    const p = mtRejection(1 + 1e-4), rate = firstRejected / (2 * pixels);
    const se = Math.sqrt((p * (1 - p)) / (2 * pixels));
    if (!(Math.abs(rate - p) <= 5 * se)) {
      throw new Error(`first trials rejected at ${rate}, Marsaglia-Tsang gives ${p} (se ${se})`);
    }
    // The kernel took the same trials (its draws match), so it exhausted none either. f32 and
    // f64 could part only on a trial whose ln u lies within ~1e-7 |ln u| of the bound 3 d h(w),
    // which is small near acceptance: ~0.01 such trials are expected here.
    assertScaled("draws", got.draw, want, scales, DRAW_TOL, (i) => `pixel ${i}`);
  },
);

/** Mean, variance and the standard errors of both. */
function moments(a: ArrayLike<number>) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i];
  const mean = sum / a.length;
  let m2 = 0, m4 = 0;
  for (let i = 0; i < a.length; i++) {
    const d2 = (a[i] - mean) ** 2;
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= a.length - 1;
  m4 /= a.length;
  return {
    mean,
    variance: m2,
    meanSe: Math.sqrt(m2 / a.length),
    varianceSe: Math.sqrt(Math.max(m4 - m2 * m2, 0) / a.length),
  };
}

gpuTest("beta_output draws have the Beta mean and variance", async (gpu) => {
  // Raw heads for the target shapes: softplus^-1(s - 1e-4); (-50, -50) gives (1e-4, 1e-4) and
  // (1e4, 1e4) the largest shapes; the moments use the shapes the f32 heads really give.
  const inv = (s: number) => Math.log(Math.expm1(s - 1e-4));
  const cases: [number, number][] = [
    [inv(2), inv(5)],
    [inv(0.5), inv(0.5)],
    [inv(30), inv(10)],
    [inv(0.05), inv(1.5)],
    [-50, -50],
    [1e4, 1e4],
  ];
  const d = 65_536, n = cases.length;
  const head = new Float64Array(2 * n * d);
  cases.forEach(([a, b], r) => {
    for (let p = 0; p < d; p++) head.set([a, b], 2 * (r * d + p));
  });
  const got = await output(gpu, Float64Array.from(f32(head)), n, d, 99);
  cases.forEach(([a, b], r) => {
    const alpha = betaShape(Math.fround(a)), bet = betaShape(Math.fround(b)), c = alpha + bet;
    const m = moments(got.draw.subarray(r * d, (r + 1) * d));
    const wantMean = alpha / c, wantVar = (alpha * bet) / (c * c * (c + 1));
    const label = `Beta(${alpha.toPrecision(4)}, ${bet.toPrecision(4)})`;
    const zMean = (m.mean - wantMean) / m.meanSe, zVar = (m.variance - wantVar) / m.varianceSe;
    if (!(Math.abs(zMean) <= 5) || !(Math.abs(zVar) <= 5)) {
      throw new Error(
        `${label}: mean ${m.mean} (want ${wantMean}, z ${zMean.toFixed(2)}), variance ` +
          `${m.variance} (want ${wantVar}, z ${zVar.toFixed(2)})`,
      );
    }
  });
});
