import { IwLogWeight } from "../src/ops/iw_log_weight.ts";
import { assertClose, f32, gpuTest, normal, rng, uniform } from "./helpers.ts";

/** f64 reference: log p(x|z) + log N(z; 0, I) - log N(z; mu, exp(logvar)), written out in full. */
function reference(
  per: Float64Array,
  h: Float64Array,
  eps: Float64Array,
  N: number,
  L: number,
): Float64Array {
  const out = new Float64Array(N);
  const logN = (v: number, m: number, lv: number) =>
    -0.5 * (Math.log(2 * Math.PI) + lv + (v - m) ** 2 / Math.exp(lv));
  for (let n = 0; n < N; n++) {
    let s = -per[2 * n];
    for (let j = 0; j < L; j++) {
      const mu = h[n * 2 * L + j], lv = h[n * 2 * L + L + j];
      const z = mu + Math.exp(lv / 2) * eps[n * L + j];
      s += logN(z, 0, 0) - logN(z, mu, lv);
    }
    out[n] = s;
  }
  return out;
}

gpuTest("iw_log_weight matches the f64 reference on odd shapes and offsets", async (gpu) => {
  const rand = rng(21);
  for (const [N, L] of [[1, 2], [7, 16], [33, 2], [257, 16], [1000, 3]]) {
    const per = f32(uniform(rand, N * 2, 50, 250));
    const h = f32(normal(rand, N * 2 * L));
    const eps = f32(normal(rand, N * L));
    const op = await IwLogWeight.create(gpu, { batch: N, latent: L });
    const offset = 5;
    const bp = gpu.storage("per", per), bh = gpu.storage("h", h), be = gpu.storage("eps", eps);
    const bw = gpu.storage("w", (N + offset) * 4);
    const rec = gpu.record();
    op.forward(rec, bw, bp, bh, be, offset);
    await rec.submit();
    const got = await gpu.readF32(bw, offset, N);
    const want = reference(
      Float64Array.from(per),
      Float64Array.from(h),
      Float64Array.from(eps),
      N,
      L,
    );
    assertClose(`log w N=${N} L=${L}`, got, want, { atol: 1e-4, rtol: 1e-5 });
    for (const b of [bp, bh, be, bw]) b.destroy();
  }
});
