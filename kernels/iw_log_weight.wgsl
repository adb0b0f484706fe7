// Importance log-weight of one posterior sample per image:
//   log w = log p(x | z) + log p(z) - log q(z | x),  z = mu + exp(logvar / 2) eps.
// With z written through eps the 2 pi terms cancel:
//   log p(z) - log q(z | x) = sum_j 0.5 (logvar_j + eps_j^2 - z_j^2).
// Bindings: 0 shape (uniform), 1 per_image (N, 2) [recon NLL, KL] (read; recon = -log p(x|z)),
// 2 h (N, 2L) rows [mu | logvar] (read), 3 eps (N, L) (read), 4 log_w (write, at offset + n).
// One invocation computes one image's weight.

override WG: u32 = 64;

struct Shape {
  batch: u32,
  latent: u32,
  offset: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> per_image: array<f32>;
@group(0) @binding(2) var<storage, read> h: array<f32>;
@group(0) @binding(3) var<storage, read> eps: array<f32>;
@group(0) @binding(4) var<storage, read_write> log_w: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * WG + lid;
  if (n >= shape.batch) {
    return;
  }
  let L = shape.latent;
  var s = 0.0;
  for (var j = 0u; j < L; j++) {
    let mu = h[n * 2u * L + j];
    let logvar = h[n * 2u * L + L + j];
    let e = eps[n * L + j];
    let z = mu + exp(0.5 * logvar) * e;
    s += 0.5 * (logvar + e * e - z * z);
  }
  log_w[shape.offset + n] = -per_image[2u * n] + s;
}
