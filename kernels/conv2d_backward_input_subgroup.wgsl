// conv2d_backward_input.wgsl for a CPU adapter with subgroups (lavapipe): the same blocks and
// sums, but each lane loads one of a tap's four weight vec4s (lane & 3) and takes the other
// three from its subgroup with subgroupBroadcast (see conv2d_forward_subgroup.wgsl): 1 weight
// load per tap where there were 4. Lanes past the last pixel block run on a copy of it and
// store nothing.
//
// 2-D convolution, backward to the input: dx[n, c, ih, iw] = sum over o, kh, kw of
// dy[n, o, oh, ow] w[o, c, kh, kw] where ih = oh STRIDE - pad + kh and iw = ow STRIDE - pad + kw.
// Bindings: 0 shape (uniform), 1 dy (read), 2 wp (read), 3 dx (write).
// dy is (N, OC, OH, OW); dx is (N, C, H, W), every element written (overwrite, no accumulate).
// wp is the weight (OC, C, KH, KW) packed by conv2d_pack_weight.wgsl (by_input = 1) as
// (OC, KH, KW, CP) with CP = C rounded up to 16, read as vec4s of four input channels.
// One invocation computes 16 input channels x BW pixels of one row and phase, as in
// conv2d_backward_input.wgsl (whose header gives the phases and the sliding window). The
// overrides, Shape, bindings and helpers are lib/conv2d_backward_input.wgsl's; this file holds
// the entry point.

// #include "lib/conv2d_backward_input.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let g = wid.x + wid.y * nwg.x;
  let phases = STRIDE * STRIDE;
  let cb = g / (phases * shape.pix_groups);
  let rest = g % (phases * shape.pix_groups);
  let phase = rest / shape.pix_groups;
  if (cb >= shape.c_blocks) {
    return;
  }
  // Every lane runs the loop, lanes past the last block on a copy of it, so that the weight
  // broadcasts always come from a live lane; only live lanes store.
  let live = (rest % shape.pix_groups) * WG + lid < shape.pix_blocks;
  let pb = min((rest % shape.pix_groups) * WG + lid, shape.pix_blocks - 1u);
  let rh = phase / STRIDE;
  let rw = phase % STRIDE;
  let qb = pb % shape.q_blocks;
  let nq = pb / shape.q_blocks;
  let qh = (nq % shape.qh_blocks) * select(1u, 2u, PAIR == 1u);
  let n = (nq / shape.qh_blocks) * select(1u, 2u, PAIR == 2u);
  let ih = rh + STRIDE * qh;
  let iw = rw + STRIDE * qb * BW;
  let s = i32(STRIDE);
  let kh0 = (rh + shape.pad) % STRIDE;
  let kw0 = (rw + shape.pad) % STRIDE;
  // dy column of pixel 0 at tap kw0; each later tap (kw + STRIDE) is one column further left.
  let ow_start = i32(qb * BW) + (i32(rw + shape.pad) - i32(kw0)) / s;
  // a<m><p>: input channels 4m .. 4m + 3 of the block, pixels 4p .. 4p + 3.
  var a00 = mat4x4f();
  var a01 = mat4x4f();
  var a10 = mat4x4f();
  var a11 = mat4x4f();
  var a20 = mat4x4f();
  var a21 = mat4x4f();
  var a30 = mat4x4f();
  var a31 = mat4x4f();
  // b<m><p>: the same for the second block (PAIR > 0; dropped by the compiler otherwise).
  var b00 = mat4x4f();
  var b01 = mat4x4f();
  var b10 = mat4x4f();
  var b11 = mat4x4f();
  var b20 = mat4x4f();
  var b21 = mat4x4f();
  var b30 = mat4x4f();
  var b31 = mat4x4f();
  let lanes4 = shape.c_blocks * 4u;
  for (var o = 0u; o < shape.oc; o++) {
    let plane = (n * shape.oc + o) * shape.oh;
    for (var kh = kh0; kh < shape.kh; kh += STRIDE) {
      let oh = i32(qh) + (i32(rh + shape.pad) - i32(kh)) / s;
      let row_ok = oh >= 0 && oh < i32(shape.oh);
      let row = (plane + u32(oh)) * shape.ow;
      // The second block reads dy row oh + 1 (PAIR = 1) or row oh of the next image (PAIR = 2).
      let oh2 = select(oh, oh + 1, PAIR == 1u);
      let row2_ok = PAIR != 0u && oh2 >= 0 && oh2 < i32(shape.oh) &&
                    (PAIR != 2u || n + 1u < shape.n);
      let row2 = (plane + select(0u, shape.oc * shape.oh, PAIR == 2u) + u32(oh2)) * shape.ow;
      // Before each tap, x0 | x1 (z0 | z1 for the second block) hold dy columns
      // ow + 1 .. ow + BW - 1 (the rest unused, 0 at first).
      var x0 = vec4f(load_dy(row, row_ok, ow_start + 1), load_dy(row, row_ok, ow_start + 2),
                     load_dy(row, row_ok, ow_start + 3), load_dy(row, row_ok, ow_start + 4));
      var x1 = vec4f(load_dy(row, row_ok, ow_start + 5), load_dy(row, row_ok, ow_start + 6),
                     select(0.0, load_dy(row, row_ok, ow_start + 7), BW == 8u), 0.0);
      var z0 = vec4f();
      var z1 = vec4f();
      if (PAIR != 0u) {
        z0 = vec4f(load_dy(row2, row2_ok, ow_start + 1), load_dy(row2, row2_ok, ow_start + 2),
                   load_dy(row2, row2_ok, ow_start + 3), load_dy(row2, row2_ok, ow_start + 4));
        z1 = vec4f(load_dy(row2, row2_ok, ow_start + 5), load_dy(row2, row2_ok, ow_start + 6),
                   select(0.0, load_dy(row2, row2_ok, ow_start + 7), BW == 8u), 0.0);
      }
      var ow = ow_start;
      var wi = ((o * shape.kh + kh) * shape.kw + kw0) * lanes4 + cb * 4u;
      for (var kw = kw0; kw < shape.kw; kw += STRIDE) {
        // With BW = 7 the unused x1.w stays the constant 0, so that the compiler drops the
        // multiply-adds of the eighth pixel (it does not drop unused loop-carried sums).
        x1 = vec4f(x0.w, x1.xy, select(0.0, x1.z, BW == 8u));
        x0 = vec4f(load_dy(row, row_ok, ow), x0.xyz);
        if (PAIR != 0u) {
          z1 = vec4f(z0.w, z1.xy, select(0.0, z1.z, BW == 8u));
          z0 = vec4f(load_dy(row2, row2_ok, ow), z0.xyz);
        }
        ow -= 1;
        // One load per lane: lanes 0-3 of each 8 (and 4-7 again) hold the tap's four vec4s.
        let wl = wp[wi + (lane & 3u)];
        let w0 = subgroupBroadcast(wl, 0u);
        let w1 = subgroupBroadcast(wl, 1u);
        let w2 = subgroupBroadcast(wl, 2u);
        let w3 = subgroupBroadcast(wl, 3u);
        wi += STRIDE * lanes4;
        a00 += outer(x0, w0);
        a01 += outer(x1, w0);
        a10 += outer(x0, w1);
        a11 += outer(x1, w1);
        a20 += outer(x0, w2);
        a21 += outer(x1, w2);
        a30 += outer(x0, w3);
        a31 += outer(x1, w3);
        if (PAIR != 0u) {
          b00 += outer(z0, w0);
          b01 += outer(z1, w0);
          b10 += outer(z0, w1);
          b11 += outer(z1, w1);
          b20 += outer(z0, w2);
          b21 += outer(z1, w2);
          b30 += outer(z0, w3);
          b31 += outer(z1, w3);
        }
      }
    }
  }
  if (!live) {
    return;
  }
  let c0 = cb * 16u;
  store_block(n, c0, ih, iw, a00, a01);
  store_block(n, c0 + 4u, ih, iw, a10, a11);
  store_block(n, c0 + 8u, ih, iw, a20, a21);
  store_block(n, c0 + 12u, ih, iw, a30, a31);
  if (PAIR != 0u) {
    let n2 = select(n, n + 1u, PAIR == 2u);
    let ih2 = select(ih, ih + STRIDE, PAIR == 1u);
    if (n2 < shape.n) {
      store_block(n2, c0, ih2, iw, b00, b01);
      store_block(n2, c0 + 4u, ih2, iw, b10, b11);
      store_block(n2, c0 + 8u, ih2, iw, b20, b21);
      store_block(n2, c0 + 12u, ih2, iw, b30, b31);
    }
  }
}
