// Elementwise activation, backward: dx = dy * act'(.).
// Bindings: 0 shape (uniform), 1 saved (read), 2 dy (read), 3 dx (write); flat arrays of n f32.
// `saved` is the forward's output y for tanh (1 - y^2) and sigmoid (y (1 - y)), and its
// input x for ReLU and LeakyReLU (the sign of x picks the slope; at x = 0 the slope is the
// negative side's, matching the f64 reference).
// ACT picks the function: 0 tanh, 1 ReLU, 2 LeakyReLU(slope), 3 sigmoid.
// One invocation computes one element.

override WG: u32 = 256;
override ACT: u32 = 0u;

struct Shape {
  n: u32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> saved: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n) {
    return;
  }
  let s = saved[i];
  var d: f32;
  switch ACT {
    case 0u: { d = 1.0 - s * s; }
    case 1u: { d = select(0.0, 1.0, s > 0.0); }
    case 2u: { d = select(shape.slope, 1.0, s > 0.0); }
    default: { d = s * (1.0 - s); }
  }
  dx[i] = dy[i] * d;
}
