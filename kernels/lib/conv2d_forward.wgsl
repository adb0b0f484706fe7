// What conv2d_forward.wgsl and conv2d_forward_subgroup.wgsl share, spliced into both by
// `// #include "lib/conv2d_forward.wgsl"`: the overrides, the uniform Shape (mirrored by
// Conv2dForwardShape in src/ops/conv_shapes.ts), the bindings, and the helpers that load x and
// store blocks of y with the bias. The twins differ only in their main; conv2d_forward.wgsl's
// header gives the layouts and the blocking. No entry point; valid WGSL on its own.

override WG: u32 = 64;
// An override, not a uniform field, so the stride-1 window is chosen at compile time.
override STRIDE: u32 = 1u;
// A second block per invocation, which reuses each weight vec4 for 32 more multiply-adds at the
// cost of 128 more accumulators: PAIR = 0 none, 1 the next output row, 2 the same row of the
// next image (no block wasted past the last row of an odd-height output).
override PAIR: u32 = 0u;
// Pixels per block along a row: 8, or 7 where the output width is a multiple of 7 (the course's
// 28, 14 and 7), where 8 would compute one pixel in eight for nothing. With 7 the blocks' eighth
// pixel's input is the constant 0 and it is never stored, so the compiler drops its multiply-adds
// (it would not drop unused loop-carried sums alone: the constant is what folds them away).
override BW: u32 = 8u;

struct Shape {
  n: u32,
  c: u32,
  h: u32,
  w: u32,
  oc: u32,
  oh: u32,
  ow: u32,
  kh: u32,
  kw: u32,
  pad: u32,
  ow_blocks: u32, // ceil(OW / BW)
  oh_blocks: u32, // OH, or ceil(OH / 2) with PAIR = 1
  pix_blocks: u32, // n_blocks * oh_blocks * ow_blocks; n_blocks: N, or ceil(N / 2) with PAIR 2
  pix_groups: u32, // ceil(pix_blocks / WG)
  oc_blocks: u32, // ceil(OC / 16)
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<vec4f>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// x[row + iw], or 0 in the padding (row is meaningless when !row_ok, so the index is 0 then).
fn load_x(row: u32, row_ok: bool, iw: i32) -> f32 {
  let ok = row_ok && iw >= 0 && iw < i32(shape.w);
  return select(0.0, x[select(0u, row + u32(iw), ok)], ok);
}

// Column k of the result is xs times ws[k]: four channels by four pixels.
fn outer(xs: vec4f, ws: vec4f) -> mat4x4f {
  return mat4x4f(xs * ws.x, xs * ws.y, xs * ws.z, xs * ws.w);
}

// Writes channel `o`'s four pixels from ow (three unless `four`), plus its bias, where they exist.
fn store4(n: u32, o: u32, oh: u32, ow: u32, v: vec4f, four: bool) {
  if (o >= shape.oc || oh >= shape.oh) {
    return;
  }
  let base = ((n * shape.oc + o) * shape.oh + oh) * shape.ow + ow;
  let r = v + b[o];
  if (ow < shape.ow) { y[base] = r.x; }
  if (ow + 1u < shape.ow) { y[base + 1u] = r.y; }
  if (ow + 2u < shape.ow) { y[base + 2u] = r.z; }
  if (four && ow + 3u < shape.ow) { y[base + 3u] = r.w; }
}

// Channels o .. o + 3 of the BW pixels from ow: lo holds pixels 0-3, hi pixels 4 .. BW - 1.
fn store_block(n: u32, o: u32, oh: u32, ow: u32, lo: mat4x4f, hi: mat4x4f) {
  store4(n, o, oh, ow, lo[0], true);
  store4(n, o, oh, ow + 4u, hi[0], BW == 8u);
  store4(n, o + 1u, oh, ow, lo[1], true);
  store4(n, o + 1u, oh, ow + 4u, hi[1], BW == 8u);
  store4(n, o + 2u, oh, ow, lo[2], true);
  store4(n, o + 2u, oh, ow + 4u, hi[2], BW == 8u);
  store4(n, o + 3u, oh, ow, lo[3], true);
  store4(n, o + 3u, oh, ow + 4u, hi[3], BW == 8u);
}
