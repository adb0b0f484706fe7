// Gradient of scale * w_n * (Beta NLL + kl_weight * Gaussian KL) (beta_kl_forward.wgsl) with
// respect to the raw head and the encoder head; scale is 1 / N for the batch-mean loss.
// The shared contract of every <name>_kl_backward.wgsl (src/ops/likelihood_loss.ts); W = 2.
// Bindings: 0 shape (uniform), 1 head (read), 2 x (read), 3 mask (read), 4 weights (read),
// 5 h (read), 6 dhead (write), 7 dh (write).
// head and dhead are (N, D, 2) pixel-major (raw a, b per pixel); x is (N, D), y in (0, 1);
// mask is (D), read only when use_mask != 0; weights is (N), read only when use_weights != 0;
// h and dh are (N, 2L), rows [mu, logvar].
//   alpha = softplus(min(a, 1e4)) + 1e-4, so d alpha / d a = sigmoid(a) for a < 1e4, else 0
//   dhead = scale w_n mask [a < 1e4] sigmoid(a) (psi(alpha) - psi(alpha + beta) - ln y), and
//           [b < 1e4] sigmoid(b) (psi(beta) - psi(alpha + beta) - ln(1 - y))
//   dh    = scale w_n kl_weight [mu, (exp(logvar) - 1) / 2]   (overwritten: the
//           reparameterization's backward adds its part afterwards)
//   With free_bits = lambda > 0 (free bits, Kingma et al. 2016), the KL term is
//   sum_j max(lambda, mean over the batch of KL_j): dh of latent dimension j is 0 where
//   that batch mean is at most lambda.
// psi(alpha) - psi(alpha + beta) is psi_diff below, to 5e-7 relative (observed 3.8e-7) for
// shapes in [1e-4, 1e4] (tests/special_test.ts). sigmoid(a) psi_diff stays finite as
// a -> -inf: it tends to -(alpha - 1e-4) / alpha, at most 1 in size.
// One invocation computes both dhead numbers of pixel i for i < N D and dh[i] for i < 2 N L.

override WG: u32 = 256;

struct Shape {
  n: u32,
  d: u32,
  latent: u32,
  use_mask: u32,
  use_weights: u32,
  k: u32, // unused
  scale: f32,
  kl_weight: f32,
  free_bits: f32, // 0: off
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> head: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;
@group(0) @binding(5) var<storage, read> h: array<f32>;
@group(0) @binding(6) var<storage, read_write> dhead: array<f32>;
@group(0) @binding(7) var<storage, read_write> dh: array<f32>;

// Shared with the other kernels/beta_*.wgsl (WGSL has no includes): every const and fn
// below that appears in more than one of them is the same text in each, as
// tests/special_test.ts checks. Shapes and data are positive normal f32 values.
const A_MAX: f32 = 1e4; // raw heads are clamped to <= A_MAX: shapes lie in [1e-4, 1e4 + 1e-4]
const SHAPE_MIN: f32 = 1e-4;
const LIFT: f32 = 8.0; // Stirling's series is used from here up

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

// d shape_of(v) / dv: sigmoid below the clamp, split by sign so exp never overflows.
fn dshape(v: f32) -> f32 {
  if (v >= A_MAX) {
    return 0.0;
  }
  if (v >= 0.0) {
    return 1.0 / (1.0 + exp(-v));
  }
  let e = exp(v);
  return e / (1.0 + e);
}

fn image_scale(n: u32) -> f32 {
  if (shape.use_weights != 0u) {
    return shape.scale * weights[n];
  }
  return shape.scale;
}

// Free bits: 1 where the batch's mean KL of latent dimension j exceeds free_bits (or free bits
// are off), else 0. Each invocation walks the batch's N rows itself: N L numbers, no barrier.
fn kl_gate(j: u32) -> f32 {
  if (shape.free_bits <= 0.0) {
    return 1.0;
  }
  let row = 2u * shape.latent;
  var total = 0.0;
  for (var n = 0u; n < shape.n; n++) {
    let mu = h[n * row + j];
    let lv = h[n * row + shape.latent + j];
    total += 0.5 * (mu * mu + exp(lv) - 1.0 - lv);
  }
  return select(0.0, 1.0, total > shape.free_bits * f32(shape.n));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let pixels = shape.n * shape.d;
  let heads = shape.n * 2u * shape.latent;
  if (i >= max(pixels, heads)) {
    return;
  }
  if (i < pixels) {
    let a = head[2u * i];
    let b = head[2u * i + 1u];
    let y = x[i];
    let alpha = shape_of(a);
    let beta = shape_of(b);
    var s = image_scale(i / shape.d);
    if (shape.use_mask != 0u) {
      s *= mask[i % shape.d];
    }
    dhead[2u * i] = s * dshape(a) * (psi_diff(alpha, beta) - ln(y));
    dhead[2u * i + 1u] = s * dshape(b) * (psi_diff(beta, alpha) - ln1p(-y));
  }
  if (i < heads) {
    let v = h[i];
    let is_mu = i % (2u * shape.latent) < shape.latent;
    let s = image_scale(i / (2u * shape.latent)) * shape.kl_weight * kl_gate(i % shape.latent);
    dh[i] = s * select(0.5 * (exp(v) - 1.0), v, is_mu);
  }
}
