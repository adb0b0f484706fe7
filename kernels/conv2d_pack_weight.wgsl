// Packs a convolution weight for the conv2d kernels: tap-major rows of channels padded to a
// multiple of 16, so a kernel reads four channels' weights for one tap as one vec4 load
// (on lavapipe every storage load costs a loop over the SIMD lanes; one vec4 costs about one f32).
// Bindings: 0 shape (uniform), 1 w (read), 2 wp (write).
// w is (OC, C, KH, KW).
// by_input = 0 (for conv2d_forward): wp is (C, KH, KW, lanes), lanes = OC rounded up to 16,
//   wp[((c * KH + kh) * KW + kw) * lanes + o] = w[o, c, kh, kw].
// by_input = 1 (for conv2d_backward_input): wp is (OC, KH, KW, lanes), lanes = C rounded up to 16,
//   wp[((o * KH + kh) * KW + kw) * lanes + c] = w[o, c, kh, kw].
// Lanes past OC (or C) hold zeros. One invocation writes one element of wp.

override WG: u32 = 256;

struct Shape {
  oc: u32,
  c: u32,
  kh: u32,
  kw: u32,
  lanes: u32,
  by_input: u32,
  count: u32, // elements of wp: taps * lanes
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> wp: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.count) {
    return;
  }
  let lane = i % shape.lanes;
  let tap = i / shape.lanes;
  let k = tap % (shape.kh * shape.kw);
  let outer = tap / (shape.kh * shape.kw);
  var o = lane;
  var c = outer;
  var lanes_used = shape.oc;
  if (shape.by_input == 1u) {
    o = outer;
    c = lane;
    lanes_used = shape.c;
  }
  var v = 0.0;
  if (lane < lanes_used) {
    v = w[(o * shape.c + c) * shape.kh * shape.kw + k];
  }
  wp[i] = v;
}
