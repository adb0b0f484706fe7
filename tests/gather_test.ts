import assert from "node:assert/strict";
import { type BinarizeMode, GpuDataset, IMAGE_PIXELS } from "../src/data/gpu_dataset.ts";
import { readIdxImages } from "../src/data/idx.ts";
import { IDX_FILES, loadMnist, mnistPackageDir } from "../src/data/mnist.ts";
import { permutation } from "../src/data/shuffle.ts";
import { assertClose, gpuTest, rng } from "./helpers.ts";

/** f64 reference of gather_batch.wgsl. */
function gatherReference(
  images: Uint8Array,
  indices: Uint32Array,
  mode: BinarizeMode,
  noise?: Float32Array,
): Float64Array {
  const out = new Float64Array(indices.length * IMAGE_PIXELS);
  indices.forEach((img, r) => {
    for (let j = 0; j < IMAGE_PIXELS; j++) {
      const g = images[img * IMAGE_PIXELS + j] / 255;
      const o = r * IMAGE_PIXELS + j;
      out[o] = mode === "none" ? g : mode === "static" ? +(g > 0.5) : +(noise![o] < g);
    }
  });
  return out;
}

function randomImages(rand: () => number, count: number): Uint8Array {
  const images = new Uint8Array(count * IMAGE_PIXELS);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(rand() * 256);
  // Every image holds the extremes and both sides of the static threshold (127, 128).
  for (let i = 0; i < count; i++) images.set([0, 255, 127, 128], i * IMAGE_PIXELS + 100);
  return images;
}

Deno.test("permutation is a deterministic permutation that changes with seed and epoch", () => {
  for (const n of [0, 1, 7, 257, 60_000]) {
    const p = permutation(n, 42, 3);
    const seen = new Uint8Array(n);
    for (const v of p) seen[v]++;
    assert.deepEqual(seen.every((c) => c === 1), true, `n=${n}: not a permutation`);
    assert.deepEqual(permutation(n, 42, 3), p, `n=${n}: not deterministic`);
    if (n >= 257) {
      assert.notDeepEqual(permutation(n, 42, 4), p, `n=${n}: same order in the next epoch`);
      assert.notDeepEqual(permutation(n, 43, 3), p, `n=${n}: same order for another seed`);
    }
  }
  // Each of 7 items lands in position 0 about equally often over epochs.
  const first = new Array(7).fill(0);
  for (let e = 0; e < 7000; e++) first[permutation(7, 1, e)[0]]++;
  for (const c of first) assert.deepEqual(Math.abs(c - 1000) < 150, true, `counts ${first}`);
});

gpuTest(
  "GpuDataset gather matches the f64 reference in all three modes on odd batches",
  async (gpu) => {
    const rand = rng(7);
    const count = 3001;
    const images = randomImages(rand, count);
    const ds = await GpuDataset.create(gpu, images, count);
    for (const n of [1, 7, 257]) {
      const indices = new Uint32Array(n);
      for (let r = 0; r < n; r++) indices[r] = Math.floor(rand() * count);
      // The last images are where a wrong stride or packing would read past the end.
      indices[0] = count - 1;
      if (n > 2) indices[1] = count - 2, indices[2] = 0;
      const noise = new Float32Array(n * IMAGE_PIXELS).map(() => rand());
      const bIdx = gpu.storage("indices", n * 4);
      const bNoise = gpu.storage("noise", noise);
      ds.setIndices(bIdx, indices);
      for (const mode of ["none", "static", "dynamic"] as const) {
        const bx = gpu.storage("x", n * IMAGE_PIXELS * 4);
        const rec = gpu.record();
        ds.gather(rec, bx, bIdx, n, mode, bNoise);
        await rec.submit();
        const x = await gpu.readF32(bx, 0, n * IMAGE_PIXELS);
        const want = gatherReference(images, indices, mode, noise);
        if (mode === "none") {
          assertClose(`gather none n=${n}`, x, want, { atol: 1e-7, rtol: 1e-6 });
        } else if (mode === "static") {
          assertClose(`gather static n=${n}`, x, want, { atol: 0, rtol: 0 });
        } else {
          // u < p/255 may flip where u is within f32 rounding of p/255 (WGSL division is 2.5 ulp).
          for (let o = 0; o < want.length; o++) {
            const g =
              images[indices[Math.floor(o / IMAGE_PIXELS)] * IMAGE_PIXELS + o % IMAGE_PIXELS];
            if (x[o] !== want[o] && Math.abs(noise[o] - g / 255) > 1e-6) {
              throw new Error(`gather dynamic n=${n}: [${o}] got ${x[o]}, want ${want[o]}`);
            }
          }
        }
        bx.destroy();
      }
      bIdx.destroy();
      bNoise.destroy();
    }
    ds.destroy();
  },
);

gpuTest(
  "GpuDataset gather dequantizes into (0, 1) and bins into centres that floor(x k) inverts",
  async (gpu) => {
    const rand = rng(8);
    const count = 301, n = 33;
    const images = randomImages(rand, count);
    const ds = await GpuDataset.create(gpu, images, count);
    const indices = Uint32Array.from({ length: n }, (_, r) => (r * 37) % count);
    indices[0] = count - 1;
    // The generator's extreme uniforms, 2^-25 and 1 - 2^-24, at the extreme pixels 0 and 255.
    const noise = new Float32Array(n * IMAGE_PIXELS).map(() => rand());
    noise.set([2 ** -25, 1 - 2 ** -24, 2 ** -25, 1 - 2 ** -24], 100);
    const bIdx = gpu.storage("indices", indices), bNoise = gpu.storage("noise", noise);
    const bx = gpu.storage("x", n * IMAGE_PIXELS * 4);
    const pixel = (o: number) =>
      images[indices[Math.floor(o / IMAGE_PIXELS)] * IMAGE_PIXELS + o % IMAGE_PIXELS];
    let rec = gpu.record();
    ds.gather(rec, bx, bIdx, n, "dequantize", bNoise);
    await rec.submit();
    const y = await gpu.readF32(bx, 0, n * IMAGE_PIXELS);
    // As the kernel rounds: p + u in f32, then an exact division, capped below 1.
    const want = Float64Array.from(
      y,
      (_, o) => Math.min(Math.fround(pixel(o) + noise[o]) / 256, 1 - 2 ** -24),
    );
    assertClose("dequantize", y, want, { atol: 0, rtol: 1e-7 });
    if (!y.every((v) => v > 0 && v < 1)) throw new Error("dequantize: a value left (0, 1)");
    for (const k of [2, 4, 7, 256]) {
      rec = gpu.record();
      ds.gather(rec, bx, bIdx, n, "bins", undefined, k);
      await rec.submit();
      const x = await gpu.readF32(bx, 0, n * IMAGE_PIXELS);
      for (let o = 0; o < x.length; o++) {
        const j = Math.floor((pixel(o) * k) / 256);
        if (x[o] !== Math.fround((j + 0.5) / k) || Math.min(Math.floor(x[o] * k), k - 1) !== j) {
          throw new Error(`bins k=${k}: [${o}] pixel ${pixel(o)} gave ${x[o]}, bin ${j}`);
        }
      }
    }
    rec = gpu.record();
    assert.throws(() => ds.gather(rec, bx, bIdx, n, "bins", undefined, 1), /bins must be/);
    assert.throws(() => ds.gather(rec, bx, bIdx, n, "dequantize"), /no noise tensor/);
    for (const b of [bIdx, bNoise, bx]) b.destroy();
    ds.destroy();
  },
);

gpuTest(
  "GpuDataset gather writes into a tensor at an aligned offset of a larger buffer",
  async (gpu) => {
    const rand = rng(8);
    const count = 5;
    const images = randomImages(rand, count);
    const ds = await GpuDataset.create(gpu, images, count);
    const n = 3, offset = 1024, bytes = n * IMAGE_PIXELS * 4;
    const indices = Uint32Array.of(4, 0, 2);
    const bIdx = gpu.storage("indices", 512);
    ds.setIndices(bIdx, indices, 256);
    const flat = gpu.storage("flat", offset + bytes + 256);
    const rec = gpu.record();
    ds.gather(
      rec,
      { buffer: flat, offset, size: bytes },
      { buffer: bIdx, offset: 256, size: 12 },
      n,
      "none",
    );
    await rec.submit();
    const all = await gpu.readF32(flat);
    assertClose(
      "gather at offset",
      all.subarray(offset / 4, (offset + bytes) / 4),
      gatherReference(images, indices, "none"),
      {
        atol: 1e-7,
        rtol: 1e-6,
      },
    );
    // Nothing written outside the tensor's range.
    assert.deepEqual(all.subarray(0, offset / 4).every((v) => v === 0), true);
    assert.deepEqual(all.subarray((offset + bytes) / 4).every((v) => v === 0), true);
    ds.destroy();
  },
);

gpuTest(
  "GpuDataset rejects out-of-range indices, short tensors and dynamic without noise",
  async (gpu) => {
    const ds = await GpuDataset.create(gpu, new Uint8Array(2 * IMAGE_PIXELS), 2);
    const bIdx = gpu.storage("indices", 16);
    const bx = gpu.storage("x", 4 * IMAGE_PIXELS * 4);
    assert.throws(() => ds.setIndices(bIdx, Uint32Array.of(0, 2)), {
      name: "RangeError",
      message: /image 2 .*holds 2 images/,
    });
    const rec = gpu.record();
    assert.throws(() => ds.gather(rec, bx, bIdx, 4, "dynamic"), {
      name: "TypeError",
      message: /no noise/,
    });
    assert.throws(() => ds.gather(rec, bx, bIdx, 5, "none"), {
      name: "RangeError",
      message: /x needs 15680 bytes/,
    });
    await assert.rejects(GpuDataset.create(gpu, new Uint8Array(10), 2), {
      name: "RangeError",
      message: /expected 1568 bytes, got 10/,
    });
    await rec.submit();
    ds.destroy();
  },
);

gpuTest(
  "GpuDataset holds all 60,000 MNIST training images and gathers the last one exactly",
  async (gpu) => {
    const dir = await mnistPackageDir();
    // The whole training file (train + validation) in one binding: 47,040,000 bytes.
    const all = (await readIdxImages(`${dir}/${IDX_FILES.trainImages}`)).pixels;
    const m = await loadMnist({ dir });
    const ds = await GpuDataset.create(gpu, all, 60_000);
    const indices = Uint32Array.of(59_999, 50_000, 0, 49_999);
    const bIdx = gpu.storage("indices", indices);
    const bx = gpu.storage("x", indices.length * IMAGE_PIXELS * 4);
    const rec = gpu.record();
    ds.gather(rec, bx, bIdx, indices.length, "static");
    await rec.submit();
    const x = await gpu.readF32(bx);
    assertClose("MNIST gather static", x, gatherReference(all, indices, "static"), {
      atol: 0,
      rtol: 0,
    });
    // Image 50,000 is the first validation image.
    assert.deepEqual(
      all.subarray(50_000 * IMAGE_PIXELS, 50_001 * IMAGE_PIXELS),
      m.val.images.subarray(0, IMAGE_PIXELS),
    );
    ds.destroy();
  },
);
