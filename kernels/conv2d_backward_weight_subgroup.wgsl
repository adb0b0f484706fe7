// conv2d_backward_weight.wgsl for a CPU adapter with 8-lane subgroups (lavapipe on AVX2), run
// in workgroups of exactly one subgroup (WG = 8) on layers whose 8 neighbouring blocks share
// their 8 output channels and chunk (conv2d_variant.ts: conv2dWeightBlocksShareChannels): per
// output column, lane j loads output channel o0 + j's dy and the others take it with
// subgroupBroadcast (see conv2d_forward_subgroup.wgsl), 1 dy load where there were 8. The rest
// of this header is conv2d_backward_weight.wgsl's.
//
// 2-D convolution, backward to the weight and bias, first pass: partial sums over a chunk of
// images. dw[o, c, kh, kw] = sum over n, oh, ow of dy[n, o, oh, ow] x[n, c, ih, iw] with
// ih = oh STRIDE - pad + kh, iw = ow STRIDE - pad + kw; db[o] = sum over n, oh, ow of
// dy[n, o, oh, ow].
// Bindings: 0 shape (uniform), 1 dy (read), 2 x (read), 3 part (write).
// dy is (N, OC, OH, OW); x is (N, C, H, W). part is (chunks, OC C KH KW + OC): per chunk of
// `chunk` images, the partial dw in (OC, C, KH, KW) order, then the partial db;
// conv2d_backward_weight_reduce.wgsl sums it over chunks. Every element of part is written.
// The sum runs over N OH OW terms (200k per weight for the 28 x 28 layer): splitting it by image
// chunks gives enough invocations to fill the machine while each keeps a long serial sum.
// The weight's rows r = c KH + kh (one input channel and kernel row each) are blocked together,
// so a layer with one input channel (C KH = 5) still fills its blocks. One invocation computes,
// for one chunk, a block of 8 output channels x 4 rows x 4 taps kw (and, in the blocks with
// r = kw = 0, the 8 channels' db). Per output column it loads 8 dy values and, with STRIDE = 1,
// one new x value per row through a sliding window, for 128 multiply-adds. The accumulators are
// named mat4x4s (see conv2d_forward.wgsl).

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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.count) {
    return;
  }
  let chunk = i / shape.blocks;
  var blk = i % shape.blocks;
  let kwb = blk % shape.kw_blocks;
  blk /= shape.kw_blocks;
  let rb = blk % shape.r_blocks;
  let ob = blk / shape.r_blocks;
  let o0 = ob * 8u;
  let r0 = rb * 4u;
  let kw0 = kwb * 4u;
  // Weight row r0 + j is input channel c.j, kernel row kh.j.
  let rs = vec4u(r0, r0 + 1u, r0 + 2u, r0 + 3u);
  let ok_r = rs < vec4u(shape.c * shape.kh);
  let c = rs / shape.kh;
  let kh = rs % shape.kh;
  let n_begin = chunk * shape.chunk;
  let n_end = min(shape.n, n_begin + shape.chunk);
  let in_plane = shape.h * shape.w;
  let out_plane = shape.oh * shape.ow;
  // a<i>: output channel o0 + i; its column j is weight row r0 + j over the four taps.
  var a0 = mat4x4f();
  var a1 = mat4x4f();
  var a2 = mat4x4f();
  var a3 = mat4x4f();
  var a4 = mat4x4f();
  var a5 = mat4x4f();
  var a6 = mat4x4f();
  var a7 = mat4x4f();
  // e<i>: tap 4 of output channel o0 + i for the four weight rows (TAPS = 5).
  var e0 = vec4f();
  var e1 = vec4f();
  var e2 = vec4f();
  var e3 = vec4f();
  var e4 = vec4f();
  var e5 = vec4f();
  var e6 = vec4f();
  var e7 = vec4f();
  var db0 = vec4f();
  var db1 = vec4f();
  let iw_first = i32(kw0) - i32(shape.pad);
  for (var n = n_begin; n < n_end; n++) {
    let planes = (n * shape.c + c) * in_plane;
    let dy_img = (n * shape.oc + o0) * out_plane;
    for (var oh = 0u; oh < shape.oh; oh++) {
      let ih = vec4i(vec4u(oh * STRIDE) + kh) - i32(shape.pad);
      let ok = ok_r & (ih >= vec4i(0)) & (ih < vec4i(i32(shape.h)));
      let rows = planes + vec4u(ih) * shape.w;
      var x0 = Win5(prime(rows.x, ok.x, iw_first), 0.0);
      var x1 = Win5(prime(rows.y, ok.y, iw_first), 0.0);
      var x2 = Win5(prime(rows.z, ok.z, iw_first), 0.0);
      var x3 = Win5(prime(rows.w, ok.w, iw_first), 0.0);
      if (TAPS == 5u) {
        x0 = prime5(rows.x, ok.x, iw_first);
        x1 = prime5(rows.y, ok.y, iw_first);
        x2 = prime5(rows.z, ok.z, iw_first);
        x3 = prime5(rows.w, ok.w, iw_first);
      }
      var d = dy_img + oh * shape.ow;
      for (var ow = 0u; ow < shape.ow; ow++) {
        let iw = i32(ow * STRIDE) + iw_first;
        if (TAPS == 5u) {
          x0 = slide5(x0, rows.x, ok.x, iw);
          x1 = slide5(x1, rows.y, ok.y, iw);
          x2 = slide5(x2, rows.z, ok.z, iw);
          x3 = slide5(x3, rows.w, ok.w, iw);
        } else {
          x0.v = slide(x0.v, rows.x, ok.x, iw);
          x1.v = slide(x1.v, rows.y, ok.y, iw);
          x2.v = slide(x2.v, rows.z, ok.z, iw);
          x3.v = slide(x3.v, rows.w, ok.w, iw);
        }
        let xs = mat4x4f(x0.v, x1.v, x2.v, x3.v);
        let xe = vec4f(x0.e, x1.e, x2.e, x3.e);
        // One load per lane: lane j holds output channel o0 + j's dy, the same for all 8.
        let gl = load_dy(d + lane * out_plane, o0 + lane < shape.oc);
        let g0 = vec4f(subgroupBroadcast(gl, 0u), subgroupBroadcast(gl, 1u),
                       subgroupBroadcast(gl, 2u), subgroupBroadcast(gl, 3u));
        let g1 = vec4f(subgroupBroadcast(gl, 4u), subgroupBroadcast(gl, 5u),
                       subgroupBroadcast(gl, 6u), subgroupBroadcast(gl, 7u));
        d += 1u;
        a0 += xs * g0.x;
        a1 += xs * g0.y;
        a2 += xs * g0.z;
        a3 += xs * g0.w;
        a4 += xs * g1.x;
        a5 += xs * g1.y;
        a6 += xs * g1.z;
        a7 += xs * g1.w;
        if (TAPS == 5u) {
          e0 += xe * g0.x;
          e1 += xe * g0.y;
          e2 += xe * g0.z;
          e3 += xe * g0.w;
          e4 += xe * g1.x;
          e5 += xe * g1.y;
          e6 += xe * g1.z;
          e7 += xe * g1.w;
        }
        db0 += g0;
        db1 += g1;
      }
    }
  }
  let base = chunk * (shape.w_count + shape.oc);
  store_dw(base, o0, r0, kw0, a0);
  store_dw(base, o0 + 1u, r0, kw0, a1);
  store_dw(base, o0 + 2u, r0, kw0, a2);
  store_dw(base, o0 + 3u, r0, kw0, a3);
  store_dw(base, o0 + 4u, r0, kw0, a4);
  store_dw(base, o0 + 5u, r0, kw0, a5);
  store_dw(base, o0 + 6u, r0, kw0, a6);
  store_dw(base, o0 + 7u, r0, kw0, a7);
  if (TAPS == 5u) {
    store_tap4(base, o0, r0, e0);
    store_tap4(base, o0 + 1u, r0, e1);
    store_tap4(base, o0 + 2u, r0, e2);
    store_tap4(base, o0 + 3u, r0, e3);
    store_tap4(base, o0 + 4u, r0, e4);
    store_tap4(base, o0 + 5u, r0, e5);
    store_tap4(base, o0 + 6u, r0, e6);
    store_tap4(base, o0 + 7u, r0, e7);
  }
  if (rb == 0u && kwb == 0u) {
    store_db(base, o0, db0);
    store_db(base, o0 + 4u, db1);
  }
}
