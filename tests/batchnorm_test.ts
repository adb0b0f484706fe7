import type { Gpu } from "../src/gpu/gpu.ts";
import { BatchNorm2d } from "../src/ops/batchnorm.ts";
import {
  type BatchNorm2dDims,
  batchNormBackward,
  batchNormEvalBackward,
  batchNormEvalForward,
  batchNormTrainForward,
} from "../src/reference/batchnorm.ts";
import { assertClose, f32, gpuTest, normal, numericGrad, rng, uniform } from "./helpers.ts";

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
const size = (d: BatchNorm2dDims) => d.batch * d.channels * d.height * d.width;
/** The f32 rounding of v, as f64: what a kernel reads when given v. */
const r32 = (v: ArrayLike<number>) => Float64Array.from(f32(v));

/** x with a per-channel offset and scale, so that the statistics differ between channels. */
function input(rand: () => number, d: BatchNorm2dDims, offset = 3, spread = 2): Float64Array {
  const C = d.channels, HW = d.height * d.width;
  const shift = uniform(rand, C, -offset, offset), scale = uniform(rand, C, 0.5, spread);
  return normal(rand, size(d)).map((v, i) => {
    const c = Math.floor(i / HW) % C;
    return shift[c] + scale[c] * v;
  });
}

Deno.test("batchNormBackward matches central differences in f64 for x, gamma and beta", () => {
  const rand = rng(1);
  for (
    const d of [
      { batch: 2, channels: 3, height: 3, width: 3 },
      { batch: 1, channels: 2, height: 2, width: 3 },
    ]
  ) {
    const x = input(rand, d), r = normal(rand, size(d));
    const gamma = uniform(rand, d.channels, 0.5, 1.5), beta = normal(rand, d.channels);
    const rm = new Float64Array(d.channels), rv = new Float64Array(d.channels).fill(1);
    const loss = (xx: Float64Array, g: Float64Array, b: Float64Array) =>
      dot(batchNormTrainForward(d, xx, g, b, rm, rv).y, r);
    const got = batchNormBackward(d, r, x, gamma);
    const tol = { atol: 1e-7, rtol: 1e-6 };
    assertClose("dx", got.dx, numericGrad((v) => loss(v, gamma, beta), x), tol);
    assertClose("dgamma", got.dGamma, numericGrad((v) => loss(x, v, beta), gamma), tol);
    assertClose("dbeta", got.dBeta, numericGrad((v) => loss(x, gamma, v), beta), tol);
  }
});

Deno.test("batchNormEvalBackward matches central differences in f64 for x, gamma and beta", () => {
  const rand = rng(2);
  const d = { batch: 2, channels: 3, height: 3, width: 3 };
  const x = input(rand, d), r = normal(rand, size(d));
  const gamma = uniform(rand, 3, 0.5, 1.5), beta = normal(rand, 3);
  const rm = normal(rand, 3), rv = uniform(rand, 3, 0.5, 2);
  const loss = (xx: Float64Array, g: Float64Array, b: Float64Array) =>
    dot(batchNormEvalForward(d, xx, g, b, rm, rv), r);
  const got = batchNormEvalBackward(d, r, x, gamma, rm, rv);
  const tol = { atol: 1e-7, rtol: 1e-6 };
  assertClose("dx", got.dx, numericGrad((v) => loss(v, gamma, beta), x), tol);
  assertClose("dgamma", got.dGamma, numericGrad((v) => loss(x, v, beta), gamma), tol);
  assertClose("dbeta", got.dBeta, numericGrad((v) => loss(x, gamma, v), beta), tol);
});

/** Byte offset of the next 256-aligned slot after `bytes` bytes. */
const slot = (bytes: number) => Math.ceil(bytes / 256) * 256;

/**
 * Two training forwards (x1 then x2), a backward, an evaluation forward and backward, all in
 * one recording, with gamma/beta, their gradients and the running statistics as 256-aligned
 * ranges of flat buffers, as the model holds them. Checks every output against the reference.
 */
async function checkAgainstReference(
  gpu: Gpu,
  d: BatchNorm2dDims,
  seed: number,
  { offset = 3, yAtol = 1e-5, relu = false } = {},
): Promise<void> {
  const rand = rng(seed);
  const C = d.channels, n = size(d), cBytes = slot(C * 4);
  const x1 = r32(input(rand, d, offset)), x2 = r32(input(rand, d, offset));
  const dy = r32(normal(rand, n));
  const gamma = r32(uniform(rand, C, 0.5, 1.5)), beta = r32(normal(rand, C));
  const rm0 = r32(normal(rand, C).map((v) => 0.1 * v)), rv0 = r32(uniform(rand, C, 0.5, 2));

  const params = gpu.storage("params", 2 * cBytes);
  gpu.write(params, f32(gamma)), gpu.write(params, f32(beta), cBytes);
  const running = gpu.storage("buffers", 2 * cBytes);
  gpu.write(running, f32(rm0)), gpu.write(running, f32(rv0), cBytes);
  const grads = gpu.storage("grads", 4 * cBytes);
  const range = (buffer: GPUBuffer, i: number) => ({ buffer, offset: i * cBytes, size: C * 4 });
  const bx1 = gpu.storage("x1", f32(x1)), bx2 = gpu.storage("x2", f32(x2));
  const bdy = gpu.storage("dy", f32(dy));
  const by = gpu.storage("y", n * 4), bdx = gpu.storage("dx", n * 4);
  const byEval = gpu.storage("y eval", n * 4), bdxEval = gpu.storage("dx eval", n * 4);
  const g = range(params, 0), b = range(params, 1), rm = range(running, 0), rv = range(running, 1);

  const op = await BatchNorm2d.create(gpu, { ...d, relu });
  const rec = gpu.record();
  op.forwardTrain(rec, by, bx1, g, b, rm, rv);
  op.forwardTrain(rec, by, bx2, g, b, rm, rv);
  op.backward(rec, bdx, range(grads, 0), range(grads, 1), bdy, bx2, g, b);
  await rec.submit();
  const y = await gpu.readF32(by, 0, n), dx = await gpu.readF32(bdx, 0, n);
  const saved = await gpu.readF32(op.saved, 0, 2 * C);
  const runningMean = await gpu.readF32(running, 0, C);
  const runningVar = await gpu.readF32(running, cBytes / 4, C);
  const dGamma = await gpu.readF32(grads, 0, C), dBeta = await gpu.readF32(grads, cBytes / 4, C);

  const rec2 = gpu.record();
  op.forwardEval(rec2, byEval, bx1, g, b, rm, rv);
  op.backward(rec2, bdxEval, range(grads, 2), range(grads, 3), bdy, bx1, g, b);
  await rec2.submit();
  const yEval = await gpu.readF32(byEval, 0, n), dxEval = await gpu.readF32(bdxEval, 0, n);
  const dGammaEval = await gpu.readF32(grads, 2 * cBytes / 4, C);
  const dBetaEval = await gpu.readF32(grads, 3 * cBytes / 4, C);
  const runningAfterEval = await gpu.readF32(running, 0, C);

  const first = batchNormTrainForward(d, x1, gamma, beta, rm0, rv0);
  const ref = batchNormTrainForward(d, x2, gamma, beta, first.runningMean, first.runningVar);
  // With relu: y = max(0, batch norm), and the gradient reaches batch norm where y > 0 (the
  // GPU's own y decides, so that a value within rounding of 0 cannot flip the comparison).
  const through = (out: Float32Array) => relu ? dy.map((v, i) => (out[i] > 0 ? v : 0)) : dy;
  const back = batchNormBackward(d, through(y), x2, gamma);
  const refEval = batchNormEvalForward(d, x1, gamma, beta, ref.runningMean, ref.runningVar);
  const backEval = batchNormEvalBackward(
    d,
    through(yEval),
    x1,
    gamma,
    ref.runningMean,
    ref.runningVar,
  );
  const act = (v: Float64Array) => (relu ? v.map((u) => Math.max(u, 0)) : v);

  const at = `(${d.batch}, ${C}, ${d.height}, ${d.width})`;
  const stat = { atol: 1e-6, rtol: 1e-5 };
  assertClose(`mean ${at}`, saved.subarray(0, C), ref.mean, stat);
  assertClose(`inv_std ${at}`, saved.subarray(C), ref.invStd, stat);
  assertClose(`running mean ${at}`, runningMean, ref.runningMean, stat);
  assertClose(`running var ${at}`, runningVar, ref.runningVar, stat);
  assertClose(`running mean unchanged by eval ${at}`, runningAfterEval, runningMean, {
    atol: 0,
    rtol: 0,
  });
  assertClose(`y ${at}`, y, act(ref.y), { atol: yAtol, rtol: 1e-5 });
  assertClose(`dx ${at}`, dx, back.dx, { atol: 1e-5, rtol: 1e-4 });
  // Sums over up to 246,016 terms: f32 error grows with the count.
  const sum = { atol: 1e-3, rtol: 1e-4 };
  assertClose(`dgamma ${at}`, dGamma, back.dGamma, sum);
  assertClose(`dbeta ${at}`, dBeta, back.dBeta, sum);
  assertClose(`y eval ${at}`, yEval, act(refEval), { atol: yAtol, rtol: 1e-5 });
  assertClose(`dx eval ${at}`, dxEval, backEval.dx, { atol: 1e-6, rtol: 1e-5 });
  assertClose(`dgamma eval ${at}`, dGammaEval, backEval.dGamma, sum);
  assertClose(`dbeta eval ${at}`, dBetaEval, backEval.dBeta, sum);
  for (const buf of [params, running, grads, bx1, bx2, bdy, by, bdx, byEval, bdxEval]) {
    buf.destroy();
  }
}

gpuTest(
  "BatchNorm2d training and evaluation forward, backward and running statistics match the " +
    "f64 reference on small odd shapes",
  async (gpu) => {
    let seed = 10;
    for (
      const [batch, channels, height, width] of [
        [1, 1, 3, 3],
        [1, 32, 7, 7],
        [3, 128, 3, 3],
        [3, 64, 7, 7],
        [3, 33, 15, 15],
        [3, 1, 31, 31],
        [1, 1, 31, 31],
        [7, 2, 33, 33],
        [3, 4, 8, 8],
        [300, 2, 1, 1],
        [33, 5, 1, 2],
      ]
    ) {
      await checkAgainstReference(gpu, { batch, channels, height, width }, seed++);
    }
  },
);

gpuTest(
  "BatchNorm2d matches the f64 reference at the decoder's batch-256 shapes",
  async (gpu) => {
    let seed = 20;
    for (
      const [channels, height, width] of [[128, 3, 3], [64, 7, 7], [32, 15, 15], [1, 31, 31]]
    ) {
      await checkAgainstReference(gpu, { batch: 256, channels, height, width }, seed++);
    }
  },
);

gpuTest(
  "BatchNorm2d with relu matches max(0, the f64 reference) and its gradient, train and eval",
  async (gpu) => {
    let seed = 40;
    for (
      const [batch, channels, height, width] of [[3, 5, 7, 7], [7, 2, 33, 33], [256, 128, 3, 3]]
    ) {
      await checkAgainstReference(gpu, { batch, channels, height, width }, seed++, {
        relu: true,
      });
    }
  },
);

gpuTest(
  "BatchNorm2d statistics stay accurate when the mean is large against the spread",
  async (gpu) => {
    // E[x^2] - E[x]^2 in f32 would lose the variance (~1) to the rounding of E[x^2] (~1e6),
    // missing inv_std's 1e-5 tolerance by orders of magnitude. y gets a wider atol: the f32
    // mean alone is off by up to half an ulp of 1000 (3e-5).
    const d = { batch: 64, channels: 2, height: 31, width: 31 };
    await checkAgainstReference(gpu, d, 30, { offset: 1000, yAtol: 1e-4 });
  },
);

gpuTest("BatchNorm2d rejects a training forward with one value per channel", async (gpu) => {
  const op = await BatchNorm2d.create(gpu, { batch: 1, channels: 4, height: 1, width: 1 });
  const t = gpu.storage("t", 16);
  let message = "";
  try {
    op.forwardTrain(gpu.record(), t, t, t, t, t, t);
  } catch (e) {
    message = (e as Error).message;
  }
  if (!/more than one value per channel/.test(message)) {
    throw new Error(`expected a RangeError about one value per channel, got "${message}"`);
  }
  t.destroy();
});
