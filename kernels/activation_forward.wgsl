// Elementwise activation, forward: y = act(x).
// Bindings: 0 shape (uniform), 1 x (read), 2 y (write); x and y are flat arrays of n f32.
// ACT picks the function: 0 tanh, 1 ReLU, 2 LeakyReLU(slope), 3 sigmoid.
// One invocation computes one element.

override WG: u32 = 256;
override ACT: u32 = 0u;

struct Shape {
  n: u32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn sigmoid(v: f32) -> f32 {
  // Split by sign so exp never overflows.
  if (v >= 0.0) {
    return 1.0 / (1.0 + exp(-v));
  }
  let e = exp(v);
  return e / (1.0 + e);
}

fn stable_tanh(v: f32) -> f32 {
  // Some drivers compute tanh as a ratio of exponentials that overflows to NaN
  // past |v| ~ 44; tanh(15) already rounds to 1 in f32.
  return tanh(clamp(v, -15.0, 15.0));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n) {
    return;
  }
  let v = x[i];
  switch ACT {
    case 0u: { y[i] = stable_tanh(v); }
    case 1u: { y[i] = max(v, 0.0); }
    case 2u: { y[i] = select(shape.slope * v, v, v > 0.0); }
    default: { y[i] = sigmoid(v); }
  }
}
