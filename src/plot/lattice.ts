/** Coordinates for decoded lattices over a 2-D latent space, and their axes in PNG figures. */

import { scaleLinear as d3ScaleLinear } from "d3-scale";
import { annotate, type Annotated, cellCentres, type Tick } from "./label.ts";
import type { GrayImage } from "./png.ts";

/** Round tick values over [lo, hi], from d3-scale (whose npm package ships no types). */
const niceTicks = (lo: number, hi: number, count: number): number[] =>
  (d3ScaleLinear() as { domain(d: number[]): { ticks(c: number): number[] } })
    .domain([lo, hi]).ticks(count);

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation,
 * relative error < 1.2e-9), so an evenly spaced grid on the unit square maps
 * to a grid that covers the prior's mass evenly, as in Kingma & Welling's figure.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * z (n * n, 2) for an n x n lattice, row-major with z2 decreasing down the
 * rows (so "up" in the image is up in latent space) and z1 increasing across.
 * `quantile` maps the evenly spaced points (i + 0.5) / n; linear spacing over
 * [-range, range] when it is null.
 */
export function latticePoints(
  n: number,
  opts: { quantile: boolean; range?: number },
): Float32Array {
  const coord = (i: number) =>
    opts.quantile
      ? normalQuantile((i + 0.5) / n)
      : -(opts.range ?? 3) + (2 * (opts.range ?? 3) * i) / (n - 1);
  const z = new Float32Array(n * n * 2);
  for (let r = 0; r < n; r++) {
    for (let col = 0; col < n; col++) {
      z[(r * n + col) * 2] = coord(col);
      z[(r * n + col) * 2 + 1] = coord(n - 1 - r);
    }
  }
  return z;
}

/**
 * Ticks at round values (d3-scale's, about `count` of them) along one axis of a lattice whose
 * cells, at pixel centres `centres`, decode the increasing coordinates `coords`. A value's
 * pixel is interpolated linearly between the two cells around it (extrapolated half a cell
 * past the end cells, the image's edge), so on a quantile lattice the ticks are spaced unevenly,
 * as its z are.
 */
export function axisTicks(coords: number[], centres: number[], count = 5): Tick[] {
  const n = coords.length;
  if (n < 2 || centres.length !== n) {
    throw new RangeError(
      `Cannot place axis ticks: ${n} coordinates for ${centres.length} cells (need 2 or more)`,
    );
  }
  // Index space: cell i at i, the image's edges at -0.5 and n - 0.5.
  const at = (i: number) => {
    const j = Math.min(n - 2, Math.max(0, Math.floor(i)));
    return coords[j] + (i - j) * (coords[j + 1] - coords[j]);
  };
  const index = (v: number) => {
    let j = 0;
    while (j < n - 2 && coords[j + 1] < v) j++;
    return j + (v - coords[j]) / (coords[j + 1] - coords[j]);
  };
  const px = (i: number) => centres[0] + i * (centres[1] - centres[0]);
  return niceTicks(at(-0.5), at(n - 0.5), count).map((v) => ({
    at: px(index(v)),
    text: String(Number(v.toFixed(6))),
  }));
}

/**
 * An n x n lattice image (cells `cell` pixels with `pad` between, row-major with z1
 * increasing across and z2 decreasing down the rows, as latticePoints and presetGrid lay
 * them out) with tick marks and values: z1 along the bottom, z2 up the left. `coords` are the
 * n lattice coordinates in increasing order, the same on both axes.
 */
export function latticeAxes(
  grid: GrayImage,
  coords: number[],
  opts: { cell: number; pad?: number; scale?: number; names?: [string, string] },
): Annotated {
  const n = coords.length, pad = opts.pad ?? 0;
  const centres = cellCentres(n, opts.cell, pad);
  if (centres[n - 1] + opts.cell / 2 !== grid.width || grid.width !== grid.height) {
    throw new RangeError(
      `Cannot draw lattice axes: ${n} cells of ${opts.cell} px (pad ${pad}) do not make the ` +
        `${grid.width} x ${grid.height} image`,
    );
  }
  const [x, y] = opts.names ?? ["z1", "z2"];
  return annotate(grid, {
    bottom: axisTicks(coords, centres),
    bottomTitle: x,
    left: axisTicks(coords, [...centres].reverse()),
    leftTitle: y,
    marks: true,
    // Larger text past about 1200 px, a lattice that pages show shrunk.
    scale: opts.scale ?? Math.max(2, Math.round(grid.width / 480)),
  });
}

/** The n lattice coordinates of latticePoints along either axis, in increasing order. */
export function latticeCoords(n: number, opts: { quantile: boolean; range?: number }): number[] {
  const z = latticePoints(n, opts);
  return Array.from({ length: n }, (_, i) => z[2 * i]);
}
