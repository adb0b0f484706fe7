// Fills a range with zeros: the flat gradient buffer before a step's backward accumulates.
// A kernel rather than clearBuffer so that it stays inside the step's one compute pass.
// Bindings: 0 shape (uniform), 1 out (write), n f32.
// One invocation zeroes one element.

override WG: u32 = 256;

struct Shape {
  n: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n) {
    return;
  }
  out[i] = 0.0;
}
