/**
 * The one small seeded generator (mulberry32) for everything that is not a
 * GPU sample: parameter initialisation, epoch shuffles, picking test images,
 * test inputs. Samples of the models come from the GPU's Philox (src/ops/rng.ts).
 */

/** mulberry32: 32 bits of state; each call returns a u32. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Seeded uniform [0, 1) draws from mulberry32. */
export function seededRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

/** n seeded standard normal draws (Box-Muller over mulberry32), e.g. initial values. */
export function seededNormals(seed: number, n: number): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())), a = 2 * Math.PI * rand();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}
