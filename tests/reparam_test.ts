import { Reparam } from "../src/ops/reparam.ts";
import { reparamBackward, reparamForward } from "../src/reference/reparam.ts";
import { assertClose, f32, gpuTest, normal, numericGrad, rng } from "./helpers.ts";

/** An encoder head (N, 2L): mu ~ N(0, 1), logvar ~ N(0, 1.5^2) (sigma from ~0.1 to ~10). */
function head(rand: () => number, rows: number, latent: number): Float64Array {
  const h = normal(rand, rows * 2 * latent);
  for (let r = 0; r < rows; r++) {
    for (let j = latent; j < 2 * latent; j++) h[r * 2 * latent + j] *= 1.5;
  }
  return h;
}

Deno.test("reparam reference backward matches central differences in f64", () => {
  const rand = rng(11);
  for (const [rows, latent] of [[1, 2], [3, 5]]) {
    const h = head(rand, rows, latent), eps = normal(rand, rows * latent);
    const w = normal(rand, rows * latent);
    const loss = (hh: Float64Array) =>
      reparamForward(hh, eps, rows, latent).reduce((s, z, i) => s + z * w[i], 0);
    assertClose(
      `reparam backward ${rows}x${latent}`,
      reparamBackward(w, eps, h, rows, latent),
      numericGrad(loss, h),
      { atol: 1e-7, rtol: 1e-6 },
    );
  }
});

gpuTest("reparam forward and backward match the f64 reference on odd shapes", async (gpu) => {
  const rand = rng(12);
  const shapes = [1, 7, 33, 257].flatMap((rows) => [[rows, 2], [rows, 16]]);
  shapes.push([4099, 16]); // 65,584 latent elements: 257 workgroups
  for (const [rows, latent] of shapes) {
    const op = await Reparam.create(gpu, rows, latent);
    const h = head(rand, rows, latent), eps = normal(rand, rows * latent);
    const dz = normal(rand, rows * latent), dhKl = normal(rand, rows * 2 * latent);
    const bh = gpu.storage("h", f32(h)), beps = gpu.storage("eps", f32(eps));
    const bz = gpu.storage("z", rows * latent * 4), bdz = gpu.storage("dz", f32(dz));
    const bdh = gpu.storage("dh", f32(dhKl));
    const rec = gpu.record();
    op.forward(rec, bz, bh, beps);
    op.backward(rec, bdh, bdz, beps, bh);
    await rec.submit();
    const z32 = await gpu.readF32(bz, 0, rows * latent);
    const dh32 = await gpu.readF32(bdh, 0, rows * 2 * latent);
    const [hs, es, dzs, dks] = [h, eps, dz, dhKl].map((a) => Float64Array.from(f32(a)));
    const tol = { atol: 1e-6, rtol: 1e-5 };
    assertClose(`z ${rows}x${latent}`, z32, reparamForward(hs, es, rows, latent), tol);
    // dh must hold the KL gradient it started with plus the path through z.
    assertClose(`dh ${rows}x${latent}`, dh32, reparamBackward(dzs, es, hs, rows, latent, dks), tol);
    for (const b of [bh, beps, bz, bdz, bdh]) b.destroy();
  }
});

gpuTest("reparam reads and writes tensors at nonzero offsets of flat buffers", async (gpu) => {
  const rand = rng(13);
  const rows = 7, latent = 3, off = 256;
  const op = await Reparam.create(gpu, rows, latent);
  const h = head(rand, rows, latent), eps = normal(rand, rows * latent);
  const flat = new Float32Array(off / 4 + 2 * rows * latent).fill(7);
  flat.set(f32(h), off / 4);
  const bh = gpu.storage("flat h", flat), beps = gpu.storage("eps", f32(eps));
  const bz = gpu.storage("flat z", off + rows * latent * 4);
  const rec = gpu.record();
  op.forward(rec, { buffer: bz, offset: off, size: rows * latent * 4 }, {
    buffer: bh,
    offset: off,
    size: rows * 2 * latent * 4,
  }, beps);
  await rec.submit();
  const z32 = await gpu.readF32(bz, 0, off / 4 + rows * latent);
  const hs = Float64Array.from(f32(h)), es = Float64Array.from(f32(eps));
  assertClose("z at offset", z32.subarray(off / 4), reparamForward(hs, es, rows, latent), {
    atol: 1e-6,
    rtol: 1e-5,
  });
  assertClose("z before offset", z32.subarray(0, off / 4), new Float32Array(off / 4), {
    atol: 0,
    rtol: 0,
  });
  for (const b of [bh, beps, bz]) b.destroy();
});
