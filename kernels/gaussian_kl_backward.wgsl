// Gradient of scale * w_n * (Gaussian NLL + kl_weight * Gaussian KL) (gaussian_kl_forward.wgsl)
// with respect to the decoder head and the encoder head; scale is 1 / N for the batch-mean loss.
// The shared contract of every <name>_kl_backward.wgsl (src/ops/likelihood_loss.ts); W = 2.
// Bindings: 0 shape (uniform), 1 head (read), 2 x (read), 3 mask (read), 4 weights (read),
// 5 h (read), 6 dhead (write), 7 dh (write).
// head and dhead are (N, D, 2) pixel-major [m, s]; x is (N, D), y in (0, 1); mask is (D), read
// only when use_mask != 0; weights is (N), read only when use_weights != 0; h and dh are
// (N, 2L), rows [mu, logvar]. With e = e^{-s/2} and r = (y - m) e:
//   dhead = scale w_n mask * [(m - y) e^{-s}, (1 - (y - m)^2 e^{-s}) / 2] = c [-r e, (1 - r^2) / 2]
//   dh    = scale w_n kl_weight [mu, (exp(logvar) - 1) / 2]   (overwritten: the
//           reparameterization's backward adds its part afterwards)
//   With free_bits = lambda > 0 (free bits, Kingma et al. 2016), the KL term is
//   sum_j max(lambda, mean over the batch of KL_j): dh of latent dimension j is 0 where
//   that batch mean is at most lambda.
// One invocation computes both head numbers of pixel i < N D and dh[i] for i < 2 N L.

@group(0) @binding(1) var<storage, read> head: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read_write> dhead: array<f32>;

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
    var c = image_scale(i / shape.d);
    if (shape.use_mask != 0u) {
      c *= mask[i % shape.d];
    }
    let m = head[2u * i];
    let e = exp(-0.5 * head[2u * i + 1u]);
    let r = (x[i] - m) * e;
    dhead[2u * i] = -c * (r * e);
    dhead[2u * i + 1u] = c * (0.5 - 0.5 * (r * r));
  }
  if (i < heads) {
    dh[i] = latent_grad(i);
  }
}
