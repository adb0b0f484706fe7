// The encoder head of a VAE whose q is parameterized by mu = sigmoid(a), sigma = sigmoid(b)
// (the "blog" tutorial preset), rewritten into the graph's rows [mu | logvar]:
//   h[n, j]     = sigmoid(a_j)                         j < L
//   h[n, L + j] = log sigma_j^2 = 2 log sigmoid(b_j) = -2 softplus(-b_j)
// so the reparameterization and the analytic KL downstream are the usual ones.
// Bindings: 0 shape (uniform), 1 raw (read), 2 h (write); raw and h are (N, 2L), rows
// [a_0 .. a_{L-1}, b_0 .. b_{L-1}] and [mu | logvar]. One invocation computes one element.

override WG: u32 = 256;

struct Shape {
  n: u32,
  latent: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> raw: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;

fn sigmoid(v: f32) -> f32 {
  // Split by sign so exp never overflows.
  if (v >= 0.0) {
    return 1.0 / (1.0 + exp(-v));
  }
  let e = exp(v);
  return e / (1.0 + e);
}

// softplus(v) = log(1 + e^v) = max(v, 0) + log(1 + e^-|v|): no overflow; the second term's
// absolute error stays below an ulp of 1, which is all a log-variance needs.
fn softplus(v: f32) -> f32 {
  return max(v, 0.0) + log(1.0 + exp(-abs(v)));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n * 2u * shape.latent) {
    return;
  }
  let v = raw[i];
  if (i % (2u * shape.latent) < shape.latent) {
    h[i] = sigmoid(v);
  } else {
    h[i] = -2.0 * softplus(-v);
  }
}
