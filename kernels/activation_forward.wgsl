// Elementwise activation, forward: y = act(x).
// Bindings: 0 shape (uniform), 1 x (read), 2 y (write); x and y are flat arrays of n f32,
// bound as vec4s (the op widens the bindings to whole vec4s; elements past n are not written).
// ACT picks the function: 0 tanh, 1 ReLU, 2 LeakyReLU(slope), 3 sigmoid.
// One invocation computes four elements: on lavapipe a storage access is a loop over the SIMD
// lanes whose cost is mostly per lane, so a vec4 costs little more than an f32. The last,
// partial vec4 is written element by element.

override WG: u32 = 256;
override ACT: u32 = 0u;

struct Shape {
  n: u32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;

fn sigmoid(v: vec4f) -> vec4f {
  // exp of minus |v| never overflows; the sign picks the side.
  let e = exp(-abs(v));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= vec4f(0.0));
}

fn stable_tanh(v: vec4f) -> vec4f {
  // Some drivers compute tanh as a ratio of exponentials that overflows to NaN
  // past |v| ~ 44; tanh(15) already rounds to 1 in f32.
  return tanh(clamp(v, vec4f(-15.0), vec4f(15.0)));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let first = i * 4u;
  if (first >= shape.n) {
    return;
  }
  let v = x[i];
  var r: vec4f;
  switch ACT {
    case 0u: { r = stable_tanh(v); }
    case 1u: { r = max(v, vec4f(0.0)); }
    case 2u: { r = select(shape.slope * v, v, v > vec4f(0.0)); }
    default: { r = sigmoid(v); }
  }
  if (first + 4u <= shape.n) {
    y[i] = r;
    return;
  }
  for (var c = 0u; first + c < shape.n; c++) {
    y[i][c] = r[c];
  }
}
