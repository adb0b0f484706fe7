// Beta negative log-likelihood of dequantized grey levels and analytic Gaussian KL, per image
// and summed over the batch: the two terms of the negative ELBO.
// The shared contract of every <name>_kl_forward.wgsl (src/ops/likelihood_loss.ts); W = 2.
// Bindings: 0 shape (uniform), 1 head (read), 2 x (read), 3 mask (read), 4 h (read),
// 5 per_image (read_write), 6 sums (read_write).
// head is (N, D, 2) pixel-major, raw (a, b) at head[2 (n D + p)], head[2 (n D + p) + 1];
// x is (N, D), y in (0, 1) (at least 2^-33, at most 1 - 2^-24, as the gather makes it);
// mask is (D), read only when use_mask != 0; h is (N, 2L) rows [mu | logvar]; per_image is
// (N, 2) rows [recon, kl]; sums holds one (recon, kl) pair per slot, and this dispatch writes
// pair `slot`.
//   alpha = softplus(min(a, 1e4)) + 1e-4, beta likewise from b: shapes in [1e-4, 1e4 + 1e-4]
//   recon = sum_d mask_d (ln B(alpha, beta) - (alpha - 1) ln y - (beta - 1) ln(1 - y))
//   kl    = 0.5 sum_j (exp(lv_j) + mu_j^2 - 1 - lv_j)
// ln, ln1p, lgamma, ln B are our own (below); ln(1 - y) is ln1p(-y), exact for y near 1.
// Accuracy on lavapipe (tests/special_test.ts: a log grid of shapes over [1e-4, 1e4] and
// random pairs, against the f64 reference src/reference/special.ts):
//   ln B(alpha, beta): error <= 1e-6 max(1, |ln B|) (observed 7.0e-7);
//   lgamma: <= 4e-7 max(1, |lgamma|) (observed 2.0e-7); ln: one ulp.
// The per-pixel NLL adds the f32 rounding of its three terms, ~1e-7 (|ln B| + |alpha ln y| +
// |beta ln(1 - y)|): at shapes near 1e4 that is ~1e-2 absolute, inherent in f32 inputs.
// STAGE 0: one workgroup per image reduces its D pixels and L latents into per_image.
// STAGE 1: one workgroup sums per_image over the N images into sums[2 slot], sums[2 slot + 1].
// Both reductions go in a fixed order (strided partial sums, then a tree), so the same inputs
// give the same bits on every run.

override WG: u32 = 256; // a power of two: the tree halves it
override STAGE: u32 = 0u;

struct Shape {
  n: u32,
  d: u32,
  latent: u32,
  slot: u32,
  use_mask: u32,
  k: u32, // unused: the shared contract's bins constant
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> head: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read> h: array<f32>;
@group(0) @binding(5) var<storage, read_write> per_image: array<f32>;
@group(0) @binding(6) var<storage, read_write> sums: array<f32>;

var<workgroup> part: array<vec2f, WG>;

// Shared with the other kernels/beta_*.wgsl (WGSL has no includes): every const and fn
// below that appears in more than one of them is the same text in each, as
// tests/special_test.ts checks. Shapes and data are positive normal f32 values.
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

// -ln Beta(y | alpha, beta) from the raw head (a, b).
fn beta_nll(a: f32, b: f32, y: f32) -> f32 {
  let alpha = shape_of(a);
  let beta = shape_of(b);
  return log_beta(alpha, beta) - (alpha - 1.0) * ln(y) - (beta - 1.0) * ln1p(-y);
}

// part[0] = the sum of part[0 .. WG) after the call. Called in uniform control flow.
fn reduce(lid: u32, value: vec2f) -> vec2f {
  part[lid] = value;
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) {
      part[lid] += part[lid + stride];
    }
  }
  workgroupBarrier();
  return part[0];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // The flat workgroup index and shape are uniform, so the early return keeps the barriers in
  // uniform control flow.
  let group = wid.x + wid.y * nwg.x;
  if (STAGE == 0u) {
    if (group >= shape.n) {
      return;
    }
    var acc = vec2f(0.0);
    let row = group * shape.d;
    for (var k = lid; k < shape.d; k += WG) {
      let i = row + k;
      var nll = beta_nll(head[2u * i], head[2u * i + 1u], x[i]);
      if (shape.use_mask != 0u) {
        nll *= mask[k];
      }
      acc.x += nll;
    }
    let hrow = group * 2u * shape.latent;
    for (var j = lid; j < shape.latent; j += WG) {
      let mu = h[hrow + j];
      let lv = h[hrow + shape.latent + j];
      acc.y += exp(lv) + mu * mu - 1.0 - lv;
    }
    let total = reduce(lid, acc);
    if (lid == 0u) {
      per_image[2u * group] = total.x;
      per_image[2u * group + 1u] = 0.5 * total.y;
    }
  } else {
    if (group != 0u) {
      return;
    }
    var acc = vec2f(0.0);
    for (var r = lid; r < shape.n; r += WG) {
      acc += vec2f(per_image[2u * r], per_image[2u * r + 1u]);
    }
    let total = reduce(lid, acc);
    if (lid == 0u) {
      sums[2u * shape.slot] = total.x;
      sums[2u * shape.slot + 1u] = total.y;
    }
  }
}
