// Packs a convolution weight for the conv2d kernels: tap-major rows of channels padded to a
// multiple of 16, so a kernel reads four channels' weights for one tap as one vec4 load
// (on lavapipe every storage load costs a loop over the SIMD lanes; one vec4 costs about one f32).
// Bindings: 0 shape (uniform), 1 w (read), 2 wp (write).
// w is (OC, C, KH, KW).
// by_input = 0 (for conv2d_forward): wp is (C, KH, KW, lanes), lanes = OC rounded up to 16,
//   wp[((c * KH + kh) * KW + kw) * lanes + o] = w[o, c, kh, kw].
// by_input = 1 (for conv2d_backward_input): wp is (OC, KH, KW, lanes), lanes = C rounded up to 16,
//   wp[((o * KH + kh) * KW + kw) * lanes + c] = w[o, c, kh, kw].
// Lanes past OC (or C) hold zeros.
// With blocks > 1 (for conv2d_forward_taps.wgsl and conv2d_backward_input_taps.wgsl, which read
// each block of `lanes` channels' weights as uniform buffers): wp is `blocks` runs of `stride`
// floats, run q holding the output channels (by_input = 0; input channels with by_input = 1)
// q lanes .. (q + 1) lanes in the layout above with lanes = 16, zeros past OC (or C) and past
// the run's C KH KW lanes (or OC KH KW lanes) entries. blocks = 1, stride = count: the layout
// above.
// One invocation writes one element of wp.

override WG: u32 = 256;

struct Shape {
  oc: u32,
  c: u32,
  kh: u32,
  kw: u32,
  lanes: u32,
  by_input: u32,
  count: u32, // elements of wp: blocks * stride
  blocks: u32,
  stride: u32, // floats per block, at least C KH KW lanes (by_input = 0) or OC KH KW lanes
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
  let block = i / shape.stride;
  let j = i % shape.stride;
  let lane = j % shape.lanes;
  let tap = j / shape.lanes;
  let k = tap % (shape.kh * shape.kw);
  let outer = tap / (shape.kh * shape.kw);
  var o = block * shape.lanes + lane;
  var c = outer;
  var ok = o < shape.oc && c < shape.c;
  if (shape.by_input == 1u) {
    o = outer;
    c = block * shape.lanes + lane;
    ok = c < shape.c && o < shape.oc;
  }
  var v = 0.0;
  if (ok) {
    v = w[(o * shape.c + c) * shape.kh * shape.kw + k];
  }
  wp[i] = v;
}
