// Reparameterization, forward: z = mu + exp(logvar / 2) * eps.
// Bindings: 0 shape (uniform), 1 h (read), 2 eps (read), 3 z (write).
// h is (N, 2L): each row is [mu_0 .. mu_{L-1}, logvar_0 .. logvar_{L-1}] (the encoder's head);
// eps and z are (N, L); all row-major f32.
// One invocation computes one element z[r, j].

override WG: u32 = 256;

struct Shape {
  rows: u32,
  latent: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> eps: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.rows * shape.latent) {
    return;
  }
  let r = i / shape.latent;
  let mu = r * 2u * shape.latent + (i - r * shape.latent);
  z[i] = h[mu] + exp(0.5 * h[mu + shape.latent]) * eps[i];
}
