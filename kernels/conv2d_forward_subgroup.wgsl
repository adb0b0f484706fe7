// conv2d_forward.wgsl for a CPU adapter with subgroups (lavapipe): the same blocks and sums,
// but each lane loads one of a tap's four weight vec4s (lane & 3) and takes the other three
// from its subgroup with subgroupBroadcast, one register shuffle on lavapipe, where a load is a
// loop over the SIMD lanes: 1 weight load per tap where there were 4. Every invocation of a
// workgroup shares the block of output channels, so any subgroup of 4 or more lanes works.
// Lanes past the last pixel block run on a copy of it, so that the broadcasts always come from
// live lanes, and store nothing.
//
// 2-D convolution, forward: y = b + cross-correlation of x with w, zero padding.
// Bindings: 0 shape (uniform), 1 x (read), 2 wp (read), 3 b (read), 4 y (write).
// x is (N, C, H, W); b is (OC); y is (N, OC, OH, OW), OH = floor((H + 2 pad - KH) / STRIDE) + 1.
// wp is the weight (OC, C, KH, KW) packed by conv2d_pack_weight.wgsl (by_input = 0) as
// (C, KH, KW, OCP) with OCP = OC rounded up to 16, read as vec4s of four output channels.
// One invocation computes a 16 x 8 block of y: 16 output channels x 8 adjacent columns of one
// output row (conv2d_forward.wgsl's header says why it is blocked so). The overrides, Shape,
// bindings and helpers are lib/conv2d_forward.wgsl's; this file holds the entry point.

// #include "lib/conv2d_forward.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let g = wid.x + wid.y * nwg.x;
  let ob = g / shape.pix_groups;
  if (ob >= shape.oc_blocks) {
    return;
  }
  // Every lane runs the loop, lanes past the last block on a copy of it, so that the weight
  // broadcasts always come from a live lane; only live lanes store.
  let live = (g % shape.pix_groups) * WG + lid < shape.pix_blocks;
  let pb = min((g % shape.pix_groups) * WG + lid, shape.pix_blocks - 1u);
  let owb = pb % shape.ow_blocks;
  let noh = pb / shape.ow_blocks;
  let oh = (noh % shape.oh_blocks) * select(1u, 2u, PAIR == 1u);
  let n = (noh / shape.oh_blocks) * select(1u, 2u, PAIR == 2u);
  let ow0 = owb * BW;
  let ih0 = i32(oh * STRIDE) - i32(shape.pad);
  let iw0 = i32(ow0 * STRIDE) - i32(shape.pad);
  let s = i32(STRIDE);
  // a<m><p>: output channels 4m .. 4m + 3 of the block, pixels 4p .. 4p + 3 of row oh; b<m><p>
  // the same for the second block (PAIR > 0; unused and dropped by the compiler otherwise).
  var a00 = mat4x4f();
  var a01 = mat4x4f();
  var a10 = mat4x4f();
  var a11 = mat4x4f();
  var a20 = mat4x4f();
  var a21 = mat4x4f();
  var a30 = mat4x4f();
  var a31 = mat4x4f();
  var b00 = mat4x4f();
  var b01 = mat4x4f();
  var b10 = mat4x4f();
  var b11 = mat4x4f();
  var b20 = mat4x4f();
  var b21 = mat4x4f();
  var b30 = mat4x4f();
  var b31 = mat4x4f();
  let tap_step = shape.oc_blocks * 4u;
  var wi = ob * 4u;
  for (var c = 0u; c < shape.c; c++) {
    let plane = (n * shape.c + c) * shape.h;
    for (var kh = 0u; kh < shape.kh; kh++) {
      let ih = ih0 + i32(kh);
      let row_ok = ih >= 0 && ih < i32(shape.h);
      let row = (plane + u32(ih)) * shape.w;
      // The second block reads the input row STRIDE further down (PAIR = 1), or the same row of
      // the next image (PAIR = 2).
      let ih2 = select(ih, ih + s, PAIR == 1u);
      let row2_ok = PAIR != 0u && ih2 >= 0 && ih2 < i32(shape.h) &&
                    (PAIR != 2u || n + 1u < shape.n);
      let row2 = (plane + select(0u, shape.c * shape.h, PAIR == 2u) + u32(ih2)) * shape.w;
      // With STRIDE = 1, x0 | x1 (z0 | z1 for the second block) hold input columns
      // iw0 + kw - 1 .. iw0 + kw + BW - 2 before tap kw shifts in one more column (with BW = 7,
      // x1.w is unused and 0).
      var x0 = vec4f();
      var x1 = vec4f();
      var z0 = vec4f();
      var z1 = vec4f();
      if (STRIDE == 1u) {
        x0 = vec4f(0.0, load_x(row, row_ok, iw0), load_x(row, row_ok, iw0 + 1),
                   load_x(row, row_ok, iw0 + 2));
        x1 = vec4f(load_x(row, row_ok, iw0 + 3), load_x(row, row_ok, iw0 + 4),
                   load_x(row, row_ok, iw0 + 5), 0.0);
        if (BW == 8u) {
          x1.w = load_x(row, row_ok, iw0 + 6);
        }
        if (PAIR != 0u) {
          z0 = vec4f(0.0, load_x(row2, row2_ok, iw0), load_x(row2, row2_ok, iw0 + 1),
                     load_x(row2, row2_ok, iw0 + 2));
          z1 = vec4f(load_x(row2, row2_ok, iw0 + 3), load_x(row2, row2_ok, iw0 + 4),
                     load_x(row2, row2_ok, iw0 + 5), 0.0);
          if (BW == 8u) {
            z1.w = load_x(row2, row2_ok, iw0 + 6);
          }
        }
      }
      for (var kw = 0u; kw < shape.kw; kw++) {
        let iw = iw0 + i32(kw);
        if (STRIDE == 1u) {
          x0 = vec4f(x0.yzw, x1.x);
          z0 = vec4f(z0.yzw, z1.x);
          if (BW == 8u) {
            x1 = vec4f(x1.yzw, load_x(row, row_ok, iw + 7));
            if (PAIR != 0u) {
              z1 = vec4f(z1.yzw, load_x(row2, row2_ok, iw + 7));
            }
          } else {
            x1 = vec4f(x1.yz, load_x(row, row_ok, iw + 6), 0.0);
            if (PAIR != 0u) {
              z1 = vec4f(z1.yz, load_x(row2, row2_ok, iw + 6), 0.0);
            }
          }
        } else {
          x0 = vec4f(load_x(row, row_ok, iw), load_x(row, row_ok, iw + s),
                     load_x(row, row_ok, iw + 2 * s), load_x(row, row_ok, iw + 3 * s));
          x1 = vec4f(load_x(row, row_ok, iw + 4 * s), load_x(row, row_ok, iw + 5 * s),
                     load_x(row, row_ok, iw + 6 * s), 0.0);
          if (BW == 8u) {
            x1.w = load_x(row, row_ok, iw + 7 * s);
          }
          if (PAIR != 0u) {
            z0 = vec4f(load_x(row2, row2_ok, iw), load_x(row2, row2_ok, iw + s),
                       load_x(row2, row2_ok, iw + 2 * s), load_x(row2, row2_ok, iw + 3 * s));
            z1 = vec4f(load_x(row2, row2_ok, iw + 4 * s), load_x(row2, row2_ok, iw + 5 * s),
                       load_x(row2, row2_ok, iw + 6 * s), 0.0);
            if (BW == 8u) {
              z1.w = load_x(row2, row2_ok, iw + 7 * s);
            }
          }
        }
        // One load per lane: lanes 0-3 of each 8 (and 4-7 again) hold the tap's four vec4s.
        let wl = wp[wi + (lane & 3u)];
        let w0 = subgroupBroadcast(wl, 0u);
        let w1 = subgroupBroadcast(wl, 1u);
        let w2 = subgroupBroadcast(wl, 2u);
        let w3 = subgroupBroadcast(wl, 3u);
        wi += tap_step;
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
  let o0 = ob * 16u;
  store_block(n, o0, oh, ow0, a00, a01);
  store_block(n, o0 + 4u, oh, ow0, a10, a11);
  store_block(n, o0 + 8u, oh, ow0, a20, a21);
  store_block(n, o0 + 12u, oh, ow0, a30, a31);
  if (PAIR != 0u) {
    let n2 = select(n, n + 1u, PAIR == 2u);
    let oh2 = select(oh, oh + 1u, PAIR == 1u);
    if (n2 < shape.n) {
      store_block(n2, o0, oh2, ow0, b00, b01);
      store_block(n2, o0 + 4u, oh2, ow0, b10, b11);
      store_block(n2, o0 + 8u, oh2, ow0, b20, b21);
      store_block(n2, o0 + 12u, oh2, ow0, b30, b31);
    }
  }
}
