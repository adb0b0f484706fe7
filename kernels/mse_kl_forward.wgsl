// Squared error of a ReLU output against the data, and the analytic Gaussian KL, per image and
// summed over the batch: the two terms of the blog preset's loss (MSE + beta KL; the mean over
// pixels and the weights are applied by the caller, src/likelihood/mse.ts). Not a likelihood:
// -log of a Gaussian of fixed variance up to its constant and scale, so not a negative ELBO.
// The shared contract of every <name>_kl_forward.wgsl (src/ops/likelihood_loss.ts); W = 1.
// Bindings: 0 shape (uniform), 1 logits (read), 2 x (read), 3 mask (read), 4 h (read),
// 5 per_image (read_write), 6 sums (read_write).
// logits (the decoder's last layer before its ReLU) and x are (N, D), x the grey levels;
// mask is (D) of 0/1 weights, read only when use_mask != 0; h is (N, 2L), rows
// [mu_0 .. mu_{L-1}, logvar_0 .. logvar_{L-1}]; per_image is (N, 2) rows [recon, kl]; sums
// holds one (recon, kl) pair per slot, and this dispatch writes pair `slot`.
//   recon = sum_d mask_d (x - max(l, 0))^2
//   kl    = 0.5 sum_j (exp(lv_j) + mu_j^2 - 1 - lv_j)           = KL(N(mu, e^lv) || N(0, I))
// STAGE 0: one workgroup per image reduces its D pixels and L latents into per_image.
// STAGE 1: one workgroup sums per_image over the N images into sums[2 slot], sums[2 slot + 1].
// Both reductions go in a fixed order (strided partial sums, then a tree), so the same inputs
// give the same bits on every run; float atomics would not. The op runs STAGE 0 then STAGE 1
// in one pass, which orders them.

@group(0) @binding(1) var<storage, read> logits: array<f32>;
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
    for (var k = lid; k < shape.d; k += WG) {
      let l = logits[row + k];
      let e = x[row + k] - max(l, 0.0);
      var nll = e * e;
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
