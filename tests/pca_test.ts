import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert";
import { pca2 } from "../src/study/pca.ts";
import { assertClose, normal, rng } from "./helpers.ts";

const EIGENVALUES = [9, 4, 1, 0.25, 0.04];
const MEAN = [3, -2, 0.5, 7, -1];
const D = EIGENVALUES.length;

/** A seeded D x D rotation: Gram-Schmidt on Gaussian columns. Column k is eigenvector k. */
function rotation(seed: number): number[][] {
  const g = normal(rng(seed), D * D);
  const cols: number[][] = [];
  for (let k = 0; k < D; k++) {
    const v = Array.from(g.subarray(k * D, (k + 1) * D));
    for (const q of cols) {
      const d = dot(v, q);
      for (let j = 0; j < D; j++) v[j] -= d * q[j];
    }
    const len = Math.sqrt(dot(v, v));
    cols.push(v.map((x) => x / len));
  }
  return cols;
}

/** n draws of MEAN + Q diag(sqrt(EIGENVALUES)) g with g ~ N(0, I). */
function samples(q: number[][], n: number, seed: number): number[][] {
  const g = normal(rng(seed), n * D);
  return Array.from({ length: n }, (_, i) => {
    const x = MEAN.slice();
    for (let k = 0; k < D; k++) {
      const a = Math.sqrt(EIGENVALUES[k]) * g[i * D + k];
      for (let j = 0; j < D; j++) x[j] += a * q[k][j];
    }
    return x;
  });
}

/** Throws unless |actual - expected| <= tol. */
function assertNear(actual: number, expected: number, tol: number, what: string): void {
  assert(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, want ${expected} +- ${tol}`);
}

function dot(a: number[], b: number[]): number {
  return a.reduce((s, v, j) => s + v * b[j], 0);
}

Deno.test("pca2 recovers the eigenvectors, variance ratios and mean of a known covariance", () => {
  const q = rotation(7), rows = samples(q, 4000, 8);
  const r = pca2(rows);
  const total = EIGENVALUES.reduce((s, v) => s + v, 0);
  for (let c = 0; c < 2; c++) {
    const comp = r.components[c];
    assertNear(dot(comp, comp), 1, 1e-9, `|component ${c}|^2`);
    // Up to sign: the sign convention picks one, the known rotation may hold the other.
    const s = Math.sign(dot(comp, q[c]));
    assertClose(`component ${c}`, comp, q[c].map((v) => s * v), { atol: 0.05, rtol: 0 });
  }
  assertNear(dot(r.components[0], r.components[1]), 0, 1e-9, "component 0 . component 1");
  assertEquals(r.explainedVarianceRatio.length, D);
  assertNear(r.explainedVarianceRatio.reduce((s, v) => s + v, 0), 1, 1e-9, "sum of ratios");
  const want = EIGENVALUES.map((v) => v / total);
  assertClose("explained variance ratio", r.explainedVarianceRatio, want, { atol: 0.02, rtol: 0 });
  // The sample mean exactly, and the true mean within its sampling error (sd 3 / sqrt(4000)).
  const sampleMean = MEAN.map((_, j) => rows.reduce((s, x) => s + x[j], 0) / rows.length);
  assertClose("mean = sample mean", r.mean, sampleMean, { atol: 1e-9, rtol: 1e-12 });
  assertClose("mean", r.mean, MEAN, { atol: 0.2, rtol: 0 });
});

Deno.test("pca2 projections are (x - mean) . component and centred, with the first variance largest", () => {
  const rows = samples(rotation(3), 4000, 4);
  const r = pca2(rows);
  assertEquals(r.projected.length, rows.length);
  for (const i of [0, 1, 999, 3999]) {
    const x = rows[i].map((v, j) => v - r.mean[j]);
    assertClose(`row ${i}`, r.projected[i], [dot(x, r.components[0]), dot(x, r.components[1])], {
      atol: 1e-9,
      rtol: 1e-9,
    });
  }
  // The mean projects to the origin: the projections average to ~0.
  for (let c = 0; c < 2; c++) {
    const m = r.projected.reduce((s, p) => s + p[c], 0) / rows.length;
    assertNear(m, 0, 1e-9, `mean of projection ${c}`);
  }
  const variance = (c: number) =>
    r.projected.reduce((s, p) => s + p[c] ** 2, 0) / (rows.length - 1);
  assertNear(variance(0), 9, 0.6, "variance along component 0");
  assertNear(variance(1), 4, 0.3, "variance along component 1");
});

Deno.test("pca2 makes each component's largest entry positive and reads flat Float32Arrays alike", () => {
  const rows = samples(rotation(11), 500, 12);
  const r = pca2(rows);
  for (const c of r.components) {
    const big = c.reduce((k, v, j) => (Math.abs(v) > Math.abs(c[k]) ? j : k), 0);
    assert(c[big] > 0, `largest entry ${c[big]} of ${c} is positive`);
  }
  // Negating the data flips every direction; the convention flips them back.
  const neg = pca2(rows.map((x) => x.map((v) => -v)));
  for (let c = 0; c < 2; c++) {
    assertClose(`negated data, component ${c}`, neg.components[c], r.components[c], {
      atol: 1e-9,
      rtol: 1e-9,
    });
  }
  const flat = pca2(Float32Array.from(rows.flat()), D);
  for (let c = 0; c < 2; c++) {
    assertClose(`flat, component ${c}`, flat.components[c], r.components[c], {
      atol: 1e-5,
      rtol: 1e-5,
    });
  }
});

Deno.test("pca2 rejects too few rows, ragged rows, NaN and a length that dims does not divide", () => {
  throws(() => pca2([[1, 2], [3, 4]]), /need at least 3 rows/);
  throws(() => pca2([[1], [2], [3]]), /at least 2 numbers/);
  throws(() => pca2([[1, 2], [3, 4], [5]]), /row 2 has 1 numbers/);
  throws(() => pca2([[1, 2], [3, NaN], [5, 6]]), /row 1 holds NaN/);
  throws(() => pca2(new Float32Array(7), 2), /Cannot split 7 numbers/);
});
