// Gradient of scale * w_n * (squared error + kl_weight * Gaussian KL) (mse_kl_forward.wgsl)
// with respect to the logits and the encoder head; scale is 1 / N for the batch-mean loss.
// The shared contract of every <name>_kl_backward.wgsl (src/ops/likelihood_loss.ts); W = 1.
// Bindings: 0 shape (uniform), 1 logits (read), 2 x (read), 3 mask (read), 4 weights (read),
// 5 h (read), 6 dlogits (write), 7 dh (write).
// logits, x, dlogits are (N, D); mask is (D), read only when use_mask != 0; weights is (N),
// read only when use_weights != 0; h and dh are (N, 2L), rows [mu, logvar].
//   dlogits = scale w_n mask * 2 (max(l, 0) - x) [l > 0]
//   dh      = scale w_n kl_weight [mu, (exp(logvar) - 1) / 2]   (overwritten: the
//             reparameterization's backward adds its part afterwards)
//   With free_bits = lambda > 0 (free bits, Kingma et al. 2016), the KL term is
//   sum_j max(lambda, mean over the batch of KL_j): dh of latent dimension j is 0 where
//   that batch mean is at most lambda.
// One invocation computes dlogits[i] for i < N D and dh[i] for i < 2 N L.

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read_write> dlogits: array<f32>;

// #include "lib/kl_backward.wgsl"

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
    let l = logits[i];
    var g = select(0.0, image_scale(i / shape.d) * 2.0 * (l - x[i]), l > 0.0);
    if (shape.use_mask != 0u) {
      g *= mask[i % shape.d];
    }
    dlogits[i] = g;
  }
  if (i < heads) {
    dh[i] = latent_grad(i);
  }
}
