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

// #include "lib/beta_functions.wgsl"

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
