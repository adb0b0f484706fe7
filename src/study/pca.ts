/**
 * Principal components of a latent code, for the latent-pca study: npm ml-pca's SVD of the
 * centred data gives the directions and their variances; the projections are computed here
 * from the returned mean and components, so they are (x - mean) . component by construction.
 * Each component's sign is fixed (its largest-magnitude entry positive): SVD leaves it
 * arbitrary, and a figure should not flip between runs or library versions.
 */

import { PCA } from "ml-pca";

export interface Pca2 {
  /** Column means (L). */
  mean: number[];
  /** The first two principal directions, unit length (2 x L). */
  components: [number[], number[]];
  /** (x - mean) . component for each row (n x 2). */
  projected: [number, number][];
  /** Variance along every principal direction over the total, descending (L; sums to 1). */
  explainedVarianceRatio: number[];
}

/**
 * PCA of `rows` to two components: an array of n rows of L numbers, or a flat row-major
 * Float32Array with `dims` = L. Needs n >= 3 rows and L >= 2 columns.
 */
export function pca2(rows: number[][]): Pca2;
export function pca2(rows: Float32Array | Float64Array, dims: number): Pca2;
export function pca2(rows: number[][] | Float32Array | Float64Array, dims?: number): Pca2 {
  const data = Array.isArray(rows) ? rows : _split(rows, dims);
  const n = data.length, L = data[0]?.length ?? 0;
  if (n < 3 || L < 2) {
    throw new RangeError(
      `Cannot compute 2 principal components of ${n} rows of ${L} numbers: ` +
        "need at least 3 rows of at least 2 numbers",
    );
  }
  const ragged = data.findIndex((r) => r.length !== L);
  if (ragged >= 0) {
    throw new RangeError(
      `Cannot compute principal components: row ${ragged} has ${
        data[ragged].length
      } numbers, row 0 has ${L}`,
    );
  }
  const bad = data.findIndex((r) => r.some((v) => !Number.isFinite(v)));
  if (bad >= 0) {
    throw new RangeError(`Cannot compute principal components: row ${bad} holds NaN or Inf`);
  }

  const mean = new Array<number>(L).fill(0);
  for (const r of data) for (let j = 0; j < L; j++) mean[j] += r[j] / n;
  const pca = new PCA(data, { center: true, scale: false });
  const U = pca.getEigenvectors(); // L x min(n - 1, L) or so; columns are the directions
  const components = [0, 1].map((c) => _signFixed(U.getColumn(c))) as [number[], number[]];
  // With fewer rows than columns the SVD has fewer than L directions: the rest hold nothing.
  const ratio = pca.getExplainedVariance();
  const explainedVarianceRatio = Array.from({ length: L }, (_, j) => ratio[j] ?? 0);
  const projected = data.map((r) =>
    components.map((c) => {
      let s = 0;
      for (let j = 0; j < L; j++) s += (r[j] - mean[j]) * c[j];
      return s;
    }) as [number, number]
  );
  return { mean, components, projected, explainedVarianceRatio };
}

/** The first k principal directions of a code and the spread of the data along each. */
export interface PrincipalAxes {
  /** Column means (L). */
  mean: number[];
  /** k unit directions (k x L), sign-fixed as in pca2. */
  components: number[][];
  /** The standard deviation of the projections on each direction (k). */
  sd: number[];
}

/** The first `k` principal directions of rows (n x L, flat) and the spread along each. */
export function principalAxes(rows: Float32Array, dims: number, k: number): PrincipalAxes {
  const data = _split(rows, dims);
  if (data.length < 3 || !Number.isInteger(k) || k < 1 || k > dims) {
    throw new RangeError(
      `Cannot find ${k} principal directions of ${data.length} rows of ${dims}: need at least ` +
        "3 rows and 1 to L directions",
    );
  }
  const mean = new Array<number>(dims).fill(0);
  for (const r of data) for (let j = 0; j < dims; j++) mean[j] += r[j] / data.length;
  const pca = new PCA(data, { center: true, scale: false });
  const U = pca.getEigenvectors(), sds = pca.getStandardDeviations();
  const have = Math.min(k, U.columns);
  return {
    mean,
    components: Array.from({ length: have }, (_, c) => _signFixed(U.getColumn(c))),
    sd: Array.from({ length: have }, (_, c) => sds[c] ?? 0),
  };
}

/** `v` or `-v`, whichever has its largest-magnitude entry positive (the first such on ties). */
function _signFixed(v: number[]): number[] {
  let k = 0;
  for (let j = 1; j < v.length; j++) if (Math.abs(v[j]) > Math.abs(v[k])) k = j;
  return v[k] < 0 ? v.map((x) => -x) : v.slice();
}

function _split(flat: Float32Array | Float64Array, dims: number | undefined): number[][] {
  if (dims === undefined || !Number.isInteger(dims) || dims < 1 || flat.length % dims !== 0) {
    throw new RangeError(
      `Cannot split ${flat.length} numbers into rows of ${dims}: need a positive integer ` +
        "row length that divides the length",
    );
  }
  return Array.from(
    { length: flat.length / dims },
    (_, i) => Array.from(flat.subarray(i * dims, (i + 1) * dims)),
  );
}
