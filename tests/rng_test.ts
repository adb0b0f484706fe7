import type { Gpu } from "../src/gpu/gpu.ts";
import { Rng, splitU64 } from "../src/ops/rng.ts";
import {
  philox4x32_10,
  rngBits,
  rngNormal,
  rngUniform,
  uniformFromBits,
} from "../src/reference/rng.ts";
import { assertClose, gpuTest } from "./helpers.ts";

// Random123's published known-answer vectors for Philox4x32-10 (its tests/kat_vectors):
// counter words, key words, expected output words.
const KAT: [number[], number[], number[]][] = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    [0xffffffff, 0xffffffff],
    [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  ],
  [
    [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    [0xa4093822, 0x299f31d0],
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  ],
];

// (seed, counter) pairs whose words exercise the 64-bit split and the key schedule's carries.
const STREAMS: [number, number][] = [
  [0, 0],
  [42, 7],
  [0xffffffff, 0xffffffff],
  [2 ** 53 - 1, 2 ** 40 + 3],
];
const SHAPES = [1, 7, 33, 257, 70_001];
const MILLION = 1_000_000;
// f32 sin and cos are absolute-error functions (lavapipe: ~2e-6 near +-pi/2), scaled by the
// radius r <= 5.9; the uniforms themselves are exact.
const NORMAL_TOL = { atol: 1e-5, rtol: 1e-5 };

type Draw = "normal" | "uniform" | "bits";

async function draw(
  gpu: Gpu,
  rng: Rng,
  kind: Draw,
  n: number,
  seed: number,
  counter: number,
): Promise<Float32Array | Uint32Array> {
  const out = gpu.storage("rng out", n * 4);
  const rec = gpu.record();
  rng[kind](rec, out, n, seed, counter);
  await rec.submit();
  const data = kind === "bits" ? await gpu.readU32(out, 0, n) : await gpu.readF32(out, 0, n);
  out.destroy();
  return data;
}

function assertEqualWords(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>) {
  if (actual.length !== expected.length) {
    throw new Error(`${name}: length ${actual.length}, expected ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(`${name}: first difference at [${i}]: got ${actual[i]}, want ${expected[i]}`);
    }
  }
}

/** Mean, variance and lag-1 correlation in f64. */
function moments(a: ArrayLike<number>): { mean: number; variance: number; lag1: number } {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i];
  const mean = sum / a.length;
  let ss = 0, cross = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - mean;
    ss += d * d;
    if (i + 1 < a.length) cross += d * (a[i + 1] - mean);
  }
  return { mean, variance: ss / (a.length - 1), lag1: cross / ss };
}

function assertWithin(name: string, value: number, want: number, standardError: number) {
  const z = (value - want) / standardError;
  if (!(Math.abs(z) <= 5)) {
    throw new Error(`${name}: ${value} is ${z.toFixed(2)} standard errors from ${want}`);
  }
}

Deno.test("philox4x32_10 reference reproduces the Random123 known-answer vectors", () => {
  for (const [counter, key, want] of KAT) {
    assertEqualWords(`philox(${counter}, ${key})`, philox4x32_10(counter, key), want);
  }
});

Deno.test("uniformFromBits maps the extreme words strictly inside (0, 1) as exact f32", () => {
  for (const word of [0, 0xff, 0x100, 0x80000000, 0xffffff00, 0xffffffff]) {
    const u = uniformFromBits(word);
    if (!(u > 0 && u < 1) || Math.fround(u) !== u) {
      throw new Error(`uniformFromBits(0x${word.toString(16)}) = ${u}: not an f32 in (0, 1)`);
    }
  }
  if (uniformFromBits(0xffffffff) !== 1 - 2 ** -24 || uniformFromBits(0) !== 2 ** -25) {
    throw new Error("uniformFromBits: the extremes are not 2^-25 and 1 - 2^-24");
  }
});

gpuTest("Rng bits match the reference Philox words bit for bit", async (gpu) => {
  const rng = await Rng.create(gpu);
  // Block 0 of stream (0, 0) is Philox of the all-zero counter and key: the first KAT vector.
  assertEqualWords("Rng bits (0, 0) block 0", await draw(gpu, rng, "bits", 4, 0, 0), KAT[0][2]);
  for (const [seed, counter] of STREAMS) {
    for (const n of SHAPES) {
      const got = await draw(gpu, rng, "bits", n, seed, counter);
      assertEqualWords(
        `Rng bits n=${n} seed=${seed} counter=${counter}`,
        got,
        rngBits(n, seed, counter),
      );
    }
  }
});

gpuTest("Rng uniform equals the reference bit for bit", async (gpu) => {
  const rng = await Rng.create(gpu);
  for (const [seed, counter] of STREAMS) {
    for (const n of SHAPES) {
      const got = await draw(gpu, rng, "uniform", n, seed, counter);
      assertEqualWords(`Rng uniform n=${n}`, got, rngUniform(n, seed, counter));
    }
  }
});

gpuTest("Rng normal matches Box-Muller in f64 of the reference uniforms", async (gpu) => {
  const rng = await Rng.create(gpu);
  for (const [seed, counter] of STREAMS) {
    for (const n of SHAPES) {
      const got = await draw(gpu, rng, "normal", n, seed, counter);
      assertClose(`Rng normal n=${n}`, got, rngNormal(n, seed, counter), NORMAL_TOL);
    }
  }
});

gpuTest(
  "Rng normal has mean 0, variance 1 and no lag-1 correlation over 10^6 draws",
  async (gpu) => {
    const rng = await Rng.create(gpu);
    const z = await draw(gpu, rng, "normal", MILLION, 2024, 1);
    const { mean, variance, lag1 } = moments(z);
    assertWithin("mean", mean, 0, 1 / Math.sqrt(MILLION));
    assertWithin("variance", variance, 1, Math.sqrt(2 / MILLION));
    assertWithin("lag-1 correlation", lag1, 0, 1 / Math.sqrt(MILLION));
    if (!z.every(Number.isFinite)) throw new Error("Rng normal: a draw is not finite");
  },
);

gpuTest("Rng uniform has mean 1/2, variance 1/12 over 10^6 draws, all in (0, 1)", async (gpu) => {
  const rng = await Rng.create(gpu);
  const u = await draw(gpu, rng, "uniform", MILLION, 2024, 2);
  const { mean, variance, lag1 } = moments(u);
  assertWithin("mean", mean, 0.5, Math.sqrt(1 / 12 / MILLION));
  // Var of (U - 1/2)^2 is 1/80 - 1/144 = 1/180.
  assertWithin("variance", variance, 1 / 12, Math.sqrt(1 / 180 / MILLION));
  assertWithin("lag-1 correlation", lag1, 0, 1 / Math.sqrt(MILLION));
  const bad = u.findIndex((v) => !(v > 0 && v < 1));
  if (bad >= 0) throw new Error(`Rng uniform: draw ${bad} is ${u[bad]}, outside (0, 1)`);
});

gpuTest("Rng repeats a (seed, counter) exactly and changes with either", async (gpu) => {
  const rng = await Rng.create(gpu);
  const n = 1001;
  const outs = [0, 1, 2, 3].map((i) => gpu.storage(`rng out ${i}`, n * 4));
  // All four draws recorded before one submit: each must still see its own seed and counter.
  const rec = gpu.record();
  rng.normal(rec, outs[0], n, 5, 9);
  rng.normal(rec, outs[1], n, 5, 9);
  rng.normal(rec, outs[2], n, 5, 10);
  rng.normal(rec, outs[3], n, 6, 9);
  await rec.submit();
  const [a, b, c, d] = await Promise.all(outs.map((o) => gpu.readF32(o, 0, n)));
  assertEqualWords("same seed and counter", b, a);
  assertClose("first draw", a, rngNormal(n, 5, 9), NORMAL_TOL);
  assertClose("other counter", c, rngNormal(n, 5, 10), NORMAL_TOL);
  assertClose("other seed", d, rngNormal(n, 6, 9), NORMAL_TOL);
  for (const [name, other] of [["other counter", c], ["other seed", d]] as const) {
    const same = other.filter((v, i) => v === a[i]).length;
    if (same > 2) throw new Error(`${name}: ${same} of ${n} draws equal the first stream's`);
  }
  for (const o of outs) o.destroy();
});

gpuTest("Rng element i does not depend on how many elements are drawn", async (gpu) => {
  const rng = await Rng.create(gpu);
  const long = await draw(gpu, rng, "uniform", 1000, 77, 3);
  for (const n of [1, 7, 33]) {
    assertEqualWords(`prefix n=${n}`, await draw(gpu, rng, "uniform", n, 77, 3), long.slice(0, n));
  }
});

Deno.test("splitU64 splits seeds and counters and rejects non-integers", () => {
  for (const bad of [-1, 0.5, 2 ** 53, Number.NaN]) {
    let threw = false;
    try {
      splitU64("seed", bad);
    } catch (e) {
      threw = e instanceof RangeError;
    }
    if (!threw) throw new Error(`splitU64 accepted ${bad}`);
  }
  const [lo, hi] = splitU64("seed", 2 ** 52 + 0x1234);
  if (lo !== 0x1234 || hi !== 2 ** 20) {
    throw new Error(`splitU64 split 2^52 + 0x1234 as ${lo}, ${hi}`);
  }
});
