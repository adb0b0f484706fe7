/**
 * The order in which an epoch visits the training images: a Fisher–Yates
 * shuffle driven by a small seeded generator, so the same (seed, epoch) gives
 * the same batches on every machine and a resumed run picks up the same order.
 */

import { mulberry32 } from "../random.ts";

/** A permutation of 0..n-1, determined by (seed, epoch) alone. */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`Cannot shuffle ${n} items: need an integer count in 0..2^32-1`);
  }
  const next = mulberry32(_fmix32(_fmix32(seed >>> 0) ^ (epoch >>> 0)));
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = _below(next, i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/** Uniform integer in [0, m): rejection removes the bias of `u32 % m`. */
function _below(next: () => number, m: number): number {
  const limit = 0x100000000 - (0x100000000 % m);
  let r: number;
  do r = next(); while (r >= limit);
  return r % m;
}

/** MurmurHash3's finalizer: neighbouring seeds and epochs give unrelated streams. */
function _fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
