// Reparameterization, backward: adds z = mu + exp(logvar / 2) * eps's gradient into dh:
// dmu += dz, dlogvar += dz * eps * exp(logvar / 2) / 2.
// Bindings: 0 shape (uniform), 1 h (read), 2 eps (read), 3 dz (read), 4 dh (read_write).
// h and dh are (N, 2L), rows [mu, logvar]; eps and dz are (N, L); all row-major f32.
// dh is accumulated, not overwritten: it already holds the KL term's gradient.
// One invocation handles one latent element (r, j): dh[r, j] and dh[r, L + j].

override WG: u32 = 256;

struct Shape {
  rows: u32,
  latent: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> eps: array<f32>;
@group(0) @binding(3) var<storage, read> dz: array<f32>;
@group(0) @binding(4) var<storage, read_write> dh: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.rows * shape.latent) {
    return;
  }
  let r = i / shape.latent;
  let mu = r * 2u * shape.latent + (i - r * shape.latent);
  let lv = mu + shape.latent;
  let g = dz[i];
  dh[mu] += g;
  dh[lv] += g * eps[i] * 0.5 * exp(0.5 * h[lv]);
}
