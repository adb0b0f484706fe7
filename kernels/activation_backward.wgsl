// Elementwise activation, backward: dx = dy * act'(.).
// Bindings: 0 shape (uniform), 1 saved (read), 2 dy (read), 3 dx (write); flat arrays of n f32,
// bound as vec4s (the op widens the bindings to whole vec4s; elements past n are not written).
// `saved` is the forward's output y for tanh (1 - y^2) and sigmoid (y (1 - y)), and its
// input x for ReLU and LeakyReLU (the sign of x picks the slope; at x = 0 the slope is the
// negative side's, matching the f64 reference).
// ACT picks the function: 0 tanh, 1 ReLU, 2 LeakyReLU(slope), 3 sigmoid.
// One invocation computes four elements (see activation_forward.wgsl).

override WG: u32 = 256;
override ACT: u32 = 0u;

struct Shape {
  n: u32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> saved: array<vec4f>;
@group(0) @binding(2) var<storage, read> dy: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4f>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let first = i * 4u;
  if (first >= shape.n) {
    return;
  }
  let s = saved[i];
  var d: vec4f;
  switch ACT {
    case 0u: { d = 1.0 - s * s; }
    case 1u: { d = select(vec4f(0.0), vec4f(1.0), s > vec4f(0.0)); }
    case 2u: { d = select(vec4f(shape.slope), vec4f(1.0), s > vec4f(0.0)); }
    default: { d = s * (1.0 - s); }
  }
  let r = dy[i] * d;
  if (first + 4u <= shape.n) {
    dx[i] = r;
    return;
  }
  for (var c = 0u; first + c < shape.n; c++) {
    dx[i][c] = r[c];
  }
}
