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

@group(0) @binding(1) var<storage, read> head: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

// #include "lib/kl_forward.wgsl"

// #include "lib/beta_functions.wgsl"

// -ln Beta(y | alpha, beta) from the raw head (a, b).
fn beta_nll(a: f32, b: f32, y: f32) -> f32 {
  let alpha = shape_of(a);
  let beta = shape_of(b);
  return log_beta(alpha, beta) - (alpha - 1.0) * ln(y) - (beta - 1.0) * ln1p(-y);
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
    acc.y = latent_kl(group, lid);
    finish_image(group, lid, acc);
  } else {
    sum_images(group, lid);
  }
}
