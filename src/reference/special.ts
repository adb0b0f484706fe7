/**
 * f64 special functions for the Beta likelihood's reference (src/likelihood/beta.ts), for
 * positive arguments only: ln Gamma, digamma, ln B(a, b) and psi(a) - psi(a + b).
 * Each lifts small arguments by the recurrences Gamma(x + 1) = x Gamma(x),
 * psi(x + 1) = psi(x) + 1/x until x >= 10 and then sums Stirling's series to the x^-15 term
 * (truncation below 2e-18 at x = 10). ln B and the digamma difference avoid the cancellation
 * of lgamma(a) + lgamma(b) - lgamma(a + b) and psi(a) - psi(a + b) at large arguments by
 * combining the series term by term, as the f32 kernels (kernels/beta_*.wgsl) do.
 * Accuracy (tests/special_test.ts, against closed forms, factorials, the recurrences,
 * reflection and duplication): ~1e-14 relative, or absolute near the zeros of lgamma and digamma.
 */

const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);
const LIFT = 10;
/** B_2k / (2k (2k - 1)), k = 1..8: ln Gamma(x) - Stirling = sum_k STIRLING[k] x^(1 - 2k). */
const STIRLING = [
  1 / 12,
  -1 / 360,
  1 / 1260,
  -1 / 1680,
  1 / 1188,
  -691 / 360360,
  1 / 156,
  -3617 / 122400,
];
/** B_2k / (2k), k = 1..8: psi(x) = ln x - 1/(2x) - sum_k DIGAMMA[k] x^(-2k). */
const DIGAMMA = [1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12, -3617 / 8160];

function _checkPositive(what: string, ...xs: number[]): void {
  for (const x of xs) {
    if (!(x > 0) || !Number.isFinite(x)) {
      throw new RangeError(`Cannot evaluate ${what}: arguments must be finite and > 0, got ${x}`);
    }
  }
}

/** Stirling's correction ln Gamma(x) - ((x - 1/2) ln x - x + ln(2 pi) / 2), for x >= 10. */
function _stirlingCorrection(x: number): number {
  const r = 1 / x, r2 = r * r;
  let s = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) s = s * r2 + STIRLING[k];
  return s * r;
}

/** ln Gamma(x), x > 0. */
export function lgamma(x: number): number {
  _checkPositive("lgamma", x);
  let p = 1;
  for (; x < LIFT; x += 1) p *= x;
  return (x - 0.5) * Math.log(x) - x + HALF_LN_2PI + _stirlingCorrection(x) - Math.log(p);
}

/** psi(x) = d ln Gamma(x) / dx, x > 0. */
export function digamma(x: number): number {
  _checkPositive("digamma", x);
  let acc = 0;
  for (; x < LIFT; x += 1) acc -= 1 / x;
  const r2 = 1 / (x * x);
  let s = 0;
  for (let k = DIGAMMA.length - 1; k >= 0; k--) s = s * r2 + DIGAMMA[k];
  return acc + Math.log(x) - 0.5 / x - s * r2;
}

/**
 * ln B(a, b) = ln Gamma(a) + ln Gamma(b) - ln Gamma(a + b), a, b > 0. Lifts the smaller
 * arguments by B(a, b) = B(a + 1, b) (a + b) / a (and likewise in b), then uses Stirling's form
 * ln(2 pi) / 2 + (a - 1/2) ln(a / c) + (b - 1/2) ln(b / c) - ln(c) / 2
 * + corr(a) + corr(b) - corr(c), c = a + b, whose terms share a sign (no cancellation).
 */
export function logBeta(a: number, b: number): number {
  _checkPositive("logBeta", a, b);
  let p = 1;
  for (; a < LIFT; a += 1) p *= (a + b) / a;
  for (; b < LIFT; b += 1) p *= (a + b) / b;
  const c = a + b;
  const la = a <= b ? Math.log(a / c) : Math.log1p(-b / c);
  const lb = b <= a ? Math.log(b / c) : Math.log1p(-a / c);
  return HALF_LN_2PI + (a - 0.5) * la + (b - 0.5) * lb - 0.5 * Math.log(c) +
    (_stirlingCorrection(a) + _stirlingCorrection(b) - _stirlingCorrection(c)) + Math.log(p);
}

/**
 * psi(a) - psi(a + b), a, b > 0, to full relative accuracy even when b << a (where the two
 * digammas nearly cancel): D(a, b) = D(a + 1, b) - b / (a (a + b)) lifts a, then the series
 * is differenced term by term, u^2k - v^2k with u = 1/a, v = 1/c computed from
 * u - v = b / (a c). Every term is negative except the tiny x^-4k ones.
 */
export function digammaDiff(a: number, b: number): number {
  _checkPositive("digammaDiff", a, b);
  let acc = 0;
  for (; a < LIFT; a += 1) acc -= b / (a * (a + b));
  const c = a + b, u2 = 1 / (a * a), v2 = 1 / (c * c);
  const w = b / (a * c);
  // diff = u^2k - v^2k, from u^2k - v^2k = u^2 (u^(2k-2) - v^(2k-2)) + v^(2k-2) (u^2 - v^2).
  const d2 = w * (1 / a + 1 / c);
  let diff = d2, vPow = 1, s = 0;
  for (let k = 0; k < DIGAMMA.length; k++) {
    if (k > 0) {
      vPow *= v2;
      diff = u2 * diff + vPow * d2;
    }
    s += DIGAMMA[k] * diff;
  }
  return acc - Math.log1p(b / a) - 0.5 * w - s;
}
