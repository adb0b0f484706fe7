import { SigmoidHead } from "../src/ops/sigmoid_head.ts";
import { sigmoidHeadBackward, sigmoidHeadForward } from "../src/reference/sigmoid_head.ts";
import { assertClose, f32, gpuTest, normal, numericGrad, rng } from "./helpers.ts";

Deno.test("sigmoidHead reference: logvar is log sigma^2 and the backward matches central differences", () => {
  const rand = rng(1);
  const L = 3, raw = normal(rand, 5 * 2 * L).map((v) => 3 * v);
  const h = sigmoidHeadForward(raw, L);
  for (let i = 0; i < raw.length; i++) {
    const s = 1 / (1 + Math.exp(-raw[i]));
    const want = i % (2 * L) < L ? s : Math.log(s * s);
    assertClose(`h[${i}]`, [h[i]], [want], { atol: 1e-12, rtol: 1e-12 });
  }
  const dh = normal(rand, raw.length);
  const loss = (r: Float64Array) => sigmoidHeadForward(r, L).reduce((s, v, i) => s + v * dh[i], 0);
  assertClose("d raw", sigmoidHeadBackward(dh, raw, L), numericGrad(loss, raw.slice()), {
    atol: 1e-7,
    rtol: 1e-6,
  });
});

gpuTest("SigmoidHead forward and backward match the f64 reference on odd shapes", async (gpu) => {
  const rand = rng(2);
  for (const [n, L] of [[1, 1], [7, 2], [33, 5], [1000, 33]]) {
    const size = n * 2 * L;
    const raw = normal(rand, size).map((v) => 5 * v);
    if (size > 3) raw[0] = 90, raw[1] = -90, raw[size - 1] = -90, raw[size - 2] = 90;
    const dh = normal(rand, size);
    const op = await SigmoidHead.create(gpu, n, L);
    const bRaw = gpu.storage("raw", f32(raw)), bH = gpu.storage("h", size * 4);
    const bDh = gpu.storage("dh", f32(dh)), bDraw = gpu.storage("draw", size * 4);
    const rec = gpu.record();
    op.forward(rec, bH, bRaw);
    op.backward(rec, bDraw, bDh, bRaw);
    await rec.submit();
    const r = Float64Array.from(f32(raw));
    assertClose(`h n=${n} L=${L}`, await gpu.readF32(bH, 0, size), sigmoidHeadForward(r, L), {
      atol: 1e-6,
      rtol: 1e-5,
    });
    assertClose(
      `d raw n=${n} L=${L}`,
      await gpu.readF32(bDraw, 0, size),
      sigmoidHeadBackward(dh, r, L),
      { atol: 1e-6, rtol: 1e-4 },
    );
    for (const b of [bRaw, bH, bDh, bDraw]) b.destroy();
  }
});
