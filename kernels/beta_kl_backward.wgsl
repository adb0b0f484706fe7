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

@group(0) @binding(1) var<storage, read> head: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read_write> dhead: array<f32>;

// #include "lib/kl_backward.wgsl"

// #include "lib/beta_functions.wgsl"

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
    dh[i] = latent_grad(i);
  }
}
