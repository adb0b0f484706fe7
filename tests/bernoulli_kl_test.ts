import type { Gpu } from "../src/gpu/gpu.ts";
import { BernoulliKl } from "../src/ops/bernoulli_kl.ts";
import {
  bernoulliKlBackward,
  bernoulliKlForward,
  bernoulliNll,
} from "../src/reference/bernoulli_kl.ts";
import { assertClose, f32, gpuTest, normal, numericGrad, rng, uniform } from "./helpers.ts";

interface Case {
  n: number;
  d: number;
  latent: number;
  logits: Float64Array;
  x: Float64Array;
  h: Float64Array;
  mask?: Float64Array;
}

/** Logits ~ N(0, 4^2) with every 97th at +-100; x binary (or grey); mu, logvar ~ N(0, 1). */
function makeCase(rand: () => number, n: number, d: number, latent: number, grey = false): Case {
  const logits = normal(rand, n * d).map((v) => 4 * v);
  for (let i = 0; i < n * d; i += 97) logits[i] = i % 2 ? -100 : 100;
  const x = uniform(rand, n * d, 0, 1).map((v) => (grey ? v : v > 0.5 ? 1 : 0));
  return { n, d, latent, logits, x, h: normal(rand, n * 2 * latent) };
}

/** The case as the kernel sees it: every input rounded to f32. */
function rounded(c: Case): Case {
  const r = (a: Float64Array) => Float64Array.from(f32(a));
  return { ...c, logits: r(c.logits), x: r(c.x), h: r(c.h), mask: c.mask && r(c.mask) };
}

/** Runs forward into `slot` and backward on the GPU; returns what they wrote. */
async function runGpu(gpu: Gpu, c: Case, slot: number, scale?: number) {
  const op = await BernoulliKl.create(gpu, c.n, c.d, c.latent);
  const logits = gpu.storage("logits", f32(c.logits)), x = gpu.storage("x", f32(c.x));
  const h = gpu.storage("h", f32(c.h)), mask = c.mask && gpu.storage("mask", f32(c.mask));
  const perImage = gpu.storage("per_image", c.n * 2 * 4);
  const sums = gpu.storage("sums", new Float32Array(2 * slot + 2).fill(-1));
  const dLogits = gpu.storage("dlogits", c.n * c.d * 4);
  const dH = gpu.storage("dh", c.n * 2 * c.latent * 4);
  const rec = gpu.record();
  op.forward(rec, perImage, sums, logits, x, h, slot, mask);
  op.backward(rec, dLogits, dH, logits, x, h, mask, scale);
  await rec.submit();
  const out = {
    perImage: await gpu.readF32(perImage, 0, c.n * 2),
    sums: await gpu.readF32(sums, 0, 2 * slot + 2),
    dLogits: await gpu.readF32(dLogits, 0, c.n * c.d),
    dH: await gpu.readF32(dH, 0, c.n * 2 * c.latent),
  };
  for (const b of [logits, x, h, mask, perImage, sums, dLogits, dH]) b?.destroy();
  return out;
}

// Per-image sums of up to 784 f32 terms (some 100 nats each): lavapipe is within ~1.2e-7
// relative; the margin covers GPUs whose exp and log are only good to a few ulps.
const SUM_TOL = { atol: 1e-4, rtol: 1e-5 };
const GRAD_TOL = { atol: 1e-7, rtol: 1e-5 };

function checkAgainstReference(
  name: string,
  got: Awaited<ReturnType<typeof runGpu>>,
  c: Case,
  slot: number,
  scale = 1 / c.n,
) {
  const s = rounded(c);
  const ref = bernoulliKlForward(s.logits, s.x, s.h, s.n, s.d, s.latent, s.mask);
  const grad = bernoulliKlBackward(s.logits, s.x, s.h, s.n, s.d, s.latent, s.mask, scale);
  for (const [what, a] of Object.entries(got)) {
    if (!a.every(Number.isFinite)) throw new Error(`${name}: ${what} has a non-finite value`);
  }
  assertClose(`${name} per_image`, got.perImage, ref.perImage, SUM_TOL);
  const untouched = new Array(2 * slot).fill(-1);
  assertClose(`${name} sums`, got.sums, [...untouched, ref.recon, ref.kl], SUM_TOL);
  assertClose(`${name} dlogits`, got.dLogits, grad.dLogits, GRAD_TOL);
  assertClose(`${name} dh`, got.dH, grad.dH, GRAD_TOL);
}

Deno.test("bernoulli_kl reference backward matches central differences in f64", () => {
  const rand = rng(21);
  for (const grey of [false, true]) {
    const c = makeCase(rand, 3, 11, 4, grey);
    c.logits.forEach((_, i) => (c.logits[i] = Math.max(-6, Math.min(6, c.logits[i]))));
    const mask = Float64Array.from({ length: c.d }, (_, p) => (p % 3 ? 1 : 0));
    const scale = 1 / c.n;
    const { dLogits, dH } = bernoulliKlBackward(c.logits, c.x, c.h, c.n, c.d, c.latent, mask, 0.3);
    const loss = (logits: Float64Array, h: Float64Array) => {
      const r = bernoulliKlForward(logits, c.x, h, c.n, c.d, c.latent, mask);
      return 0.3 * (r.recon + r.kl);
    };
    const tol = { atol: 1e-7, rtol: 1e-6 };
    assertClose(`dlogits grey=${grey}`, dLogits, numericGrad((l) => loss(l, c.h), c.logits), tol);
    assertClose(`dh grey=${grey}`, dH, numericGrad((h) => loss(c.logits, h), c.h), tol);
    // Without a mask, the default batch-mean scale.
    const plain = bernoulliKlBackward(c.logits, c.x, c.h, c.n, c.d, c.latent, undefined, scale);
    const mean = (logits: Float64Array) => {
      const r = bernoulliKlForward(logits, c.x, c.h, c.n, c.d, c.latent);
      return scale * (r.recon + r.kl);
    };
    assertClose(`dlogits unmasked grey=${grey}`, plain.dLogits, numericGrad(mean, c.logits), tol);
  }
});

Deno.test("bernoulliNll equals the textbook BCE and stays finite at logits of +-100", () => {
  // Past |l| ~ 8 the textbook form itself loses digits in 1 - s.
  for (const l of [-8, -5, -0.5, 0, 0.5, 5, 8]) {
    for (const x of [0, 0.25, 1]) {
      const s = 1 / (1 + Math.exp(-l));
      const bce = -(x * Math.log(s) + (1 - x) * Math.log(1 - s));
      assertClose(`nll(${l}, ${x})`, [bernoulliNll(l, x)], [bce], { atol: 1e-12, rtol: 1e-9 });
    }
  }
  // Confidently wrong costs 100 nats; confidently right costs log(1 + e^-100).
  const tiny = Math.exp(-100);
  const cases: [number, number, number][] = [
    [100, 0, 100],
    [-100, 1, 100],
    [100, 1, tiny],
    [-100, 0, tiny],
  ];
  assertClose(
    "nll(+-100)",
    cases.map(([l, x]) => bernoulliNll(l, x)),
    cases.map(([, , want]) => want),
    { atol: 0, rtol: 1e-12 },
  );
});

gpuTest("bernoulli_kl forward and backward match the f64 reference on odd shapes", async (gpu) => {
  const rand = rng(22);
  for (const d of [784, 33]) {
    for (const n of [1, 7, 33, 257]) {
      for (const latent of [2, 16]) {
        const c = makeCase(rand, n, d, latent);
        checkAgainstReference(`n=${n} d=${d} L=${latent}`, await runGpu(gpu, c, 0), c, 0);
      }
    }
  }
});

gpuTest("bernoulli_kl handles a pixel mask, grey-level targets and a custom scale", async (gpu) => {
  const rand = rng(23);
  for (const grey of [false, true]) {
    const c = makeCase(rand, 33, 784, 16, grey);
    // Image completion observes the left half: columns 0-13 of each 28 x 28 row.
    c.mask = Float64Array.from({ length: 784 }, (_, p) => (p % 28 < 14 ? 1 : 0));
    const name = `mask grey=${grey}`;
    checkAgainstReference(name, await runGpu(gpu, c, 2, 0.37), c, 2, 0.37);
    // The masked half contributes nothing to the loss or the gradient.
    const s = rounded(c);
    const half = bernoulliKlForward(s.logits, s.x, s.h, s.n, s.d, s.latent, s.mask).recon;
    const full = bernoulliKlForward(s.logits, s.x, s.h, s.n, s.d, s.latent).recon;
    if (!(half < 0.75 * full)) throw new Error(`${name}: masked recon ${half} vs full ${full}`);
  }
});

gpuTest("bernoulli_kl sums N = 1024, D = 784 batches into their own slots", async (gpu) => {
  const rand = rng(24);
  const n = 1024, d = 784, latent = 16;
  const op = await BernoulliKl.create(gpu, n, d, latent);
  const cases = [0, 1].map(() => makeCase(rand, n, d, latent));
  const bufs = cases.map((c) => ({
    logits: gpu.storage("logits", f32(c.logits)),
    x: gpu.storage("x", f32(c.x)),
    h: gpu.storage("h", f32(c.h)),
  }));
  const perImage = gpu.storage("per_image", n * 2 * 4);
  const sums = gpu.storage("sums", new Float32Array(12).fill(-1));
  // Three steps recorded before one submit, into slots 0, 3, 5: each must see its own slot.
  const rec = gpu.record();
  for (const [slot, k] of [[0, 0], [3, 1], [5, 0]]) {
    op.forward(rec, perImage, sums, bufs[k].logits, bufs[k].x, bufs[k].h, slot);
  }
  await rec.submit();
  const got = await gpu.readF32(sums, 0, 12);
  const ref = cases.map((c) => {
    const s = rounded(c);
    return bernoulliKlForward(s.logits, s.x, s.h, n, d, latent);
  });
  const want = new Array(12).fill(-1);
  for (const [slot, k] of [[0, 0], [3, 1], [5, 0]]) {
    want[2 * slot] = ref[k].recon;
    want[2 * slot + 1] = ref[k].kl;
  }
  assertClose("sums by slot", got, want, { atol: 1e-2, rtol: 1e-5 });
  for (const b of bufs.flatMap(Object.values).concat([perImage, sums])) b.destroy();
});
