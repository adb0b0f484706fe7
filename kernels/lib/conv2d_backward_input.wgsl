// What conv2d_backward_input.wgsl and conv2d_backward_input_subgroup.wgsl share, spliced into
// both by `// #include "lib/conv2d_backward_input.wgsl"`: the overrides, the uniform Shape
// (mirrored by Conv2dBackwardInputShape in src/ops/conv_shapes.ts), the bindings, and the helpers
// that load dy and store blocks of dx. The twins differ only in their main;
// conv2d_backward_input.wgsl's header gives the layouts and the blocking. No entry point; valid
// WGSL on its own.

override WG: u32 = 64;
override STRIDE: u32 = 1u;
// A second block per invocation, which reuses each weight vec4 for 32 more multiply-adds at the
// cost of 128 more accumulators: PAIR = 0 none, 1 the phase's next row (ih + STRIDE), 2 the same
// row of the next image.
override PAIR: u32 = 0u;
// Pixels per block along a phase row: 8, or 7 where the phase rows' width is a multiple of 7 (see
// conv2d_forward.wgsl).
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
  qh: u32, // rows per phase: ceil(H / STRIDE)
  qh_blocks: u32, // qh, or ceil(qh / 2) with PAIR = 1
  q_blocks: u32, // BW-pixel blocks per phase row: ceil(ceil(W / STRIDE) / BW)
  pix_blocks: u32, // n_blocks * qh_blocks * q_blocks; n_blocks: N, or ceil(N / 2) with PAIR 2
  pix_groups: u32, // ceil(pix_blocks / WG)
  c_blocks: u32, // ceil(C / 16)
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// dy[row + ow], or 0 outside the output (row is meaningless when !row_ok).
fn load_dy(row: u32, row_ok: bool, ow: i32) -> f32 {
  let ok = row_ok && ow >= 0 && ow < i32(shape.ow);
  return select(0.0, dy[select(0u, row + u32(ow), ok)], ok);
}

fn outer(xs: vec4f, ws: vec4f) -> mat4x4f {
  return mat4x4f(xs * ws.x, xs * ws.y, xs * ws.z, xs * ws.w);
}

// Writes channel c's four pixels iw, iw + STRIDE, ... (three unless `four`) where they exist.
fn store4(n: u32, c: u32, ih: u32, iw: u32, v: vec4f, four: bool) {
  if (c >= shape.c || ih >= shape.h) {
    return;
  }
  let base = ((n * shape.c + c) * shape.h + ih) * shape.w;
  if (iw < shape.w) { dx[base + iw] = v.x; }
  if (iw + STRIDE < shape.w) { dx[base + iw + STRIDE] = v.y; }
  if (iw + 2u * STRIDE < shape.w) { dx[base + iw + 2u * STRIDE] = v.z; }
  if (four && iw + 3u * STRIDE < shape.w) { dx[base + iw + 3u * STRIDE] = v.w; }
}

// Channels c .. c + 3 of the block's BW pixels: lo holds pixels 0-3, hi pixels 4 .. BW - 1.
fn store_block(n: u32, c: u32, ih: u32, iw: u32, lo: mat4x4f, hi: mat4x4f) {
  let iw_hi = iw + 4u * STRIDE;
  store4(n, c, ih, iw, lo[0], true);
  store4(n, c, ih, iw_hi, hi[0], BW == 8u);
  store4(n, c + 1u, ih, iw, lo[1], true);
  store4(n, c + 1u, ih, iw_hi, hi[1], BW == 8u);
  store4(n, c + 2u, ih, iw, lo[2], true);
  store4(n, c + 2u, ih, iw_hi, hi[2], BW == 8u);
  store4(n, c + 3u, ih, iw, lo[3], true);
  store4(n, c + 3u, ih, iw_hi, hi[3], BW == 8u);
}
