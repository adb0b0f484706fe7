// Gaussian negative log-likelihood of dequantized grey levels and analytic Gaussian KL, per
// image and summed over the batch: the two terms of the negative ELBO.
// The shared contract of every <name>_kl_forward.wgsl (src/ops/likelihood_loss.ts); W = 2.
// Bindings: 0 shape (uniform), 1 head (read), 2 x (read), 3 mask (read), 4 h (read),
// 5 per_image (read_write), 6 sums (read_write).
// head is (N, D, 2) pixel-major, head[2 (n D + p)] = mean m, head[2 (n D + p) + 1] =
// log-variance s; x is (N, D), y in (0, 1); mask is (D) of 0/1 weights, read only when
// use_mask != 0; h is (N, 2L), rows [mu_0 .. mu_{L-1}, logvar_0 .. logvar_{L-1}]; per_image is
// (N, 2) rows [recon, kl]; sums holds one (recon, kl) pair per slot, this dispatch writes `slot`.
//   recon = sum_d mask_d (log(2 pi) + s + r^2) / 2, r = (y - m) e^{-s/2} = -log N(y | m, e^s)
//   kl    = 0.5 sum_j (exp(lv_j) + mu_j^2 - 1 - lv_j)                  = KL(N(mu, e^lv) || N(0, I))
// r is formed as (y - m) e^{-s/2}, the form of the f64 reference; r^2 stays finite while
// |y - m| e^{-s/2} < 1.8e19 (s > -88 at |y - m| = 1). No bound on s: see gaussian.ts.
// STAGE 0: one workgroup per image reduces its D pixels and L latents into per_image.
// STAGE 1: one workgroup sums per_image over the N images into sums[2 slot], sums[2 slot + 1].
// Both reductions go in a fixed order (strided partial sums, then a tree), so the same inputs
// give the same bits on every run. The op runs STAGE 0 then STAGE 1 in one pass.

const LOG_2PI: f32 = 1.8378770664093453;

@group(0) @binding(1) var<storage, read> head: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

// #include "lib/kl_forward.wgsl"

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
      let m = head[2u * (row + p)];
      let s = head[2u * (row + p) + 1u];
      let r = (x[row + p] - m) * exp(-0.5 * s);
      var nll = 0.5 * (LOG_2PI + s + r * r);
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
