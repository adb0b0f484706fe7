// The Bernoulli likelihood's image from its logits: MODE 0 the mean sigmoid(l), MODE 1 a draw
// x = [u < sigmoid(l)]. The shared contract of every <name>_output.wgsl
// (src/ops/likelihood_output.ts); W = 1, one uniform per pixel, no normals.
// Bindings: 0 shape (uniform), 1 logits (N, D) (read), 3 uniforms (N, D)
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
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read> uniforms: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn sigmoid(v: f32) -> f32 {
  if (v >= 0.0) {
    return 1.0 / (1.0 + exp(-v));
  }
  let e = exp(v);
  return e / (1.0 + e);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n * shape.d) {
    return;
  }
  let p = sigmoid(logits[i]);
  if (MODE == 0u) {
    out[i] = p;
  } else {
    out[i] = select(0.0, 1.0, uniforms[i] < p);
  }
}
