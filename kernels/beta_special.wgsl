// Test-only kernel: the Beta likelihood's f32 special functions evaluated elementwise, so
// tests/special_test.ts can measure them against the f64 reference (src/reference/special.ts).
// Bindings: 0 shape (uniform), 1 args (read), 2 out (write).
// args is (N, 2) rows (a, b) with a, b > 0 (b > -1 for the ln1p column); out is (N, 5) rows
// [log_beta(a, b), psi_diff(a, b), lgamma(a), ln(a), ln1p(b)].
// One invocation computes one row.
// Accuracy on lavapipe (the measured bounds tests/special_test.ts asserts) is stated in
// beta_kl_forward.wgsl's header, for shapes in [1e-4, 1e4].

override WG: u32 = 256;

struct Shape {
  n: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> args: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// #include "lib/beta_functions.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n) {
    return;
  }
  let a = args[2u * i];
  let b = args[2u * i + 1u];
  out[5u * i] = log_beta(a, b);
  out[5u * i + 1u] = psi_diff(a, b);
  out[5u * i + 2u] = lgamma(a);
  out[5u * i + 3u] = ln(a);
  out[5u * i + 4u] = ln1p(b);
}
