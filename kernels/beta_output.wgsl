// The Beta likelihood's image from its raw head: MODE 0 the mean alpha / (alpha + beta),
// MODE 1 a draw x = G1 / (G1 + G2), G1 ~ Gamma(alpha), G2 ~ Gamma(beta).
// The shared contract of every <name>_output.wgsl (src/ops/likelihood_output.ts); W = 2,
// 2 T normals and 2 T + 2 uniforms per pixel (T = 8 trials per Gamma draw).
// Bindings: 0 shape (uniform), 1 head (N, D, 2) (read), 2 normals (N, D, 2T) (read),
// 3 uniforms (N, D, 2T + 2) (read), 4 out (N, D) (write); MODE 0 does not read 2 and 3.
// Per pixel, normals [0, T) and uniforms [0, T) are G1's trials, normals and uniforms
// [T, 2T) G2's; uniforms 2T and 2T + 1 are G1's and G2's boost uniforms.
// alpha = softplus(min(a, 1e4)) + 1e-4, beta likewise (shapes in [1e-4, 1e4 + 1e-4]).
// Gamma(k) by Marsaglia and Tsang (2000): d = s - 1/3, c = 1 / sqrt(9 d), s = k (k >= 1) or
// k + 1 with the boost Gamma(k) = Gamma(k + 1) U^(1/k) (k < 1); trial t takes the normal z,
// w = c z, and accepts if w > -1 and ln u < 0.5 z^2 + d - d v + d ln v with v = (1 + w)^3,
// which is 3 d (ln(1 + w) - w + w^2/2 - w^3/3) when 9 d c^2 = 1: evaluated in that form (a
// series for |w| < 0.1), since the plain one cancels to ~1e-3 in f32 at shapes near 1e4.
// Everything is done in logs, ln G = ln d + 3 ln(1 + w) (+ ln(U) / k), and
// x = 1 / (1 + exp(ln G2 - ln G1)), so tiny shapes give 0 or 1 instead of 0 / 0.
// A trial rejects with probability at most 0.0483 (at s = 1), so one of a pixel's two Gammas
// runs out of its T trials with probability below 6e-11; such a pixel gets the mean.
// One invocation computes one pixel.

override WG: u32 = 256;
override MODE: u32 = 0u;

const T: u32 = 8u;

struct Shape {
  n: u32,
  d: u32,
  k: u32, // unused
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> head: array<f32>;
@group(0) @binding(2) var<storage, read> normals: array<f32>;
@group(0) @binding(3) var<storage, read> uniforms: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// Shared with the other kernels/beta_*.wgsl (WGSL has no includes): every const and fn
// below that appears in more than one of them is the same text in each, as
// tests/special_test.ts checks. Shapes and data are positive normal f32 values.
const A_MAX: f32 = 1e4; // raw heads are clamped to <= A_MAX: shapes lie in [1e-4, 1e4 + 1e-4]
const SHAPE_MIN: f32 = 1e-4;

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

// ln(1 + w) - w + w^2/2 - w^3/3, w > -1: the series -w^4/4 + w^5/5 - ... to w^11 for
// |w| < 0.1 (the rest is below 4e-9 of it), the plain form elsewhere.
fn mt_tail(w: f32) -> f32 {
  if (abs(w) < 0.1) {
    let w2 = w * w;
    return w2 * w2 * (-0.25 + w * (0.2 + w * (-1.0 / 6.0 + w * (1.0 / 7.0 + w * (-0.125
      + w * (1.0 / 9.0 + w * (-0.1 + w / 11.0)))))));
  }
  return ln1p(w) - w * (1.0 - w * (0.5 - w / 3.0));
}

// (ln G, 1) for G ~ Gamma(k) from trials nb + t, ub + t (t < T) and the boost uniform, or
// (0, 0) if all T trials reject.
fn log_gamma_draw(k: f32, nb: u32, ub: u32, boost: f32) -> vec2f {
  let s = select(k, k + 1.0, k < 1.0);
  let d = s - 1.0 / 3.0;
  let c = 1.0 / sqrt(9.0 * d);
  for (var t = 0u; t < T; t++) {
    let w = c * normals[nb + t];
    if (w > -1.0 && ln(uniforms[ub + t]) < 3.0 * d * mt_tail(w)) {
      var lg = ln(d) + 3.0 * ln1p(w);
      if (k < 1.0) {
        lg += ln(boost) / k;
      }
      return vec2f(lg, 1.0);
    }
  }
  return vec2f(0.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n * shape.d) {
    return;
  }
  let alpha = shape_of(head[2u * i]);
  let beta = shape_of(head[2u * i + 1u]);
  let mean = alpha / (alpha + beta);
  if (MODE == 0u) {
    out[i] = mean;
    return;
  }
  let nb = 2u * T * i;
  let ub = (2u * T + 2u) * i;
  let g1 = log_gamma_draw(alpha, nb, ub, uniforms[ub + 2u * T]);
  let g2 = log_gamma_draw(beta, nb + T, ub + T, uniforms[ub + 2u * T + 1u]);
  if (g1.y == 0.0 || g2.y == 0.0) {
    out[i] = mean;
    return;
  }
  // 1 / (1 + e^t) split by the sign of t, so exp never overflows.
  let t = g2.x - g1.x;
  if (t > 0.0) {
    let e = exp(-t);
    out[i] = e / (1.0 + e);
  } else {
    out[i] = 1.0 / (1.0 + exp(t));
  }
}
