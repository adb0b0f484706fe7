import type { Gpu } from "../src/gpu/gpu.ts";
import {
  Linear,
  LINEAR_SUBGROUP_LANES,
  LINEAR_VARIANTS,
  type LinearVariant,
  linearVariantFor,
} from "../src/ops/linear.ts";
import { benchLinear } from "../src/bench/matmul_bench.ts";
import { linearBackward, linearForward } from "../src/reference/linear.ts";
import { activationBackward, activationForward } from "../src/reference/activation.ts";
import { ACTIVATIONS } from "../src/ops/activation.ts";
import { rejects } from "node:assert";
import { assertClose, f32, gpuTest, numericGrad, rng, uniform } from "./helpers.ts";

const VARIANTS = LINEAR_VARIANTS;

// (N, K, M): sizes that break indexing, the MLP's layers (784 -> 500, 500 -> 4, 2 -> 500;
// its 500 -> 784 takes the same code paths as 784 -> 500) and one whose forward spans over
// a hundred workgroups in every variant; (13, 36, 20) and (1, 8, 4) run the kernels' whole-vec4
// paths on a batch that is not a multiple of 8 and on blocks mostly past the edges, and
// (37, 961, 13) the decoder head's odd K (31 x 31) beside an odd M; (7, 33, 20) and (13, 36, 5)
// read one backward operand whole and the other element by element (the subgroup kernels'
// flags per operand).
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 8, 4],
  [13, 36, 20],
  [7, 33, 5],
  [33, 7, 257],
  [3, 257, 33],
  [200, 784, 500],
  [200, 500, 4],
  [200, 2, 500],
  [520, 68, 1040],
  [37, 961, 13],
  [7, 33, 20],
  [13, 36, 5],
];

Deno.test("linearBackward (f64 reference) matches central differences in f64", () => {
  const rand = rng(21);
  for (const [N, K, M] of [[1, 1, 1], [3, 5, 4], [4, 7, 3]]) {
    const x = uniform(rand, N * K), w = uniform(rand, M * K), b = uniform(rand, M);
    const dy = uniform(rand, N * M);
    const loss = (xx: Float64Array, ww: Float64Array, bb: Float64Array) =>
      linearForward(xx, ww, bb, N, K, M).reduce((s, v, i) => s + v * dy[i], 0);
    const { dX, dW, dB } = linearBackward(dy, x, w, N, K, M);
    const tol = { atol: 1e-8, rtol: 1e-7 };
    const label = `N=${N} K=${K} M=${M}`;
    assertClose(`dX ${label}`, dX, numericGrad((v) => loss(v, w, b), x), tol);
    assertClose(`dW ${label}`, dW, numericGrad((v) => loss(x, v, b), w), tol);
    assertClose(`dB ${label}`, dB, numericGrad((v) => loss(x, w, v), b), tol);
  }
});

interface Case {
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
  dy: Float32Array;
  y: Float64Array;
  dX: Float64Array;
  dW: Float64Array;
  dB: Float64Array;
}

// Every variant checks the same inputs, so the f64 reference runs once per shape.
const cases = new Map<string, Case>();
function caseFor(N: number, K: number, M: number): Case {
  const key = `${N},${K},${M}`;
  let c = cases.get(key);
  if (!c) {
    const rand = rng(N * 7919 + K * 31 + M);
    const x = f32(uniform(rand, N * K)), w = f32(uniform(rand, M * K));
    const b = f32(uniform(rand, M)), dy = f32(uniform(rand, N * M));
    // The reference sees the f32-rounded values the kernels see.
    const [xs, ws] = [Float64Array.from(x), Float64Array.from(w)];
    const y = linearForward(xs, ws, Float64Array.from(b), N, K, M);
    c = { x, w, b, dy, y, ...linearBackward(Float64Array.from(dy), xs, ws, N, K, M) };
    cases.set(key, c);
  }
  return c;
}

/** Each output sums `terms` products of values in [-1, 1); f32 rounding grows with that count. */
const tol = (terms: number, scale = 1) => ({ atol: 2e-7 * terms * scale, rtol: 1e-5 });

const FLOATS_PER_256_BYTES = 64;
const align = (n: number) => Math.ceil(n / FLOATS_PER_256_BYTES) * FLOATS_PER_256_BYTES;

/**
 * Forward and backward of `variant` at (N, K, M) against the f64 reference. w and b share one
 * flat parameter buffer and dW and dB one gradient buffer, at 256-byte-aligned offsets, as in
 * training; outputs start out holding junk, which overwrite must ignore. A second submit
 * records an overwriting and an accumulating backward in one step and expects twice the
 * gradients.
 */
async function check(gpu: Gpu, variant: LinearVariant, N: number, K: number, M: number) {
  const c = caseFor(N, K, M);
  const op = await Linear.create(gpu, { batch: N, inFeatures: K, outFeatures: M, variant });
  const label = `${variant} N=${N} K=${K} M=${M}`;
  const wOff = FLOATS_PER_256_BYTES, bOff = wOff + align(M * K);
  const flat = new Float32Array(bOff + align(M)).fill(3);
  flat.set(c.w, wOff);
  flat.set(c.b, bOff);
  const params = gpu.storage("params", flat);
  const grads = gpu.storage("grads", new Float32Array(flat.length).fill(7));
  const range = (buffer: GPUBuffer, off: number, len: number) => ({
    buffer,
    offset: off * 4,
    size: len * 4,
  });
  const w = range(params, wOff, M * K), b = range(params, bOff, M);
  const dW = range(grads, wOff, M * K), dB = range(grads, bOff, M);
  const x = gpu.storage("x", c.x), dy = gpu.storage("dy", c.dy);
  const y = gpu.storage("y", new Float32Array(N * M).fill(7));
  const dX = gpu.storage("dX", new Float32Array(N * K).fill(7));

  let rec = gpu.record();
  op.forward(rec, y, x, w, b);
  op.backward(rec, dX, dW, dB, dy, x, w);
  await rec.submit();
  const read = async () => ({
    y: await gpu.readF32(y, 0, N * M),
    dX: await gpu.readF32(dX, 0, N * K),
    dW: await gpu.readF32(grads, wOff, M * K),
    dB: await gpu.readF32(grads, bOff, M),
  });
  let got = await read();
  assertClose(`y ${label}`, got.y, c.y, tol(K));
  assertClose(`dX ${label}`, got.dX, c.dX, tol(M));
  assertClose(`dW ${label}`, got.dW, c.dW, tol(N));
  assertClose(`dB ${label}`, got.dB, c.dB, tol(N));

  rec = gpu.record();
  op.backward(rec, dX, dW, dB, dy, x, w);
  op.backward(rec, dX, dW, dB, dy, x, w, { accumulate: true });
  await rec.submit();
  got = await read();
  const twice = (a: Float64Array) => a.map((v) => 2 * v);
  assertClose(`accumulated dX ${label}`, got.dX, twice(c.dX), tol(M, 2));
  assertClose(`accumulated dW ${label}`, got.dW, twice(c.dW), tol(N, 2));
  assertClose(`accumulated dB ${label}`, got.dB, twice(c.dB), tol(N, 2));

  op.destroy();
  for (const buffer of [params, grads, x, dy, y, dX]) buffer.destroy();
}

/**
 * Whether `variant` runs on this device; the subgroup kernels need 8-lane subgroups, and where
 * there are none Linear.create must refuse them.
 */
async function runs(gpu: Gpu, variant: LinearVariant): Promise<boolean> {
  if (variant !== "subgroup" || gpu.subgroupSize === LINEAR_SUBGROUP_LANES) return true;
  await rejects(
    () => Linear.create(gpu, { batch: 2, inFeatures: 4, outFeatures: 4, variant }),
    (e: Error) => e instanceof RangeError && e.message.includes("needs subgroups of 8 lanes"),
  );
  console.log(`  (subgroup kernels not run: subgroup size ${gpu.subgroupSize} on this device)`);
  return false;
}

gpuTest(
  "Linear takes the weight gradient transposed only where K >= 128, M >= 128 and its scratch fits",
  async (gpu) => {
    const sub = linearVariantFor(gpu) === "subgroup";
    const make = (batch: number, inFeatures: number, outFeatures: number) =>
      Linear.create(gpu, { batch, inFeatures, outFeatures });
    const cases: [number, number, number, boolean][] = [
      [200, 784, 500, sub],
      [200, 500, 4, false],
      [200, 500, 127, false],
      [200, 127, 500, false],
      [2304, 128, 1600, sub],
      // dY transposed would take 2^26 + 4 floats: past the 64 MB budget.
      [(1 << 24) / 128 + 1, 128, 128, false],
    ];
    for (const [n, k, m, want] of cases) {
      const op = await make(n, k, m);
      if (op.transposedWeightGrad !== want) {
        throw new Error(`${n}x${k}->${m}: transposedWeightGrad ${op.transposedWeightGrad}`);
      }
      op.destroy();
    }
  },
);

for (const variant of VARIANTS) {
  gpuTest(
    `Linear ${variant} forward, backward_input and backward_weight match the f64 reference ` +
      `on odd shapes, overwriting and accumulating`,
    async (gpu) => {
      if (!await runs(gpu, variant)) return;
      for (const [N, K, M] of SHAPES) await check(gpu, variant, N, K, M);
    },
  );

  gpuTest(
    `Linear ${variant} reads x and dY as odd-sized ranges and skips dX when it is null`,
    async (gpu) => {
      if (!await runs(gpu, variant)) return;
      // 36 and 20 are multiples of 4: the whole-vec4 paths; 33 and 5 the others.
      for (const [N, K, M] of [[7, 33, 5], [13, 36, 20]]) await ranges(gpu, variant, N, K, M);
    },
  );
}

for (const variant of VARIANTS) {
  gpuTest(
    `Linear ${variant} forward with each fused activation matches the f64 reference on odd ` +
      `shapes`,
    async (gpu) => {
      if (!await runs(gpu, variant)) return;
      const shapes: [number, number, number][] = [
        [1, 1, 1],
        [7, 33, 257],
        [33, 7, 5],
        [257, 36, 20],
        [200, 2, 500],
      ];
      for (const [N, K, M] of shapes) {
        const c = caseFor(N, K, M);
        const x = gpu.storage("x", c.x), w = gpu.storage("w", c.w), b = gpu.storage("b", c.b);
        const y = gpu.storage("y", new Float32Array(N * M).fill(7));
        for (const kind of ACTIVATIONS) {
          // A slope of 0.2 (the blog preset's) tells LeakyReLU's slope from ReLU's 0.
          const op = await Linear.create(gpu, {
            batch: N,
            inFeatures: K,
            outFeatures: M,
            variant,
            activation: kind,
            slope: 0.2,
          });
          const rec = gpu.record();
          op.forward(rec, y, x, w, b);
          await rec.submit();
          const want = activationForward(kind, c.y, 0.2);
          // Every activation's slope is at most 1: the pre-activation's tolerance holds.
          assertClose(
            `${kind} y ${variant} N=${N} K=${K} M=${M}`,
            await gpu.readF32(y, 0, N * M),
            want,
            tol(K),
          );
          op.destroy();
        }
        for (const buffer of [x, w, b, y]) buffer.destroy();
      }
    },
  );
}

for (const variant of VARIANTS) {
  gpuTest(
    `Linear ${variant} backward_input with each input activation matches the f64 reference ` +
      `on odd shapes, overwriting and accumulating`,
    async (gpu) => {
      if (!await runs(gpu, variant)) return;
      const shapes: [number, number, number][] = [
        [1, 1, 1],
        [7, 257, 33],
        [33, 5, 7],
        [257, 20, 36],
        [200, 500, 4],
      ];
      for (const [N, K, M] of shapes) {
        const c = caseFor(N, K, M);
        // x is an activation's output: the kernel differentiates that activation from it.
        const pre = uniform(rng(N + K + M), N * K);
        const w = gpu.storage("w", c.w), dy = gpu.storage("dy", c.dy);
        const dX = gpu.storage("dX", new Float32Array(N * K).fill(7));
        for (const kind of ACTIVATIONS) {
          const x32 = f32(activationForward(kind, pre, 0.2));
          const x = gpu.storage("x", x32);
          const op = await Linear.create(gpu, {
            batch: N,
            inFeatures: K,
            outFeatures: M,
            variant,
            inputActivation: kind,
            slope: 0.2,
          });
          const want = activationBackward(kind, c.dX, pre, 0.2);
          const label = `${kind} dX ${variant} N=${N} K=${K} M=${M}`;
          let rec = gpu.record();
          op.backwardInput(rec, dX, dy, w, { x });
          await rec.submit();
          assertClose(label, await gpu.readF32(dX, 0, N * K), want, tol(M));
          rec = gpu.record();
          op.backwardInput(rec, dX, dy, w, { x, accumulate: true });
          await rec.submit();
          const twice = want.map((v) => 2 * v);
          assertClose(`accumulated ${label}`, await gpu.readF32(dX, 0, N * K), twice, tol(M, 2));
          op.destroy();
          x.destroy();
        }
        for (const buffer of [w, dy, dX]) buffer.destroy();
      }
    },
  );
}

gpuTest("Linear with an inputActivation refuses a backwardInput without x", async (gpu) => {
  const op = await Linear.create(gpu, {
    batch: 2,
    inFeatures: 4,
    outFeatures: 4,
    inputActivation: "tanh",
  });
  const dy = gpu.storage("dy", 8 * 4), w = gpu.storage("w", 16 * 4), dX = gpu.storage("dX", 32);
  let message = "";
  try {
    op.backwardInput(gpu.record(), dX, dy, w);
  } catch (e) {
    if (e instanceof TypeError) message = e.message;
  }
  if (!message.includes("needs the layer's input x")) {
    throw new Error(`expected a TypeError asking for x, got "${message}"`);
  }
  op.destroy();
  for (const buffer of [dy, w, dX]) buffer.destroy();
});

/** The forward and backward of `variant` reading x and dY as ranges inside one buffer. */
async function ranges(gpu: Gpu, variant: LinearVariant, N: number, K: number, M: number) {
  const c = caseFor(N, K, M);
  const op = await Linear.create(gpu, { batch: N, inFeatures: K, outFeatures: M, variant });
  // N K and N M floats are not whole vec4s: the op must widen these bindings itself.
  const acts = new Float32Array(FLOATS_PER_256_BYTES + align(N * K) + align(N * M));
  acts.set(c.x, FLOATS_PER_256_BYTES);
  acts.set(c.dy, FLOATS_PER_256_BYTES + align(N * K));
  const buf = gpu.storage("activations", acts);
  const x = { buffer: buf, offset: FLOATS_PER_256_BYTES * 4, size: N * K * 4 };
  const dy = {
    buffer: buf,
    offset: (FLOATS_PER_256_BYTES + align(N * K)) * 4,
    size: N * M * 4,
  };
  const w = gpu.storage("w", c.w), b = gpu.storage("b", c.b);
  const y = gpu.storage("y", N * M * 4);
  const dW = gpu.storage("dW", M * K * 4), dB = gpu.storage("dB", M * 4);
  const rec = gpu.record();
  op.forward(rec, y, x, w, b);
  op.backward(rec, null, dW, dB, dy, x, w);
  await rec.submit();
  assertClose(`y ${variant}`, await gpu.readF32(y, 0, N * M), c.y, tol(K));
  assertClose(`dW ${variant}`, await gpu.readF32(dW, 0, M * K), c.dW, tol(N));
  assertClose(`dB ${variant}`, await gpu.readF32(dB, 0, M), c.dB, tol(N));
  op.destroy();
  for (const buffer of [buf, w, b, y, dW, dB]) buffer.destroy();
}

gpuTest("Linear.create picks the variant by adapter and rejects bad options", async (gpu) => {
  const op = await Linear.create(gpu, { batch: 2, inFeatures: 3, outFeatures: 4 });
  const want = linearVariantFor(gpu);
  if (op.variant !== want) throw new Error(`default variant ${op.variant}, expected ${want}`);
  const soft = gpu.subgroupSize === LINEAR_SUBGROUP_LANES ? "subgroup" : "blocked";
  if (gpu.variants === "software" && want !== soft) {
    throw new Error(`software adapter ${gpu.adapterName} should get "${soft}", got "${want}"`);
  }
  if (gpu.variants === "hardware" && want !== "tiled") {
    throw new Error(`${gpu.adapterName} with a GPU's variants should get "tiled", got "${want}"`);
  }
  op.destroy();
  const base = { batch: 2, inFeatures: 3, outFeatures: 4 };
  const bad = [{ batch: 0 }, { inFeatures: 1.5 }, { outFeatures: -1 }, {
    variant: "fast" as LinearVariant,
  }];
  for (const b of bad) {
    let threw = false;
    try {
      await Linear.create(gpu, { ...base, ...b });
    } catch (e) {
      threw = e instanceof RangeError;
    }
    if (!threw) throw new Error(`Linear.create accepted ${JSON.stringify(b)}`);
  }
});

gpuTest("Linear.forward rejects a tensor smaller than its shape", async (gpu) => {
  const op = await Linear.create(gpu, { batch: 4, inFeatures: 8, outFeatures: 4 });
  const x = gpu.storage("x", 4 * 8 * 4), w = gpu.storage("w", 4 * 8 * 4);
  const b = gpu.storage("b", 4 * 4), y = gpu.storage("y", 4 * 4 * 4);
  const small = { buffer: x, offset: 0, size: 4 * 7 * 4 };
  let message = "";
  try {
    op.forward(gpu.record(), y, small, w, b);
  } catch (e) {
    if (e instanceof RangeError) message = e.message;
  }
  if (!message.includes("needs 32 f32")) {
    throw new Error(`expected a RangeError naming the size, got "${message}"`);
  }
  op.destroy();
  for (const buffer of [x, w, b, y]) buffer.destroy();
});

gpuTest("benchLinear times every pass of every variant with finite positive rates", async (gpu) => {
  for (const variant of VARIANTS) {
    if (variant === "subgroup" && gpu.subgroupSize !== LINEAR_SUBGROUP_LANES) continue;
    for (const pass of ["forward", "backward_input", "backward_weight", "backward"] as const) {
      const { ms, gflops } = await benchLinear(gpu, 33, 68, 20, variant, 2, pass);
      if (!(ms > 0 && Number.isFinite(ms) && gflops > 0 && Number.isFinite(gflops))) {
        throw new Error(`benchLinear ${variant} ${pass}: ms ${ms}, gflops ${gflops}`);
      }
    }
  }
});
