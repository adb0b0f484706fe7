// Gradient of scale * w_n * (Categorical NLL + kl_weight * Gaussian KL)
// (categorical_kl_forward.wgsl) with respect to the logits and the encoder head; scale is 1 / N
// for the batch-mean loss.
// The shared contract of every <name>_kl_backward.wgsl (src/ops/likelihood_loss.ts); W = k.
// Bindings: 0 shape (uniform), 1 logits (read), 2 x (read), 3 mask (read), 4 weights (read),
// 5 h (read), 6 dlogits (write), 7 dh (write).
// logits and dlogits are (N, D, k) pixel-major; x is (N, D), bin centres (j + 0.5) / k; mask is
// (D), read only when use_mask != 0; weights is (N), read only when use_weights != 0; h and dh
// are (N, 2L), rows [mu, logvar].
//   dlogits = scale w_n mask * (softmax(l) - onehot(j)), with pi_j - 1 formed as minus the
//             other bins' mass (keeps its digits when pi_j ~ 1)
//   dh      = scale w_n kl_weight [mu, (exp(logvar) - 1) / 2]   (overwritten: the
//             reparameterization's backward adds its part afterwards)
//   With free_bits = lambda > 0 (free bits, Kingma et al. 2016), the KL term is
//   sum_j max(lambda, mean over the batch of KL_j): dh of latent dimension j is 0 where
//   that batch mean is at most lambda.
// One invocation computes all k logits' gradients of pixel i < N D and dh[i] for i < 2 N L.

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
    var c = image_scale(i / shape.d);
    if (shape.use_mask != 0u) {
      c *= mask[i % shape.d];
    }
    let k = shape.k;
    let base = i * k;
    let j = min(u32(x[i] * f32(k)), k - 1u);
    var top = logits[base];
    for (var w = 1u; w < k; w++) {
      top = max(top, logits[base + w]);
    }
    var others = 0.0;
    var ej = 0.0;
    for (var w = 0u; w < k; w++) {
      let e = exp(logits[base + w] - top);
      if (w == j) {
        ej = e;
      } else {
        others += e;
      }
    }
    let cs = c / (others + ej);
    for (var w = 0u; w < k; w++) {
      if (w == j) {
        dlogits[base + w] = -cs * others;
      } else {
        dlogits[base + w] = cs * exp(logits[base + w] - top);
      }
    }
  }
  if (i < heads) {
    dh[i] = latent_grad(i);
  }
}
