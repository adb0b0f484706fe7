// 2-D convolution, backward to the input, stride 1, 3 x 3 or 5 x 5 kernels, for a CPU adapter
// with 8-lane subgroups (lavapipe on AVX2): dx[n, c, ih, iw] = sum over o, kh, kw of
// dy[n, o, oh, ow] w[o, c, kh, kw] where ih = oh - pad + kh and iw = ow - pad + kw.
// Bindings: 0 shape (uniform), 1 dy (read), 2 wp (read), 3 dx (write), as in
// conv2d_backward_input.wgsl, whose Shape (with STRIDE = 1: one phase, qh = H), packing and
// blocks (16 input channels x BW adjacent pixels of one row per invocation) this kernel shares.
// The sums go in as in conv2d_forward_taps.wgsl: per output channel o and kernel row kh, taps
// 0-3 as one matrix product and a 5 x 5 kernel's tap 4 as an outer product, with the taps in
// reverse order (tap kw reads dy column iw + pad - kw). Pixel p of the block at tap kw reads dy
// column u + p + K - 1 - kw, u = iw0 + pad - (K - 1): the BW + K - 1 columns from u are loaded
// once per row. Lanes past the last pixel block run on a copy of it and store nothing.
// The weights are a uniform buffer, as in conv2d_forward_taps.wgsl: one dispatch per block of
// 16 input channels (shape.cb) and part of the output channels (o_begin .. o_end, at most
// 1024 / (K K) of them, conv2d_variant.ts: conv2dInputTapsParts), each binding those weights,
// (o_end - o_begin, K, K, 16) as vec4s (conv2d_pack_weight.wgsl with blocks), 64 KiB from their
// start. The first part overwrites dx, the later ones add to it (accumulate = 1).

override WG: u32 = 64;
// The kernel's width and height: 3 or 5.
override K: u32 = 5u;
// Pixels per block along a row: 8, or 7 where the input width is a multiple of 7 (the eighth
// pixel is never stored).
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
  qh: u32, // H
  qh_blocks: u32, // H
  q_blocks: u32, // ceil(W / BW)
  pix_blocks: u32, // N * qh_blocks * q_blocks
  pix_groups: u32, // ceil(pix_blocks / WG)
  c_blocks: u32, // ceil(C / 16)
  cb: u32, // this dispatch's block of 16 input channels
  o_begin: u32, // its output channels
  o_end: u32,
  accumulate: u32, // 1: add to dx
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<uniform> wp: array<vec4f, 4096>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// dy[row + ow], or 0 outside the output (row is meaningless when !row_ok).
fn load_dy(row: u32, row_ok: bool, ow: i32) -> f32 {
  let ok = row_ok && ow >= 0 && ow < i32(shape.ow);
  return select(0.0, dy[select(0u, row + u32(ow), ok)], ok);
}

// Column k of the result is xs times ws[k]: four pixels by four channels.
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

// Writes channel c's four pixels from iw (three unless `four`) where they exist.
fn store4(n: u32, c: u32, ih: u32, iw: u32, v: vec4f, four: bool) {
  if (c >= shape.c || ih >= shape.h) {
    return;
  }
  let base = ((n * shape.c + c) * shape.h + ih) * shape.w + iw;
  if (shape.accumulate != 0u) {
    if (iw < shape.w) { dx[base] += v.x; }
    if (iw + 1u < shape.w) { dx[base + 1u] += v.y; }
    if (iw + 2u < shape.w) { dx[base + 2u] += v.z; }
    if (four && iw + 3u < shape.w) { dx[base + 3u] += v.w; }
    return;
  }
  if (iw < shape.w) { dx[base] = v.x; }
  if (iw + 1u < shape.w) { dx[base + 1u] = v.y; }
  if (iw + 2u < shape.w) { dx[base + 2u] = v.z; }
  if (four && iw + 3u < shape.w) { dx[base + 3u] = v.w; }
}

// Channels c .. c + 3 of the BW pixels from iw: lo holds pixels 0-3, hi pixels 4 .. BW - 1.
fn store_block(n: u32, c: u32, ih: u32, iw: u32, lo: mat4x4f, hi: mat4x4f) {
  store4(n, c, ih, iw, lo[0], true);
  store4(n, c, ih, iw + 4u, hi[0], BW == 8u);
  store4(n, c + 1u, ih, iw, lo[1], true);
  store4(n, c + 1u, ih, iw + 4u, hi[1], BW == 8u);
  store4(n, c + 2u, ih, iw, lo[2], true);
  store4(n, c + 2u, ih, iw + 4u, hi[2], BW == 8u);
  store4(n, c + 3u, ih, iw, lo[3], true);
  store4(n, c + 3u, ih, iw + 4u, hi[3], BW == 8u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let g = wid.x + wid.y * nwg.x;
  let cb = shape.cb;
  if (g >= shape.pix_groups) {
    return;
  }
  let live = g * WG + lid < shape.pix_blocks;
  let pb = min(g * WG + lid, shape.pix_blocks - 1u);
  let qb = pb % shape.q_blocks;
  let nq = pb / shape.q_blocks;
  let ih = nq % shape.qh_blocks;
  let n = nq / shape.qh_blocks;
  let iw0 = qb * BW;
  // dy column of pixel 0 at the last tap, kw = K - 1.
  let u = i32(iw0 + shape.pad) - i32(K - 1u);
  // a<m><p>: input channels 4m .. 4m + 3 of the block, pixels 4p .. 4p + 3.
  var a00 = mat4x4f();
  var a01 = mat4x4f();
  var a10 = mat4x4f();
  var a11 = mat4x4f();
  var a20 = mat4x4f();
  var a21 = mat4x4f();
  var a30 = mat4x4f();
  var a31 = mat4x4f();
  // This lane's three weight vec4s of a kernel row: numbers lane, lane + 8 and lane + 16 of
  // its 4 K (tap kw = i / 4, channels 4 (i % 4) ..), clamped to the last.
  let wo = min(vec3u(lane, lane + 8u, lane + 16u), vec3u(4u * K - 1u));
  var wrow = 0u;
  for (var o = shape.o_begin; o < shape.o_end; o++) {
    let plane = (n * shape.oc + o) * shape.oh;
    for (var kh = 0u; kh < K; kh++) {
      let oh = i32(ih + shape.pad) - i32(kh);
      let row_ok = oh >= 0 && oh < i32(shape.oh);
      let row = (plane + u32(oh)) * shape.ow;
      let l0 = wp[wrow + wo.x];
      let l1 = wp[wrow + wo.y];
      var l2 = vec4f();
      if (K == 5u) {
        l2 = wp[wrow + wo.z];
      }
      wrow += 4u * K;
      // dy columns u .. u + BW + K - 2 (with BW = 7 the last one, which only the unstored eighth
      // pixel reads, is 0).
      let v0 = vec4f(load_dy(row, row_ok, u), load_dy(row, row_ok, u + 1),
                     load_dy(row, row_ok, u + 2), load_dy(row, row_ok, u + 3));
      let v1 = vec4f(load_dy(row, row_ok, u + 4), load_dy(row, row_ok, u + 5),
                     load_dy(row, row_ok, u + 6), load_dy(row, row_ok, u + 7));
      var v2 = vec4f(load_dy(row, row_ok, u + 8), load_dy(row, row_ok, u + 9), 0.0, 0.0);
      if (K == 5u) {
        v2.z = load_dy(row, row_ok, u + 10);
        v2.w = select(0.0, load_dy(row, row_ok, u + 11), BW == 8u);
      } else if (BW == 7u) {
        v2.y = 0.0;
      }
      // Pixels 0-3 and 4-7 over the reversed taps t = K - 1 - kw, 0-3: column t holds the four
      // pixels' dy at that tap.
      let x0 = mat4x4f(v0, vec4f(v0.yzw, v1.x), vec4f(v0.zw, v1.xy), vec4f(v0.w, v1.xyz));
      let x1 = mat4x4f(v1, vec4f(v1.yzw, v2.x), vec4f(v1.zw, v2.xy), vec4f(v1.w, v2.xyz));
      // Taps kw 0-4 by channel group; a 3 x 3 kernel has no tap 3 or 4.
      let t0 = tap(l0, false);
      let t1 = tap(l0, true);
      let t2 = tap(l1, false);
      var t3 = mat4x4f();
      var t4 = mat4x4f();
      if (K == 5u) {
        t3 = tap(l1, true);
        t4 = tap(l2, false);
      }
      if (K == 5u) {
        // Reversed taps 0-3 are kw 4 .. 1; kw 0 (reversed 4) reads columns 4-7 for pixels 0-3
        // and 8-11 for pixels 4-7.
        let w0 = transpose(mat4x4f(t4[0], t3[0], t2[0], t1[0]));
        let w1 = transpose(mat4x4f(t4[1], t3[1], t2[1], t1[1]));
        let w2 = transpose(mat4x4f(t4[2], t3[2], t2[2], t1[2]));
        let w3 = transpose(mat4x4f(t4[3], t3[3], t2[3], t1[3]));
        a00 += x0 * w0 + outer(v1, t0[0]);
        a01 += x1 * w0 + outer(v2, t0[0]);
        a10 += x0 * w1 + outer(v1, t0[1]);
        a11 += x1 * w1 + outer(v2, t0[1]);
        a20 += x0 * w2 + outer(v1, t0[2]);
        a21 += x1 * w2 + outer(v2, t0[2]);
        a30 += x0 * w3 + outer(v1, t0[3]);
        a31 += x1 * w3 + outer(v2, t0[3]);
      } else {
        // Reversed taps 0-2 are kw 2 .. 0; the fourth is 0.
        let w0 = transpose(mat4x4f(t2[0], t1[0], t0[0], vec4f()));
        let w1 = transpose(mat4x4f(t2[1], t1[1], t0[1], vec4f()));
        let w2 = transpose(mat4x4f(t2[2], t1[2], t0[2], vec4f()));
        let w3 = transpose(mat4x4f(t2[3], t1[3], t0[3], vec4f()));
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
  let c0 = cb * 16u;
  store_block(n, c0, ih, iw0, a00, a01);
  store_block(n, c0 + 4u, ih, iw0, a10, a11);
  store_block(n, c0 + 8u, ih, iw0, a20, a21);
  store_block(n, c0 + 12u, ih, iw0, a30, a31);
}
