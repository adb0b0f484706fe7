// conv2d_backward_weight.wgsl for a CPU adapter with 8-lane subgroups (lavapipe on AVX2), run
// in workgroups of exactly one subgroup (WG = 8) on layers whose 8 neighbouring blocks share
// their 8 output channels and chunk (conv2d_variant.ts: conv2dWeightBlocksShareChannels): per
// output column, lane j loads output channel o0 + j's dy and the others take it with
// subgroupBroadcast (see conv2d_forward_subgroup.wgsl), 1 dy load where there were 8.
//
// 2-D convolution, backward to the weight and bias, first pass: partial sums over a chunk of
// images. dw[o, c, kh, kw] = sum over n, oh, ow of dy[n, o, oh, ow] x[n, c, ih, iw] with
// ih = oh STRIDE - pad + kh, iw = ow STRIDE - pad + kw; db[o] = sum over n, oh, ow of
// dy[n, o, oh, ow].
// Bindings: 0 shape (uniform), 1 dy (read), 2 x (read), 3 part (write).
// dy is (N, OC, OH, OW); x is (N, C, H, W). part is (chunks, OC C KH KW + OC): per chunk of
// `chunk` images, the partial dw in (OC, C, KH, KW) order, then the partial db;
// conv2d_backward_weight_reduce.wgsl sums it over chunks. Every element of part is written.
// One invocation computes, for one chunk, a block of 8 output channels x 4 weight rows x 4 taps
// kw, as in conv2d_backward_weight.wgsl (whose header gives the blocking). The overrides, Shape,
// bindings and helpers are lib/conv2d_backward_weight.wgsl's; this file holds the entry point.

// #include "lib/conv2d_backward_weight.wgsl"

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
