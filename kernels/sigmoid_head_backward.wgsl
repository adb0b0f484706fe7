// Backward of sigmoid_head_forward.wgsl: d raw from d h (rows [mu | logvar]).
//   d a_j = d mu_j     * s (1 - s),  s = sigmoid(a_j)
//   d b_j = d logvar_j * 2 sigmoid(-b_j)          (d/db of -2 softplus(-b))
// Bindings: 0 shape (uniform), 1 raw (read), 2 dh (read), 3 draw (write); all (N, 2L).
// One invocation computes one element.

override WG: u32 = 256;

struct Shape {
  n: u32,
  latent: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> raw: array<f32>;
@group(0) @binding(2) var<storage, read> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> draw: array<f32>;

fn sigmoid(v: f32) -> f32 {
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
  if (i >= shape.n * 2u * shape.latent) {
    return;
  }
  let v = raw[i];
  if (i % (2u * shape.latent) < shape.latent) {
    let s = sigmoid(v);
    draw[i] = dh[i] * s * (1.0 - s);
  } else {
    draw[i] = dh[i] * 2.0 * sigmoid(-v);
  }
}
