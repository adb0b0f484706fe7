import { rejects } from "node:assert";
import { FMA_CHAINS, FmaProbe, LoadProbe } from "../src/ops/probe.ts";
import { assertClose, gpuTest, rng } from "./helpers.ts";

/**
 * f64 reference of probe_fma.wgsl in f32 semantics: each step one fused multiply-add rounded
 * once to f32, or (`fused` false) the product rounded, then the sum. WGSL lets fma be either;
 * lavapipe does the latter. Where every product is exact the two agree.
 */
function fmaReference(
  count: number,
  iters: number,
  a: number,
  b: number,
  init: Float32Array,
  fused = true,
): Float32Array {
  // The kernel reads a and b as f32 from its uniform.
  const fa = Math.fround(a), fb = Math.fround(b), out = new Float32Array(count * 4);
  for (let n = 0; n < count; n++) {
    for (let l = 0; l < 4; l++) {
      let sum = 0;
      for (let k = 0; k < FMA_CHAINS; k++) {
        let v = Math.fround(init[k * 4 + l] + (n & 15));
        for (let i = 0; i < iters; i++) {
          v = Math.fround((fused ? v * fa : Math.fround(v * fa)) + fb);
        }
        sum = k === 0 ? v : Math.fround(sum + v);
      }
      out[n * 4 + l] = sum;
    }
  }
  return out;
}

/** f64 reference of probe_load.wgsl (width 1) and probe_load_vec4.wgsl (width 4). */
function loadReference(
  count: number,
  iters: number,
  src: Float32Array,
  width: number,
): Float32Array {
  const mask = src.length / width - 1, out = new Float32Array(count * width);
  for (let n = 0; n < count; n++) {
    for (let l = 0; l < width; l++) {
      let s = 0;
      for (let i = 0; i < iters; i++) s += src[((n + i) & mask) * width + l];
      out[n * width + l] = s;
    }
  }
  return out;
}

/** Throws unless `actual` is close to one of `candidates` (both messages if neither). */
function _oneOf(name: string, actual: Float32Array, candidates: Float32Array[]): void {
  const errors: string[] = [];
  for (const want of candidates) {
    try {
      return assertClose(name, actual, want, { atol: 0, rtol: 1e-6 });
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new Error(errors.join("\n"));
}

const COUNTS = [1, 7, 33, 257, 5000];

gpuTest(
  "probe_fma runs every FMA of every chain: exact on exact inputs, odd counts",
  async (gpu) => {
    const rand = rng(5);
    // 42 steps run both of the kernel's loops (4 per assignment, then one at a time).
    // Quarter-integers: with a = 1 or 0.5 every product is exact and every sum of these
    // dyadic values is exact in f32, in any order, so only a skipped step can change the result.
    const init = Float32Array.from(
      { length: FMA_CHAINS * 4 },
      () => Math.floor(rand() * 64) / 4 - 8,
    );
    const bInit = gpu.storage("init", init);
    const cases = [[1, 1, 1], [1, 1, 1000], [0.5, 0.75, 3], [0.5, 0.75, 42], [0.999, 0.01, 300]];
    for (const [a, b, iters] of cases) {
      for (const count of COUNTS) {
        const probe = await FmaProbe.create(gpu, { count, iters, a, b });
        const out = gpu.storage("out", count * 16);
        const rec = gpu.record();
        probe.run(rec, out, bInit);
        await rec.submit();
        const got = await gpu.readF32(out, 0, count * 4);
        const name = `fma a=${a} b=${b} iters=${iters} count=${count}`;
        if (a !== 0.999) {
          assertClose(name, got, fmaReference(count, iters, a, b, init), { atol: 0, rtol: 0 });
        } else {
          // Every step rounds here, and over 300 steps fused and unfused drift apart (by ~1e-5
          // relative), so the result must be one of the two chains, up to the last bits of
          // the final sum.
          _oneOf(
            name,
            got,
            [true, false].map((f) => fmaReference(count, iters, a, b, init, f)),
          );
        }
        probe.destroy();
        out.destroy();
      }
    }
    bInit.destroy();
  },
);

gpuTest("probe_load and probe_load_vec4 sum exactly the words they index", async (gpu) => {
  const rand = rng(9);
  for (const [width, length] of [[1, 4096], [4, 1024]]) {
    // Small integers: the sums are exact in f32 whatever the order of the adds.
    const src = Float32Array.from({ length: length * width }, () => Math.floor(rand() * 16));
    const bSrc = gpu.storage("src", src);
    for (const iters of [4, 12, 1024]) {
      for (const count of COUNTS) {
        const probe = await LoadProbe.create(gpu, { count, iters, length, vec4: width === 4 });
        const out = gpu.storage("out", count * width * 4);
        const rec = gpu.record();
        probe.run(rec, out, bSrc);
        await rec.submit();
        const got = await gpu.readF32(out, 0, count * width);
        const want = loadReference(count, iters, src, width);
        assertClose(`load x${width} iters=${iters} count=${count}`, got, want, {
          atol: 0,
          rtol: 0,
        });
        probe.destroy();
        out.destroy();
      }
    }
    bSrc.destroy();
  }
});

gpuTest("LoadProbe rejects an iteration count that is not a multiple of 4", async (gpu) => {
  await rejects(
    LoadProbe.create(gpu, { count: 64, iters: 6, length: 1024, vec4: false }),
    /iters must be a multiple of 4, got 6/,
  );
  await rejects(
    LoadProbe.create(gpu, { count: 64, iters: 8, length: 1000, vec4: true }),
    /length must be a power of 2, got 1000/,
  );
});
