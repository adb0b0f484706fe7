// The MSE preset's image from the decoder's last layer: its ReLU output max(l, 0), clamped to
// the grey levels' [0, 1] (the ReLU has no upper bound), for MODE 0 and MODE 1 alike, since a
// squared error has no noise to draw. The shared contract of every
// <name>_output.wgsl (src/ops/likelihood_output.ts); W = 1, no normals or uniforms.
// Bindings: 0 shape (uniform), 1 logits (N, D) (read), 4 out (N, D) (write).
// One invocation computes one pixel.

override WG: u32 = 256;
override MODE: u32 = 0u; // the same image in both modes

struct Shape {
  n: u32,
  d: u32,
  k: u32, // unused
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n * shape.d) {
    return;
  }
  out[i] = clamp(logits[i], 0.0, 1.0);
}
