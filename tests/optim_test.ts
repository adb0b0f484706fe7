import type { Gpu, Tensor } from "../src/gpu/gpu.ts";
import { Adam } from "../src/ops/optim.ts";
import { adamStep } from "../src/reference/optim.ts";
import { assertClose, f32, gpuTest, normal, rng } from "./helpers.ts";

const HYPER = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
// f32 state against an f64 trajectory: a few ulps per step.
const TOL = { atol: 1e-6, rtol: 1e-5 };

/** Gradients of mixed scale: every third ~1e-7, where eps's place (after the sqrt) matters. */
function grads(rand: () => number, n: number): Float64Array {
  const g = normal(rand, n);
  for (let i = 0; i < n; i += 3) g[i] *= 1e-7;
  if (n > 1) g[1] = 0;
  return Float64Array.from(f32(g));
}

const exact = (a: ArrayLike<number>) => Float64Array.from(f32(a));

/** A tensor of `values` at byte offset 256 of a larger buffer whose other words hold 7. */
function atOffset(gpu: Gpu, label: string, values: ArrayLike<number>): GPUBufferBinding {
  const data = new Float32Array(64 + values.length + 5).fill(7);
  data.set(values, 64);
  return { buffer: gpu.storage(label, data), offset: 256, size: values.length * 4 };
}

async function readTensor(gpu: Gpu, t: Tensor, n: number): Promise<Float32Array> {
  return t instanceof GPUBuffer
    ? await gpu.readF32(t, 0, n)
    : await gpu.readF32(t.buffer, (t.offset ?? 0) / 4, n);
}

Deno.test("adamStep reference moves each parameter lr against its gradient's sign at t = 1", () => {
  const rand = rng(31);
  const g = grads(rand, 33), p = normal(rand, 33);
  const before = Float64Array.from(p), m = new Float64Array(33), v = new Float64Array(33);
  adamStep(p, g, m, v, 1, HYPER);
  // At t = 1 the bias corrections undo the moments' shrinkage: m_hat = g, v_hat = g^2.
  const want = before.map((q, i) => q - (HYPER.lr * g[i]) / (Math.abs(g[i]) + HYPER.eps));
  assertClose("adamStep t=1", p, want, { atol: 1e-15, rtol: 1e-12 });
});

gpuTest("Adam matches the f64 reference over five steps on odd shapes", async (gpu) => {
  const rand = rng(32);
  for (const n of [1, 7, 33, 257, 300_001]) {
    const adam = await Adam.create(gpu, n, { lr: HYPER.lr });
    const p = exact(normal(rand, n)), m = new Float64Array(n), v = new Float64Array(n);
    // Every tensor is a range of a larger buffer, as in training, so the kernel's vec4
    // bindings reach past n into other words (holding 7).
    const bp = atOffset(gpu, "params", f32(p)), bg = atOffset(gpu, "grads", new Float32Array(n));
    const bm = atOffset(gpu, "m", new Float32Array(n)),
      bv = atOffset(gpu, "v", new Float32Array(n));
    for (let t = 1; t <= 5; t++) {
      const g = grads(rand, n);
      gpu.write(bg.buffer, f32(g), 256);
      const rec = gpu.record();
      adam.step(rec, bp, bg, bm, bv);
      await rec.submit();
      adamStep(p, g, m, v, t, HYPER);
    }
    if (adam.t !== 5) throw new Error(`Adam.t is ${adam.t} after five steps`);
    assertClose(`Adam params n=${n}`, await readTensor(gpu, bp, n), p, TOL);
    assertClose(`Adam m n=${n}`, await readTensor(gpu, bm, n), m, TOL);
    assertClose(`Adam v n=${n}`, await readTensor(gpu, bv, n), v, { atol: 1e-12, rtol: 1e-5 });
    // The words around each range keep their value, also those the vec4 bindings reach.
    for (const [name, t] of [["params", bp], ["m", bm], ["v", bv]] as const) {
      const whole = await gpu.readF32(t.buffer);
      const outside = [whole[63], ...whole.subarray(64 + n, 64 + n + 5)];
      if (outside.some((w) => w !== 7)) throw new Error(`Adam wrote outside ${name}'s range`);
    }
    for (const b of [bp, bg, bm, bv]) b.buffer.destroy();
  }
});

gpuTest("Adam steps recorded before one submit each use their own step count", async (gpu) => {
  const rand = rng(33);
  const n = 1025;
  const adam = await Adam.create(gpu, n, { lr: HYPER.lr });
  const p = exact(normal(rand, n)), m = new Float64Array(n), v = new Float64Array(n);
  const bp = gpu.storage("params", f32(p)), bm = gpu.storage("m", n * 4);
  const bv = gpu.storage("v", n * 4);
  const gs = [1, 2, 3].map(() => grads(rand, n));
  const bgs = gs.map((g) => gpu.storage("grads", f32(g)));
  const rec = gpu.record();
  for (const bg of bgs) adam.step(rec, bp, bg, bm, bv);
  await rec.submit();
  gs.forEach((g, k) => adamStep(p, g, m, v, k + 1, HYPER));
  assertClose("params after 3 steps in one submit", await gpu.readF32(bp, 0, n), p, TOL);
  for (const b of [bp, bm, bv, ...bgs]) b.destroy();
});

gpuTest("Adam resumed with t from a checkpoint continues the same trajectory", async (gpu) => {
  const rand = rng(34);
  const n = 257;
  const p = exact(normal(rand, n)), m = new Float64Array(n), v = new Float64Array(n);
  const g1 = grads(rand, n), g2 = grads(rand, n), g3 = grads(rand, n);
  adamStep(p, g1, m, v, 1, HYPER);
  adamStep(p, g2, m, v, 2, HYPER);
  // A fresh optimizer given the saved state (rounded to f32, as a checkpoint holds it) and t.
  const bp = gpu.storage("params", f32(p)), bm = gpu.storage("m", f32(m));
  const bv = gpu.storage("v", f32(v)), bg = gpu.storage("grads", f32(g3));
  const [pr, mr, vr] = [p, m, v].map(exact);
  const adam = await Adam.create(gpu, n, { lr: HYPER.lr });
  adam.t = 2;
  const rec = gpu.record();
  adam.step(rec, bp, bg, bm, bv);
  await rec.submit();
  adamStep(pr, g3, mr, vr, 3, HYPER);
  assertClose("params at t=3", await gpu.readF32(bp, 0, n), pr, TOL);
  assertClose("v at t=3", await gpu.readF32(bv, 0, n), vr, { atol: 1e-12, rtol: 1e-5 });
  for (const bad of [-1, 1.5, Number.NaN]) {
    let threw = false;
    try {
      adam.t = bad;
    } catch (e) {
      threw = e instanceof RangeError;
    }
    if (!threw) throw new Error(`Adam accepted t = ${bad}`);
  }
  for (const b of [bp, bm, bv, bg]) b.destroy();
});
