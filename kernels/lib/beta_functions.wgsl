// The Beta likelihood's f32 special functions, shared by kernels/beta_kl_forward.wgsl,
// beta_kl_backward.wgsl, beta_output.wgsl and the test kernel beta_special.wgsl through
// `// #include "lib/beta_functions.wgsl"`. No bindings: functions and constants only.
// Shapes and data are positive normal f32 values; the accuracy on lavapipe (the bounds
// tests/special_test.ts asserts) is stated in beta_kl_forward.wgsl's header, for shapes in
// [1e-4, 1e4].

const A_MAX: f32 = 1e4; // raw heads are clamped to <= A_MAX: shapes lie in [1e-4, 1e4 + 1e-4]
const SHAPE_MIN: f32 = 1e-4;
const LIFT: f32 = 8.0; // Stirling's series is used from here up
const HALF_LN_2PI: f32 = 0.91893853320467274;

// ln(1 + f) - f for f in [sqrt(1/2) - 1, sqrt(2) - 1] (Cephes logf's polynomial, ~1 ulp).
fn ln1p_tail(f: f32) -> f32 {
  let z = f * f;
  let p = ((((((((7.0376836292e-2 * f - 1.1514610310e-1) * f + 1.1676998740e-1) * f
    - 1.2420140846e-1) * f + 1.4249322787e-1) * f - 1.6668057665e-1) * f
    + 2.0000714765e-1) * f - 2.4999993993e-1) * f + 3.3333331174e-1) * f * z;
  return p - 0.5 * z;
}

// ln x to ~1 ulp on any adapter (WGSL's log may be off by 2^-21 absolute near 1, too coarse
// for the cancellations below): x = m 2^e, m in [sqrt(1/2), sqrt(2)), ln 2 split in two.
fn ln(x: f32) -> f32 {
  if (!(x > 0.0)) {
    return -3.4e38;
  }
  var y = x;
  var e = 0;
  if (y < 1.17549435e-38) {
    y *= 16777216.0;
    e = -24;
  }
  let bits = bitcast<u32>(y);
  e += i32(bits >> 23u) - 127;
  var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
  if (m > 1.41421356) {
    m *= 0.5;
    e += 1;
  }
  let f = m - 1.0;
  let fe = f32(e);
  return (f + (ln1p_tail(f) - 2.12194440e-4 * fe)) + 0.693359375 * fe;
}

// ln(1 + x), x > -1, without rounding 1 + x where that would lose digits.
fn ln1p(x: f32) -> f32 {
  if (x > -0.29289322 && x < 0.41421356) {
    return x + ln1p_tail(x);
  }
  return ln(1.0 + x);
}

// A shape from a raw head: softplus(min(v, A_MAX)) + SHAPE_MIN, softplus without overflow.
fn shape_of(v: f32) -> f32 {
  let c = min(v, A_MAX);
  return max(c, 0.0) + ln1p(exp(-abs(c))) + SHAPE_MIN;
}

// ln Gamma(x) - ((x - 1/2) ln x - x + ln(2 pi) / 2) for x >= 8, to 7e-12 (next: x^-9 / 1188).
fn stirling_corr(x: f32) -> f32 {
  let r = 1.0 / x;
  let r2 = r * r;
  return r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 / 1680.0)));
}

// lgamma(2 + t) = (1 - gamma) t + sum_{k >= 2} (-1)^k (zeta(k) - 1) t^k / k for |t| <= 1/2,
// summed to k = 12 (the rest is below 3e-9).
fn lgamma_near2(t: f32) -> f32 {
  return t * (0.42278433509846714 + t * (0.32246703342411315 + t * (-0.0673523010531981
    + t * (0.020580808427784546 + t * (-0.007385551028673986 + t * (0.0028905103307415234
    + t * (-0.001192753911703261 + t * (0.0005096695247430425 + t * (-0.00022315475845357936
    + t * (0.00009945751278180853 + t * (-0.00004492623673813314
    + t * 0.000020507212775670694)))))))))));
}

// ln Gamma(x), x > 0. Below 8 the recurrence Gamma(x + 1) = x Gamma(x) moves x into
// [1.5, 2.5), exactly (x - j for an integer j, or x itself as t when x < 1/2), so the result is
// accurate in absolute terms near the zeros at 1 and 2; from 8 up, Stirling's series.
fn lgamma(x: f32) -> f32 {
  if (x >= LIFT) {
    return (x - 0.5) * (ln(x) - 1.0) + (HALF_LN_2PI - 0.5) + stirling_corr(x);
  }
  if (x < 0.5) {
    return lgamma_near2(x) - ln(x * (x + 1.0));
  }
  if (x < 1.5) {
    return lgamma_near2(x - 1.0) - ln(x);
  }
  var y = x;
  var q = 1.0;
  while (y >= 2.5) {
    y -= 1.0;
    q *= y;
  }
  return lgamma_near2(y - 2.0) + ln(q);
}

// ln B(a, b) without the cancellation of three large lgammas. With a <= b and c = a + b:
// both >= 8: Stirling's form, whose terms share a sign. a < 8: B(a, b) = B(a, b + 1) (a + b) / b
// lifts b to >= 8 (the factors' logs summed one by one), then lgamma(a) + lgamma(b) - lgamma(c)
// with the last two differenced term by term: (b - 1/2) ln(b / c) - a ln c + a + corrections.
fn log_beta(x: f32, y: f32) -> f32 {
  let a = min(x, y);
  var b = max(x, y);
  if (a >= LIFT) {
    let c = a + b;
    return HALF_LN_2PI + (a - 0.5) * ln(a / c) + (b - 0.5) * ln1p(-a / c) - 0.5 * ln(c)
      + (stirling_corr(a) + stirling_corr(b) - stirling_corr(c));
  }
  var lift = 0.0;
  if (b < LIFT) {
    let m = ceil(LIFT - b);
    for (var j = 0.0; j < m; j += 1.0) {
      lift += ln1p(a / (b + j));
    }
    b += m;
  }
  let c = a + b;
  return lgamma(a) + ((b - 0.5) * ln1p(-a / c) - a * ln(c) + a
    + (stirling_corr(b) - stirling_corr(c))) + lift;
}

// psi(a) - psi(a + b) to a few ulp relative, even where the two digammas nearly cancel:
// D(a, b) = D(a + 1, b) - b / (a (a + b)) lifts a to >= 8, then the asymptotic series is
// differenced term by term (u^2k - v^2k from u - v = b / (a c)). All terms but the tiny
// x^-4, x^-8 ones are negative, so nothing cancels.
fn psi_diff(a0: f32, b: f32) -> f32 {
  var acc = 0.0;
  var a = a0;
  if (a0 < LIFT) {
    let n = ceil(LIFT - a0);
    for (var k = 0.0; k < n; k += 1.0) {
      let ak = a0 + k;
      acc -= b / (ak * (ak + b));
    }
    a = a0 + n;
  }
  let c = a + b;
  let u = 1.0 / a;
  let v = 1.0 / c;
  let u2 = u * u;
  let v2 = v * v;
  let w = b / (a * c);
  let d2 = w * (u + v);
  let d4 = d2 * (u2 + v2);
  let d6 = u2 * d4 + v2 * v2 * d2;
  let d8 = u2 * d6 + v2 * v2 * v2 * d2;
  return acc - ln1p(b / a) - 0.5 * w - d2 / 12.0 + d4 / 120.0 - d6 / 252.0 + d8 / 240.0;
}
