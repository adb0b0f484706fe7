// 2-D convolution, forward, stride 1, 3 x 3 or 5 x 5 kernels, for a CPU adapter with 8-lane
// subgroups (lavapipe on AVX2): y = b + cross-correlation of x with w, zero padding.
// Bindings: 0 shape (uniform), 1 x (read), 2 wp (read), 3 b (read), 4 y (write), as in
// conv2d_forward.wgsl, whose Shape, packing and blocks (16 output channels x BW adjacent pixels
// of one output row per invocation) this kernel shares.
// What differs is the order of the sums: conv2d_forward.wgsl adds one tap at a time, an outer
// product of 4 pixels by 4 channels, 16 multiply-adds per 16 accumulators written. Here one
// kernel row's taps 0-3 go in at once as a matrix product (4 pixels x 4 taps) times (4 taps x 4
// channels), 64 multiply-adds per 16 written, and a 5 x 5 kernel's tap 4 as one outer product; a
// 3 x 3 kernel's fourth tap is the constant 0, which the compiler drops. On lavapipe, where
// every write of an accumulator in a loop costs about as much as a multiply-add (see
// kernels/probe_fma.wgsl), that is probably most of why this runs in 0.64-0.94x the time of
// the tap-by-tap subgroup kernel (src/ops/conv2d.ts).
// Per kernel row the BW + K - 1 input values are loaded once, and the 4 K weight vec4s (K taps x
// 16 channels) once per subgroup: lane l loads vec4s l, l + 8 and l + 16 of them and the others
// take them with subgroupBroadcast. Lanes past the last pixel block run on a copy of it, so that
// the broadcasts always come from live lanes, and store nothing.
// The weights are a uniform buffer: one dispatch per block of 16 output channels (shape.ob),
// each binding that block's packed weights, (C, K, K, 16) as vec4s (conv2d_pack_weight.wgsl with
// blocks), 64 KiB from the block's start. On lavapipe a uniform load is a gather, a storage load
// a loop over the lanes: 1.28x faster on the course's 32->64 5 x 5 layer, 1.13x on its 1->32,
// 1.04x on its 64->128 3 x 3 (2-core Zen 4 EPYC, Mesa 25.0.7, batch 256, medians of 9-11
// alternating rounds in one process). So C K K <= 1024 (conv2d_variant.ts refuses more).

override WG: u32 = 64;
// The kernel's width and height: 3 or 5.
override K: u32 = 5u;
// Pixels per block along a row: 8, or 7 where the output width is a multiple of 7 (the eighth
// pixel's inputs are the constant 0 and it is never stored; see conv2d_forward.wgsl).
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
  oh_blocks: u32, // OH
  pix_blocks: u32, // N * oh_blocks * ow_blocks
  pix_groups: u32, // ceil(pix_blocks / WG)
  oc_blocks: u32, // ceil(OC / 16)
  ob: u32, // this dispatch's block of 16 output channels
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<uniform> wp: array<vec4f, 4096>;
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

// Four weight vec4s of a kernel row from the lanes that loaded them: lanes 0-3 of v (or 4-7)
// hold one tap's four channel groups, column q channels 4q .. 4q + 3.
fn tap(v: vec4f, hi: bool) -> mat4x4f {
  if (hi) {
    return mat4x4f(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u),
                   subgroupBroadcast(v, 7u));
  }
  return mat4x4f(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u),
                 subgroupBroadcast(v, 3u));
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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let g = wid.x + wid.y * nwg.x;
  let ob = shape.ob;
  if (g >= shape.pix_groups) {
    return;
  }
  let live = g * WG + lid < shape.pix_blocks;
  let pb = min(g * WG + lid, shape.pix_blocks - 1u);
  let owb = pb % shape.ow_blocks;
  let noh = pb / shape.ow_blocks;
  let oh = noh % shape.oh_blocks;
  let n = noh / shape.oh_blocks;
  let ow0 = owb * BW;
  let ih0 = i32(oh) - i32(shape.pad);
  let iw0 = i32(ow0) - i32(shape.pad);
  // a<m><p>: output channels 4m .. 4m + 3 of the block, pixels 4p .. 4p + 3.
  var a00 = mat4x4f();
  var a01 = mat4x4f();
  var a10 = mat4x4f();
  var a11 = mat4x4f();
  var a20 = mat4x4f();
  var a21 = mat4x4f();
  var a30 = mat4x4f();
  var a31 = mat4x4f();
  // This lane's three weight vec4s of a kernel row: numbers lane, lane + 8 and lane + 16 of
  // its 4 K (tap t = i / 4, channels 4 (i % 4) ..), clamped to the last.
  let wo = min(vec3u(lane, lane + 8u, lane + 16u), vec3u(4u * K - 1u));
  var wrow = 0u;
  for (var c = 0u; c < shape.c; c++) {
    let plane = (n * shape.c + c) * shape.h;
    for (var kh = 0u; kh < K; kh++) {
      let ih = ih0 + i32(kh);
      let row_ok = ih >= 0 && ih < i32(shape.h);
      let row = (plane + u32(ih)) * shape.w;
      let l0 = wp[wrow + wo.x];
      let l1 = wp[wrow + wo.y];
      var l2 = vec4f();
      if (K == 5u) {
        l2 = wp[wrow + wo.z];
      }
      wrow += 4u * K;
      // Input columns iw0 .. iw0 + BW + K - 2 (with BW = 7 the last one, which only the unstored
      // eighth pixel reads, is 0).
      let v0 = vec4f(load_x(row, row_ok, iw0), load_x(row, row_ok, iw0 + 1),
                     load_x(row, row_ok, iw0 + 2), load_x(row, row_ok, iw0 + 3));
      let v1 = vec4f(load_x(row, row_ok, iw0 + 4), load_x(row, row_ok, iw0 + 5),
                     load_x(row, row_ok, iw0 + 6), load_x(row, row_ok, iw0 + 7));
      var v2 = vec4f(load_x(row, row_ok, iw0 + 8), load_x(row, row_ok, iw0 + 9), 0.0, 0.0);
      if (K == 5u) {
        v2.z = load_x(row, row_ok, iw0 + 10);
        v2.w = select(0.0, load_x(row, row_ok, iw0 + 11), BW == 8u);
      } else if (BW == 7u) {
        v2.y = 0.0;
      }
      // Pixels 0-3 and 4-7 over taps 0-3: column t holds the four pixels' input at tap t.
      let x0 = mat4x4f(v0, vec4f(v0.yzw, v1.x), vec4f(v0.zw, v1.xy), vec4f(v0.w, v1.xyz));
      let x1 = mat4x4f(v1, vec4f(v1.yzw, v2.x), vec4f(v1.zw, v2.xy), vec4f(v1.w, v2.xyz));
      // Taps 0-4 by channel group; a 3 x 3 kernel has no tap 3 (0) or 4.
      let t0 = tap(l0, false);
      let t1 = tap(l0, true);
      let t2 = tap(l1, false);
      var t3 = mat4x4f();
      var t4 = mat4x4f();
      if (K == 5u) {
        t3 = tap(l1, true);
        t4 = tap(l2, false);
      }
      // Channel group q over taps 0-3: column c holds channel 4q + c's four taps.
      let w0 = transpose(mat4x4f(t0[0], t1[0], t2[0], t3[0]));
      let w1 = transpose(mat4x4f(t0[1], t1[1], t2[1], t3[1]));
      let w2 = transpose(mat4x4f(t0[2], t1[2], t2[2], t3[2]));
      let w3 = transpose(mat4x4f(t0[3], t1[3], t2[3], t3[3]));
      if (K == 5u) {
        // Tap 4: pixels 0-3 read columns 4-7, pixels 4-7 columns 8-11.
        a00 += x0 * w0 + outer(v1, t4[0]);
        a01 += x1 * w0 + outer(v2, t4[0]);
        a10 += x0 * w1 + outer(v1, t4[1]);
        a11 += x1 * w1 + outer(v2, t4[1]);
        a20 += x0 * w2 + outer(v1, t4[2]);
        a21 += x1 * w2 + outer(v2, t4[2]);
        a30 += x0 * w3 + outer(v1, t4[3]);
        a31 += x1 * w3 + outer(v2, t4[3]);
      } else {
        a00 += x0 * w0;
        a01 += x1 * w0;
        a10 += x0 * w1;
        a11 += x1 * w1;
        a20 += x0 * w2;
        a21 += x1 * w2;
        a30 += x0 * w3;
        a31 += x1 * w3;
      }
    }
  }
  if (!live) {
    return;
  }
  let o0 = ob * 16u;
  store_block(n, o0, oh, ow0, a00, a01);
  store_block(n, o0 + 4u, oh, ow0, a10, a11);
  store_block(n, o0 + 8u, oh, ow0, a20, a21);
  store_block(n, o0 + 12u, oh, ow0, a30, a31);
}
