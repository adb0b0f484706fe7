// Gradient of scale * (Bernoulli NLL + Gaussian KL) (bernoulli_kl_forward.wgsl) with respect
// to the logits and the encoder head; scale is 1 / N for the batch-mean loss.
// Bindings: 0 shape (uniform), 1 logits (read), 2 x (read), 3 mask (read), 4 h (read),
// 5 dlogits (write), 6 dh (write).
// logits, x, dlogits are (N, D); mask is (D), read only when use_mask != 0; h and dh are
// (N, 2L), rows [mu, logvar].
//   dlogits = scale * mask * (sigmoid(l) - x)
//   dh      = scale * [mu, (exp(logvar) - 1) / 2]   (overwritten: the reparameterization's
//                                                     backward adds its part afterwards)
// One invocation computes dlogits[i] for i < N D and dh[i] for i < 2 N L.

override WG: u32 = 256;

struct Shape {
  n: u32,
  d: u32,
  latent: u32,
  use_mask: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read> h: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(6) var<storage, read_write> dh: array<f32>;

fn sigmoid(v: f32) -> f32 {
  // Split by sign so exp never overflows.
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
    var g = shape.scale * (sigmoid(logits[i]) - x[i]);
    if (shape.use_mask != 0u) {
      g *= mask[i % shape.d];
    }
    dlogits[i] = g;
  }
  if (i < heads) {
    let v = h[i];
    let is_mu = i % (2u * shape.latent) < shape.latent;
    dh[i] = shape.scale * select(0.5 * (exp(v) - 1.0), v, is_mu);
  }
}
