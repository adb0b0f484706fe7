/**
 * The checks every likelihood gets (STYLE.md's two-stage gradient check, for the shared
 * kernel contract of src/ops/likelihood_loss.ts and src/ops/likelihood_output.ts):
 * 1. its f64 reference backward (dHead, dH with mask, per-image weights, scale, KL weight)
 *    against central differences of its f64 forward;
 * 2. its forward and backward kernels against the reference on odd shapes (1, 7, 33, 257
 *    images, D = 784 and 33, latent 2 and 16), masked and unmasked;
 * 3. its output kernel's mean and sample against the reference, given the same noise.
 * A likelihood test file calls `likelihoodTests` and adds what is special to it.
 */

import type { Gpu } from "../src/gpu/gpu.ts";
import type { Likelihood } from "../src/likelihood/likelihood.ts";
import { LikelihoodLoss } from "../src/ops/likelihood_loss.ts";
import { LikelihoodOutput } from "../src/ops/likelihood_output.ts";
import { Rng } from "../src/ops/rng.ts";
import {
  batchKlPerDim,
  freeBitsKl,
  likelihoodKlBackward,
  likelihoodKlForward,
  likelihoodMean,
  likelihoodSample,
  type LossShape,
} from "../src/reference/likelihood_kl.ts";
import { assertClose, f32, gpuTest, normal, numericGrad, rng, type Tolerance } from "./helpers.ts";

export interface LikelihoodCase {
  /** (N, D, W) head numbers and (N, D) data, as the decoder and the gather would give them. */
  head: Float64Array;
  x: Float64Array;
}

export interface HarnessOptions {
  /** Makes a case; `gentle` asks for heads where f64 central differences are well conditioned. */
  makeCase(rand: () => number, n: number, d: number, gentle: boolean): LikelihoodCase;
  /** Kernel vs reference: per-image sums, gradients, mean images, samples. */
  sumTol: Tolerance;
  gradTol: Tolerance;
  meanTol: Tolerance;
  sampleTol: Tolerance;
  /** Central differences vs the reference backward (default atol 1e-6, rtol 1e-5). */
  fdTol?: Tolerance;
}

interface Inputs extends LikelihoodCase {
  n: number;
  d: number;
  latent: number;
  h: Float64Array;
  mask?: Float64Array;
  weights?: Float64Array;
}

/** The case as the kernel sees it: every input rounded to f32. */
function _rounded(c: Inputs): Inputs {
  const r = (a: Float64Array) => Float64Array.from(f32(a));
  return {
    ...c,
    head: r(c.head),
    x: r(c.x),
    h: r(c.h),
    mask: c.mask && r(c.mask),
    weights: c.weights && r(c.weights),
  };
}

const LEFT_HALF = Float64Array.from({ length: 784 }, (_, p) => (p % 28 < 14 ? 1 : 0));

export function likelihoodTests(lik: Likelihood, o: HarnessOptions): void {
  const name = lik.name;
  const shapeOf = (c: Inputs): LossShape => ({ n: c.n, d: c.d, latent: c.latent, k: lik.k });

  Deno.test(`${name} reference backward matches central differences in f64`, () => {
    const rand = rng(101);
    const c: Inputs = {
      n: 3,
      d: 11,
      latent: 4,
      ...o.makeCase(rand, 3, 11, true),
      h: normal(rand, 24),
    };
    const mask = Float64Array.from({ length: c.d }, (_, p) => (p % 3 ? 1 : 0));
    const weights = Float64Array.of(1, 0.5, 0);
    const tol = o.fdTol ?? { atol: 1e-6, rtol: 1e-5 };
    for (
      const [what, m, w] of [["plain", undefined, undefined], [
        "masked, weighted",
        mask,
        weights,
      ]] as const
    ) {
      const scale = 0.3, klWeight = what === "plain" ? 1 : 0.25;
      const g = likelihoodKlBackward(lik.reference, shapeOf(c), c.head, c.x, c.h, {
        mask: m,
        weights: w,
        scale,
        klWeight,
      });
      const loss = (head: Float64Array, h: Float64Array) => {
        const r = likelihoodKlForward(lik.reference, shapeOf(c), head, c.x, h, m);
        let t = 0;
        for (let i = 0; i < c.n; i++) {
          t += (w ? w[i] : 1) * (r.perImage[2 * i] + klWeight * r.perImage[2 * i + 1]);
        }
        return scale * t;
      };
      assertClose(`${what} dhead`, g.dHead, numericGrad((hd) => loss(hd, c.h), c.head), tol);
      assertClose(`${what} dh`, g.dH, numericGrad((h) => loss(c.head, h), c.h), tol);
    }
  });

  Deno.test(`${name} reference backward with free bits matches central differences in f64`, () => {
    const rand = rng(104);
    const n = 5, latent = 4;
    const c = { n, d: 11, latent, ...o.makeCase(rand, n, 11, true), h: normal(rand, n * 8) };
    const lambda = _freeBitsBetween(c.h, n, latent);
    const scale = 0.3, klWeight = 0.7;
    const g = likelihoodKlBackward(lik.reference, shapeOf(c), c.head, c.x, c.h, {
      scale,
      klWeight,
      freeBits: lambda,
    });
    // The objective: recon summed over the batch, plus n times the free-bits KL per image.
    const loss = (h: Float64Array) => {
      const r = likelihoodKlForward(lik.reference, shapeOf(c), c.head, c.x, h);
      return scale * (r.recon + klWeight * n * freeBitsKl(h, n, latent, lambda));
    };
    const tol = o.fdTol ?? { atol: 1e-6, rtol: 1e-5 };
    const want = numericGrad(loss, c.h);
    assertClose("free bits dh", g.dH, want, tol);
    // Some dimensions are held at lambda (no gradient) and some are not.
    const gated = batchKlPerDim(c.h, n, latent).map((k) => (k <= lambda ? 1 : 0));
    if (gated.every((v) => v === 1) || gated.every((v) => v === 0)) {
      throw new Error(`free bits ${lambda} gates all or none of the dimensions`);
    }
  });

  gpuTest(
    `${lik.kernel}_kl kernels match the f64 reference on odd shapes, masked and unmasked`,
    async (gpu) => {
      const rand = rng(102);
      for (const d of [784, 33]) {
        for (const n of [1, 7, 33, 257]) {
          for (const latent of [2, 16]) {
            const masked = d === 784 && n !== 257;
            const c: Inputs = {
              n,
              d,
              latent,
              ...o.makeCase(rand, n, d, false),
              h: normal(rand, n * 2 * latent),
              mask: masked ? LEFT_HALF : undefined,
              weights: masked ? Float64Array.from({ length: n }, (_, i) => (i % 3) / 2) : undefined,
            };
            await _checkKernels(gpu, lik, c, o, `n=${n} d=${d} L=${latent} masked=${masked}`);
          }
        }
      }
    },
  );

  gpuTest(`${lik.kernel}_output mean and sample match the f64 reference`, async (gpu) => {
    const rand = rng(103);
    const rngOp = await Rng.create(gpu);
    for (const n of [1, 33]) {
      const d = 784;
      const c = o.makeCase(rand, n, d, false);
      const head = Float64Array.from(f32(c.head));
      const op = await LikelihoodOutput.create(gpu, {
        kernel: lik.kernel,
        n,
        d,
        k: lik.k,
        ...lik.noise,
      });
      const headBuf = gpu.storage("head", f32(head));
      const mean = gpu.storage("mean", n * d * 4), draw = gpu.storage("draw", n * d * 4);
      const rec = gpu.record();
      op.mean(rec, mean, headBuf);
      op.sample(rec, draw, headBuf, rngOp, 7, 3);
      await rec.submit();
      const noise = op.noise;
      const normals = noise.normals
        ? await gpu.readF32(noise.normals, 0, n * d * lik.noise.normals)
        : [];
      const uniforms = noise.uniforms
        ? await gpu.readF32(noise.uniforms, 0, n * d * lik.noise.uniforms)
        : [];
      const gotMean = await gpu.readF32(mean), gotDraw = await gpu.readF32(draw);
      assertClose(
        `n=${n} mean`,
        gotMean,
        likelihoodMean(lik.reference, head, n, d, lik.k),
        o.meanTol,
      );
      const want = likelihoodSample(lik.reference, head, normals, uniforms, lik.noise, n, d, lik.k);
      assertClose(`n=${n} sample`, gotDraw, want, o.sampleTol);
      if (!gotDraw.every((v) => v >= 0 && v <= 1)) throw new Error(`n=${n}: a sample left [0, 1]`);
      for (const b of [headBuf, mean, draw]) b.destroy();
    }
  });
}

async function _checkKernels(
  gpu: Gpu,
  lik: Likelihood,
  c: Inputs,
  o: HarnessOptions,
  label: string,
) {
  const W = lik.width;
  const op = await LikelihoodLoss.create(gpu, {
    kernel: lik.kernel,
    n: c.n,
    d: c.d,
    latent: c.latent,
    width: W,
    k: lik.k,
  });
  const head = gpu.storage("head", f32(c.head)), x = gpu.storage("x", f32(c.x));
  const h = gpu.storage("h", f32(c.h));
  const mask = c.mask && gpu.storage("mask", f32(c.mask));
  const weights = c.weights && gpu.storage("weights", f32(c.weights));
  const perImage = gpu.storage("per_image", c.n * 2 * 4);
  const slot = 2;
  const sums = gpu.storage("sums", new Float32Array(2 * slot + 2).fill(-1));
  const dHead = gpu.storage("dhead", c.n * c.d * W * 4);
  const dH = gpu.storage("dh", c.n * 2 * c.latent * 4);
  const dHFree = gpu.storage("dh_free_bits", c.n * 2 * c.latent * 4);
  const scale = 0.37, klWeight = c.weights ? 0.5 : 1;
  const s = _rounded(c);
  const freeBits = _freeBitsBetween(s.h, s.n, s.latent);
  const rec = gpu.record();
  op.forward(rec, perImage, sums, head, x, h, slot, mask);
  op.backward(rec, dHead, dH, head, x, h, { mask, weights, scale, klWeight });
  await rec.submit();
  const rec2 = gpu.record();
  op.backward(rec2, dHead, dHFree, head, x, h, { mask, weights, scale, klWeight, freeBits });
  await rec2.submit();
  const got = {
    perImage: await gpu.readF32(perImage, 0, c.n * 2),
    sums: await gpu.readF32(sums, 0, 2 * slot + 2),
    dHead: await gpu.readF32(dHead, 0, c.n * c.d * W),
    dH: await gpu.readF32(dH, 0, c.n * 2 * c.latent),
    dHFree: await gpu.readF32(dHFree, 0, c.n * 2 * c.latent),
  };
  for (const b of [head, x, h, mask, weights, perImage, sums, dHead, dH, dHFree]) b?.destroy();
  for (const [what, a] of Object.entries(got)) {
    if (!a.every(Number.isFinite)) throw new Error(`${label}: ${what} has a non-finite value`);
  }
  const shape = { n: s.n, d: s.d, latent: s.latent, k: lik.k };
  const ref = likelihoodKlForward(lik.reference, shape, s.head, s.x, s.h, s.mask);
  const grad = likelihoodKlBackward(lik.reference, shape, s.head, s.x, s.h, {
    mask: s.mask,
    weights: s.weights,
    scale,
    klWeight,
  });
  assertClose(`${label} per_image`, got.perImage, ref.perImage, o.sumTol);
  const untouched = new Array(2 * slot).fill(-1);
  assertClose(`${label} sums`, got.sums, [...untouched, ref.recon, ref.kl], o.sumTol);
  assertClose(`${label} dhead`, got.dHead, grad.dHead, o.gradTol);
  assertClose(`${label} dh`, got.dH, grad.dH, o.gradTol);
  const free = likelihoodKlBackward(lik.reference, shape, s.head, s.x, s.h, {
    mask: s.mask,
    weights: s.weights,
    scale,
    klWeight,
    freeBits,
  });
  assertClose(`${label} dh, free bits ${freeBits.toFixed(4)}`, got.dHFree, free.dH, o.gradTol);
}

/**
 * A free-bits lambda in the middle of the widest gap between two dimensions' batch mean KLs:
 * some dimensions are held and some not, and f32 rounding cannot move one across lambda.
 */
function _freeBitsBetween(h: ArrayLike<number>, n: number, latent: number): number {
  const k = [...batchKlPerDim(h, n, latent)].sort((a, b) => a - b);
  let best = 0;
  for (let j = 1; j < k.length; j++) if (k[j] - k[j - 1] > k[best + 1] - k[best]) best = j - 1;
  return (k[best] + k[best + 1]) / 2;
}
