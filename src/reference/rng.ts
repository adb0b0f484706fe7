/**
 * Reference of kernels/rng.wgsl in plain integer and f64 arithmetic: Philox4x32-10 with the
 * kernel's counter layout gives the same u32 words bit for bit, hence the same uniforms (exact
 * f32 values); normals are Box-Muller of those uniforms in f64.
 */

import { splitU64 } from "../ops/rng.ts";

const M0 = 0xd2511f53, M1 = 0xcd9e8d57, W0 = 0x9e3779b9, W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 (every partial product is exact in f64). */
function _mulHi(a: number, b: number): number {
  const aLo = a & 0xffff, aHi = a >>> 16, bLo = b & 0xffff, bHi = b >>> 16;
  const lh = aLo * bHi, hl = aHi * bLo;
  const mid = ((aLo * bLo) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (aHi * bHi + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox4x32-10 of a 128-bit counter (4 u32, low word first) under a 64-bit key (2 u32). */
export function philox4x32_10(counter: ArrayLike<number>, key: ArrayLike<number>): Uint32Array {
  let c0 = counter[0] >>> 0, c1 = counter[1] >>> 0, c2 = counter[2] >>> 0, c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = _mulHi(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = _mulHi(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** The kernel's n raw words: block j = i / 4 is Philox((j, 0, counter), seed). */
export function rngBits(n: number, seed: number, counter: number): Uint32Array {
  const key = splitU64("seed", seed);
  const [ctrLo, ctrHi] = splitU64("counter", counter);
  const out = new Uint32Array(n);
  for (let j = 0; 4 * j < n; j++) {
    const w = philox4x32_10([j, 0, ctrLo, ctrHi], key);
    for (let e = 0; e < 4 && 4 * j + e < n; e++) out[4 * j + e] = w[e];
  }
  return out;
}

/** A word's 24 high bits k as k / 2^24 (k = 0 as 2^-25): an exact f32 in (0, 1). */
export function uniformFromBits(word: number): number {
  return Math.max(word >>> 8, 0.5) * 2 ** -24;
}

/** `n` U(0, 1) numbers of stream (seed, counter): the same values as the GPU's Rng.uniform. */
export function rngUniform(n: number, seed: number, counter: number): Float64Array {
  return Float64Array.from(rngBits(n, seed, counter), uniformFromBits);
}

/** Box-Muller on word pairs (0, 1) and (2, 3) of each block, angle in (-pi, pi). */
export function rngNormal(n: number, seed: number, counter: number): Float64Array {
  const words = rngBits(n + (n % 2), seed, counter);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniformFromBits(words[i])));
    const theta = 2 * Math.PI * (uniformFromBits(words[i + 1]) - 0.5);
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}
