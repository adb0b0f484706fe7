// Bernoulli samples from probabilities: x = 1 if u < p else 0.
// Bindings: 0 shape (uniform), 1 p (n) probabilities in [0, 1] (read),
// 2 u (n) uniform noise in (0, 1) from the counter-based RNG (read), 3 x (n) (write).
// One invocation computes one element.

override WG: u32 = 256;

struct Shape {
  n: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> p: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n) {
    return;
  }
  x[i] = select(0.0, 1.0, u[i] < p[i]);
}
