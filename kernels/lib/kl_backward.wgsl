// The shared contract of every <name>_kl_backward.wgsl (src/ops/likelihood_loss.ts), included by
// each: the shape, the bindings besides the likelihood's own (1: its head, 2: x, 6: the head's
// gradient), each image's loss weight, the free-bits gate and the gradient of the KL term.
// mask is (D), read only when use_mask != 0; weights is (N), read only when use_weights != 0;
// h and dh are (N, 2L), rows [mu, logvar].
//   dh = scale w_n kl_weight [mu, (exp(logvar) - 1) / 2]   (overwritten: the
//        reparameterization's backward adds its part afterwards)
//   With free_bits = lambda > 0 (free bits, Kingma et al. 2016), the KL term is
//   sum_j max(lambda, mean over the batch of KL_j): dh of latent dimension j is 0 where that
//   batch mean is at most lambda.

override WG: u32 = 256;

struct Shape {
  n: u32,
  d: u32,
  latent: u32,
  use_mask: u32,
  use_weights: u32,
  k: u32, // bins: logits per pixel (categorical); the other likelihoods ignore it
  scale: f32,
  kl_weight: f32,
  free_bits: f32, // 0: off
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;
@group(0) @binding(5) var<storage, read> h: array<f32>;
@group(0) @binding(7) var<storage, read_write> dh: array<f32>;

// The loss weight of image n: scale, times w_n where per-image weights are on.
fn image_scale(n: u32) -> f32 {
  if (shape.use_weights != 0u) {
    return shape.scale * weights[n];
  }
  return shape.scale;
}

// Free bits: 1 where the batch's mean KL of latent dimension j exceeds free_bits (or free bits
// are off), else 0. Each invocation walks the batch's N rows itself: N L numbers, no barrier.
fn kl_gate(j: u32) -> f32 {
  if (shape.free_bits <= 0.0) {
    return 1.0;
  }
  let row = 2u * shape.latent;
  var total = 0.0;
  for (var n = 0u; n < shape.n; n++) {
    let mu = h[n * row + j];
    let lv = h[n * row + shape.latent + j];
    total += 0.5 * (mu * mu + exp(lv) - 1.0 - lv);
  }
  return select(0.0, 1.0, total > shape.free_bits * f32(shape.n));
}

// dh[i] for i < 2 N L: the KL term's gradient for entry i of h.
fn latent_grad(i: u32) -> f32 {
  let v = h[i];
  let is_mu = i % (2u * shape.latent) < shape.latent;
  let s = image_scale(i / (2u * shape.latent)) * shape.kl_weight * kl_gate(i % shape.latent);
  return s * select(0.5 * (exp(v) - 1.0), v, is_mu);
}
