// Categorical negative log-likelihood of binned grey levels and analytic Gaussian KL, per image
// and summed over the batch: the two terms of the negative ELBO.
// The shared contract of every <name>_kl_forward.wgsl (src/ops/likelihood_loss.ts); W = k.
// Bindings: 0 shape (uniform), 1 logits (read), 2 x (read), 3 mask (read), 4 h (read),
// 5 per_image (read_write), 6 sums (read_write).
// logits is (N, D, k) pixel-major, logits[(n D + p) k + w]; x is (N, D), the bin centre
// (j + 0.5) / k of the pixel's bin j; mask is (D) of 0/1 weights, read only when use_mask != 0;
// h is (N, 2L), rows [mu_0 .. mu_{L-1}, logvar_0 .. logvar_{L-1}]; per_image is (N, 2) rows
// [recon, kl]; sums holds one (recon, kl) pair per slot, and this dispatch writes pair `slot`.
//   recon = sum_d mask_d (logsumexp(l) - l_j)               = -log softmax(l)_j
//   kl    = 0.5 sum_j (exp(lv_j) + mu_j^2 - 1 - lv_j)       = KL(N(mu, e^lv) || N(0, I))
// The log-softmax subtracts the pixel's largest logit first (no overflow for any logits), and
// where l_j is that largest logit it is log1p(the other bins' mass), accurate when that is small.
// j = min(u32(x k), k - 1) is exact: x * k stays within 2^-13 of j + 0.5 (binOf in
// src/likelihood/categorical.ts).
// STAGE 0: one workgroup per image reduces its D pixels and L latents into per_image.
// STAGE 1: one workgroup sums per_image over the N images into sums[2 slot], sums[2 slot + 1].
// Both reductions go in a fixed order (strided partial sums, then a tree), so the same inputs
// give the same bits on every run. The op runs STAGE 0 then STAGE 1 in one pass.

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

// #include "lib/kl_forward.wgsl"

// log(1 + e) for e >= 0, relative to e. Goldberg's log(u) e / (u - 1), u = 1 + e, does not
// survive here: lavapipe's compiler folds (1 + e) - 1 to e and returns log(u), off by up to
// half an ulp of 1 (4e-4 relative at e = 4.5e-5, measured). So for e <= 1 use
// log(1 + e) = 2 atanh(z), z = e / (2 + e) <= 1/3, by its odd series to z^15 (truncation
// < z^16 / 17 < 2e-9 relative); above 1, 1 + e >= 2, where log is accurate to a few ulps.
fn log1p(e: f32) -> f32 {
  if (e > 1.0) {
    return log(1.0 + e);
  }
  let z = e / (2.0 + e);
  let z2 = z * z;
  var s = 1.0 / 15.0;
  s = 1.0 / 13.0 + z2 * s;
  s = 1.0 / 11.0 + z2 * s;
  s = 1.0 / 9.0 + z2 * s;
  s = 1.0 / 7.0 + z2 * s;
  s = 1.0 / 5.0 + z2 * s;
  s = 1.0 / 3.0 + z2 * s;
  return 2.0 * z * (1.0 + z2 * s);
}

// -log softmax(logits[base .. base + k))_j.
fn pixel_nll(base: u32, j: u32) -> f32 {
  var top = logits[base];
  for (var w = 1u; w < shape.k; w++) {
    top = max(top, logits[base + w]);
  }
  var others = 0.0;
  for (var w = 0u; w < shape.k; w++) {
    if (w != j) {
      others += exp(logits[base + w] - top);
    }
  }
  let lj = logits[base + j] - top;
  if (lj == 0.0) {
    return log1p(others);
  }
  return log(others + exp(lj)) - lj;
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
    for (var p = lid; p < shape.d; p += WG) {
      let j = min(u32(x[row + p] * f32(shape.k)), shape.k - 1u);
      var nll = pixel_nll((row + p) * shape.k, j);
      if (shape.use_mask != 0u) {
        nll *= mask[p];
      }
      acc.x += nll;
    }
    acc.y = latent_kl(group, lid);
    finish_image(group, lid, acc);
  } else {
    sum_images(group, lid);
  }
}
