import type { Gpu } from "../src/gpu/gpu.ts";
import { MaxPool2d } from "../src/ops/maxpool.ts";
import { type MaxPool2dDims, maxPoolBackward, maxPoolForward } from "../src/reference/maxpool.ts";
import { activationBackward, activationForward } from "../src/reference/activation.ts";
import { assertClose, f32, gpuTest, normal, numericGrad, rng } from "./helpers.ts";

const size = (d: MaxPool2dDims) => d.batch * d.channels * d.height * d.width;
const outSize = (d: MaxPool2dDims) =>
  d.batch * d.channels * Math.floor(d.height / 2) * Math.floor(d.width / 2);
const exact = { atol: 0, rtol: 0 };

Deno.test("maxPoolBackward matches central differences in f64 away from ties", () => {
  const rand = rng(1);
  for (
    const d of [
      { batch: 2, channels: 3, height: 7, width: 6 },
      { batch: 1, channels: 2, height: 5, width: 5 },
    ]
  ) {
    // Distinct values 0.01 apart: the step h = 1e-6 never changes a window's winner.
    const n = size(d);
    const order = [...Array(n).keys()].map((i) => ({ i, key: rand() })).sort((a, b) =>
      a.key - b.key
    );
    const x = new Float64Array(n);
    order.forEach(({ i }, rank) => (x[i] = 0.01 * rank - 0.005 * n));
    const { argmax, y } = maxPoolForward(d, x);
    const r = normal(rand, y.length);
    const loss = (xx: Float64Array) => maxPoolForward(d, xx).y.reduce((s, v, i) => s + v * r[i], 0);
    assertClose("dx", maxPoolBackward(d, r, argmax), numericGrad(loss, x), {
      atol: 1e-7,
      rtol: 1e-6,
    });
  }
});

Deno.test("maxPoolForward gives ties to the first maximum in row-major window order", () => {
  const d = { batch: 1, channels: 1, height: 4, width: 4 };
  // Windows: all four equal; top right = bottom left; bottom row; top left = bottom right.
  const x = Float64Array.from([
    [1, 1, 0, 5],
    [1, 1, 5, 0],
    [0, 0, -1, -2],
    [2, 2, -3, -1],
  ].flat());
  const { y, argmax } = maxPoolForward(d, x);
  assertClose("y", y, [1, 5, 2, -1], exact);
  assertClose("argmax", argmax, [0, 1, 2, 0], exact);
});

/** Runs forward and backward on x and checks y, argmax and dx exactly against the reference. */
async function checkAgainstReference(
  gpu: Gpu,
  d: MaxPool2dDims,
  x: Float64Array,
  dy: Float64Array,
): Promise<void> {
  const op = await MaxPool2d.create(gpu, d);
  const n = size(d), m = outSize(d);
  const bx = gpu.storage("x", f32(x)), by = gpu.storage("y", m * 4);
  const bdy = gpu.storage("dy", f32(dy));
  // NaN everywhere first: the backward must write every element of dx itself.
  const bdx = gpu.storage("dx", new Float32Array(n).fill(NaN));
  const rec = gpu.record();
  op.forward(rec, by, bx);
  op.backward(rec, bdx, bdy);
  await rec.submit();
  const y = await gpu.readF32(by, 0, m), dx = await gpu.readF32(bdx, 0, n);
  const argmax = await gpu.readU32(op.argmax, 0, m);
  const ref = maxPoolForward(d, x);
  const at = `(${d.batch}, ${d.channels}, ${d.height}, ${d.width})`;
  if (op.outHeight !== Math.floor(d.height / 2) || op.outWidth !== Math.floor(d.width / 2)) {
    throw new Error(`out size ${at}: ${op.outHeight}x${op.outWidth}`);
  }
  // A max and a copy are exact in f32.
  assertClose(`y ${at}`, y, ref.y, exact);
  assertClose(`argmax ${at}`, argmax, ref.argmax, exact);
  assertClose(`dx ${at}`, dx, maxPoolBackward(d, dy, ref.argmax), exact);
  for (const b of [bx, by, bdy, bdx]) b.destroy();
}

const dims = (batch: number, channels: number, height: number, width: number) => ({
  batch,
  channels,
  height,
  width,
});

gpuTest("MaxPool2d forward and backward match the f64 reference on odd shapes", async (gpu) => {
  const rand = rng(2);
  for (
    const d of [
      dims(1, 1, 2, 2),
      dims(1, 1, 7, 7),
      dims(3, 7, 5, 9),
      dims(1, 33, 3, 2),
      dims(1, 32, 28, 28),
      dims(1, 64, 14, 14),
      dims(3, 32, 28, 28),
      dims(3, 64, 14, 14),
      dims(3, 128, 7, 7),
      dims(1, 128, 7, 7),
      dims(2, 3, 257, 33),
    ]
  ) {
    const x = Float64Array.from(f32(normal(rand, size(d))));
    await checkAgainstReference(gpu, d, x, Float64Array.from(f32(normal(rand, outSize(d)))));
  }
});

gpuTest("MaxPool2d matches the f64 reference at the encoder's batch-256 shapes", async (gpu) => {
  const rand = rng(3);
  for (const d of [dims(256, 32, 28, 28), dims(256, 64, 14, 14), dims(256, 128, 7, 7)]) {
    const x = Float64Array.from(f32(normal(rand, size(d))));
    await checkAgainstReference(gpu, d, x, Float64Array.from(f32(normal(rand, outSize(d)))));
  }
});

gpuTest("MaxPool2d gives ties to the first maximum in row-major window order", async (gpu) => {
  const rand = rng(4);
  // Values from {0, 1, 2}: most windows hold a tie; ReLU outputs tie at 0 the same way.
  for (const d of [dims(3, 5, 7, 7), dims(2, 4, 28, 28)]) {
    const x = Float64Array.from({ length: size(d) }, () => Math.floor(3 * rand()));
    await checkAgainstReference(gpu, d, x, Float64Array.from(f32(normal(rand, outSize(d)))));
  }
});

gpuTest(
  "MaxPool2d with relu pools relu(x) and passes the gradient back through both",
  async (gpu) => {
    const rand = rng(5);
    // Normal values (half the windows' maxima below 0 somewhere), ties from {-1, 0, 1} (windows
    // all 0 or negative), odd sizes and the encoder's shapes.
    const cases = [
      { d: dims(3, 7, 5, 9), tie: false },
      { d: dims(2, 4, 7, 7), tie: true },
      { d: dims(4, 32, 28, 28), tie: false },
      { d: dims(4, 128, 7, 7), tie: true },
    ];
    for (const { d, tie } of cases) {
      const n = size(d), m = outSize(d);
      const x = tie
        ? Float64Array.from({ length: n }, () => Math.floor(3 * rand()) - 1)
        : Float64Array.from(f32(normal(rand, n)));
      const dy = Float64Array.from(f32(normal(rand, m)));
      const op = await MaxPool2d.create(gpu, { ...d, relu: true });
      const bx = gpu.storage("x", f32(x)), by = gpu.storage("y", m * 4);
      const bdy = gpu.storage("dy", f32(dy));
      const bdx = gpu.storage("dx", new Float32Array(n).fill(NaN));
      const rec = gpu.record();
      op.forward(rec, by, bx);
      op.backward(rec, bdx, bdy);
      await rec.submit();
      // PyTorch's order: ReLU, then the pool; the gradient back through the pool, then ReLU.
      const r = activationForward("relu", x);
      const ref = maxPoolForward(d, r);
      const at = `relu (${d.batch}, ${d.channels}, ${d.height}, ${d.width})`;
      assertClose(`y ${at}`, await gpu.readF32(by, 0, m), ref.y, exact);
      assertClose(
        `dx ${at}`,
        await gpu.readF32(bdx, 0, n),
        activationBackward("relu", maxPoolBackward(d, dy, ref.argmax), x),
        exact,
      );
      const argmax = await gpu.readU32(op.argmax, 0, m);
      const none = ref.y.filter((v) => v <= 0).length;
      if (argmax.filter((a) => a === 4).length !== none) {
        throw new Error(`${at}: argmax 4 must mark exactly the ${none} windows with max <= 0`);
      }
      for (const b of [bx, by, bdy, bdx]) b.destroy();
    }
  },
);
