// What conv2d_backward_weight.wgsl and conv2d_backward_weight_subgroup.wgsl share, spliced into
// both by `// #include "lib/conv2d_backward_weight.wgsl"`: the overrides, the uniform Shape
// (mirrored by Conv2dBackwardWeightShape in src/ops/conv_shapes.ts), the bindings, the x windows
// and the helpers that store part. The twins differ only in their main;
// conv2d_backward_weight.wgsl's header gives the layouts and the blocking. No entry point; valid
// WGSL on its own.

override WG: u32 = 64;
override STRIDE: u32 = 1u;
// Taps kw per block: 4 (kw_blocks = ceil(KW / 4)), or all of a row's KW = 3 or 5 taps in one
// block (kw_blocks = 1). With 5 (the course's 5 x 5 layers), taps 0-3 are in the mat4x4s and tap 4
// in one vec4 per output channel, instead of two 4-tap blocks that would waste three taps in
// eight; with 3 (its 3 x 3 layer), the windows' fourth tap is the constant 0, so the compiler
// drops the wasted fourth of the multiply-adds.
override TAPS: u32 = 4u;

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
  kw_blocks: u32, // ceil(KW / 4), or 1 with TAPS = KW
  r_blocks: u32, // ceil(C KH / 4)
  blocks: u32, // ceil(OC / 8) * r_blocks * kw_blocks
  chunk: u32, // images per chunk
  count: u32, // blocks * chunks
  w_count: u32, // OC C KH KW
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

fn load_x(row: u32, row_ok: bool, iw: i32) -> f32 {
  let ok = row_ok && iw >= 0 && iw < i32(shape.w);
  return select(0.0, x[select(0u, row + u32(iw), ok)], ok);
}

fn load_dy(i: u32, ok: bool) -> f32 {
  return select(0.0, dy[select(0u, i, ok)], ok);
}

// The x window of one weight row (input row `row`) for output column ow: iw = ow STRIDE - pad + kw
// for the block's four taps (with TAPS = 3, three and a 0), given the window of column ow - 1.
fn slide(prev: vec4f, row: u32, ok: bool, iw: i32) -> vec4f {
  if (TAPS == 3u) {
    if (STRIDE == 1u) {
      return vec4f(prev.yz, load_x(row, ok, iw + 2), 0.0);
    }
    if (STRIDE == 2u) {
      return vec4f(prev.z, load_x(row, ok, iw + 1), load_x(row, ok, iw + 2), 0.0);
    }
    return vec4f(load_x(row, ok, iw), load_x(row, ok, iw + 1), load_x(row, ok, iw + 2), 0.0);
  }
  if (STRIDE == 1u) {
    return vec4f(prev.yzw, load_x(row, ok, iw + 3));
  }
  if (STRIDE == 2u) {
    return vec4f(prev.zw, load_x(row, ok, iw + 2), load_x(row, ok, iw + 3));
  }
  return vec4f(load_x(row, ok, iw), load_x(row, ok, iw + 1), load_x(row, ok, iw + 2),
               load_x(row, ok, iw + 3));
}

// The window before column 0 (iw is column 0's first tap), as `slide` expects it.
fn prime(row: u32, ok: bool, iw: i32) -> vec4f {
  if (TAPS == 3u) {
    if (STRIDE == 1u) {
      return vec4f(0.0, load_x(row, ok, iw), load_x(row, ok, iw + 1), 0.0);
    }
    if (STRIDE == 2u) {
      return vec4f(0.0, 0.0, load_x(row, ok, iw), 0.0);
    }
    return vec4f();
  }
  if (STRIDE == 1u) {
    return vec4f(0.0, load_x(row, ok, iw), load_x(row, ok, iw + 1), load_x(row, ok, iw + 2));
  }
  if (STRIDE == 2u) {
    return vec4f(0.0, 0.0, load_x(row, ok, iw), load_x(row, ok, iw + 1));
  }
  return vec4f();
}

// With TAPS = 5, `e` holds row j's fifth tap (kw0 + 4) beside the four in `slide`'s vec4: the
// window (x, e) of column ow from that of column ow - 1.
struct Win5 {
  v: vec4f,
  e: f32,
}

fn slide5(prev: Win5, row: u32, ok: bool, iw: i32) -> Win5 {
  if (STRIDE == 1u) {
    return Win5(vec4f(prev.v.yzw, prev.e), load_x(row, ok, iw + 4));
  }
  if (STRIDE == 2u) {
    return Win5(vec4f(prev.v.zw, prev.e, load_x(row, ok, iw + 3)), load_x(row, ok, iw + 4));
  }
  return Win5(vec4f(load_x(row, ok, iw), load_x(row, ok, iw + 1), load_x(row, ok, iw + 2),
                    load_x(row, ok, iw + 3)), load_x(row, ok, iw + 4));
}

fn prime5(row: u32, ok: bool, iw: i32) -> Win5 {
  if (STRIDE == 1u) {
    return Win5(vec4f(0.0, load_x(row, ok, iw), load_x(row, ok, iw + 1), load_x(row, ok, iw + 2)),
                load_x(row, ok, iw + 3));
  }
  if (STRIDE == 2u) {
    return Win5(vec4f(0.0, 0.0, load_x(row, ok, iw), load_x(row, ok, iw + 1)),
                load_x(row, ok, iw + 2));
  }
  return Win5(vec4f(), 0.0);
}

// Tap kw0 + 4 of output channel o for weight rows r .. r + 3 (TAPS = 5).
fn store_tap4(base: u32, o: u32, r: u32, v: vec4f) {
  let rows = shape.c * shape.kh;
  if (o >= shape.oc) {
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (r + j < rows) {
      part[base + (o * rows + r + j) * shape.kw + 4u] = v[j];
    }
  }
}

// Column j of `acc` is the partial dw of output channel o, weight row r + j, taps kw .. kw + 3.
fn store_dw(base: u32, o: u32, r: u32, kw: u32, acc: mat4x4f) {
  if (o >= shape.oc) {
    return;
  }
  store_taps(base, o, r, kw, acc[0]);
  store_taps(base, o, r + 1u, kw, acc[1]);
  store_taps(base, o, r + 2u, kw, acc[2]);
  store_taps(base, o, r + 3u, kw, acc[3]);
}

fn store_taps(base: u32, o: u32, r: u32, kw: u32, v: vec4f) {
  let rows = shape.c * shape.kh;
  if (r >= rows) {
    return;
  }
  let i = base + (o * rows + r) * shape.kw + kw;
  if (kw < shape.kw) { part[i] = v.x; }
  if (kw + 1u < shape.kw) { part[i + 1u] = v.y; }
  if (kw + 2u < shape.kw) { part[i + 2u] = v.z; }
  if (kw + 3u < shape.kw) { part[i + 3u] = v.w; }
}

fn store_db(base: u32, o: u32, v: vec4f) {
  let i = base + shape.w_count + o;
  if (o < shape.oc) { part[i] = v.x; }
  if (o + 1u < shape.oc) { part[i + 1u] = v.y; }
  if (o + 2u < shape.oc) { part[i + 2u] = v.z; }
  if (o + 3u < shape.oc) { part[i + 3u] = v.w; }
}
