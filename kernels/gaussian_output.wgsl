// The Gaussian likelihood's image from its head: MODE 0 the mean clip(m, 0, 1), MODE 1 a draw
// clip(m + e^{s/2} eps, 0, 1) with eps standard normal. The shared contract of every
// <name>_output.wgsl (src/ops/likelihood_output.ts); W = 2, one normal per pixel, no uniforms.
// Bindings: 0 shape (uniform), 1 head (N, D, 2) pixel-major [m, s] (read), 2 normals (N, D)
// (read, MODE 1 only), 4 out (N, D) (write).
// One invocation computes one pixel.

override WG: u32 = 256;
override MODE: u32 = 0u;

struct Shape {
  n: u32,
  d: u32,
  k: u32, // unused
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> head: array<f32>;
@group(0) @binding(2) var<storage, read> normals: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n * shape.d) {
    return;
  }
  let m = head[2u * i];
  if (MODE == 0u) {
    out[i] = clamp(m, 0.0, 1.0);
  } else {
    out[i] = clamp(m + exp(0.5 * head[2u * i + 1u]) * normals[i], 0.0, 1.0);
  }
}
