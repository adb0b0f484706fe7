import { Activation, type ActivationKind } from "../src/ops/activation.ts";
import { activationBackward, activationForward } from "../src/reference/activation.ts";
import { assertClose, f32, gpuTest, normal, numericGrad, rng } from "./helpers.ts";

const KINDS: ActivationKind[] = ["tanh", "relu", "leaky_relu", "sigmoid"];
const SLOPE = 0.2;

Deno.test("activation reference backward matches central differences in f64", () => {
  const rand = rng(1);
  for (const kind of KINDS) {
    // Keep inputs away from the ReLU kink, where the derivative is undefined.
    const x = normal(rand, 33).map((v) => (Math.abs(v) < 1e-3 ? v + 0.01 : v));
    const dy = normal(rand, 33);
    const loss = (xx: Float64Array) =>
      activationForward(kind, xx, SLOPE).reduce((s, y, i) => s + y * dy[i], 0);
    assertClose(`${kind} backward`, activationBackward(kind, dy, x, SLOPE), numericGrad(loss, x), {
      atol: 1e-7,
      rtol: 1e-6,
    });
  }
});

for (const kind of KINDS) {
  gpuTest(
    `activation ${kind} forward and backward match the f64 reference on odd shapes`,
    async (gpu) => {
      const rand = rng(2);
      for (const n of [1, 7, 33, 257, 70_001]) {
        const x = normal(rand, n).map((v) => 4 * v);
        if (n > 1) x[0] = 100, x[1] = -100; // saturation must stay finite
        const dy = normal(rand, n);
        const op = await Activation.create(gpu, kind, n, SLOPE);
        const bx = gpu.storage("x", f32(x)), bdy = gpu.storage("dy", f32(dy));
        // The outputs are ranges of larger buffers whose other words hold 7: the kernels'
        // vec4 bindings reach past n, and must not write there.
        const around = (label: string) => {
          const buffer = gpu.storage(label, new Float32Array(64 + n + 5).fill(7));
          return { buffer, offset: 256, size: n * 4 };
        };
        const by = around("y"), bdx = around("dx");
        const rec = gpu.record();
        op.forward(rec, by, bx);
        op.backward(rec, bdx, bdy, kind === "tanh" || kind === "sigmoid" ? by : bx);
        await rec.submit();
        const y32 = await gpu.readF32(by.buffer, 64, n),
          dx32 = await gpu.readF32(bdx.buffer, 64, n);
        for (const t of [by, bdx]) {
          const whole = await gpu.readF32(t.buffer);
          const outside = [whole[63], ...whole.subarray(64 + n, 64 + n + 5)];
          if (outside.some((w) => w !== 7)) throw new Error(`${kind} wrote outside its range`);
        }
        // The f32 input is what the kernel saw: compare against the reference at that input.
        const xs = Float64Array.from(f32(x));
        assertClose(`${kind} forward n=${n}`, y32, activationForward(kind, xs, SLOPE), {
          atol: 1e-6,
          rtol: 1e-5,
        });
        assertClose(`${kind} backward n=${n}`, dx32, activationBackward(kind, dy, xs, SLOPE), {
          atol: 1e-6,
          rtol: 1e-4,
        });
        for (const b of [bx, by.buffer, bdy, bdx.buffer]) b.destroy();
      }
    },
  );
}
