// Transposed 2-D convolution, gradient with respect to the input: a strided correlation of dy with w.
// Bindings: 0 shape (uniform), 1 dy (read), 2 wp (read), 3 dx (write).
// dy is (N, OC, OH, OW), dx is (N, IC, H, W), OH = (H - 1) S - 2 P + K. wp is the weight
// w (IC, OC, K, K) packed by conv2d_pack_weight.wgsl (by_input = 0, w read as a conv2d weight
// with IC outputs and OC inputs) as (OC, K, K, ICP), ICP = IC rounded up to 16 with zeros, read
// as vec4s of four input channels.
// dx[n, ic, iy, ix] = sum over oc, ky, kx of dy[n, oc, iy S - P + ky, ix S - P + kx] w[ic, oc, ky, kx],
// skipping taps that land outside dy.
// One invocation computes a register block of 4 IQ input channels x 4 PQ consecutive pixels of
// one input row: each (oc, ky, kx) step is an outer product of 4 IQ weights and 4 PQ values of dy
// into mat4x4 accumulators (channel x pixel), its four channels' weights one vec4 load and its
// dy values, tap after tap of one residue class, a sliding window. Invocations run with n
// fastest, so the lanes of one SIMD batch share their trip counts.
// The overrides, Shape, bindings and helpers are lib/conv_transpose2d_backward_input.wgsl's,
// shared with conv_transpose2d_backward_input_subgroup.wgsl; this file holds the entry point.

// #include "lib/conv_transpose2d_backward_input.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.items) {
    return;
  }
  let n = i % shape.batch;
  var rest = i / shape.batch;
  let g = rest % shape.col_groups;
  rest /= shape.col_groups;
  let iy = rest % shape.height;
  let ic0 = (rest / shape.height) * 4u * IQ;
  let ix0 = g * 4u * PQ;

  let k = i32(shape.kernel);
  let s = i32(shape.stride);
  let p = i32(shape.pad);
  // Rows oy = iy S - P + ky must lie in [0, OH).
  let ky_lo = max(0, p - i32(iy) * s);
  let ky_hi = min(k, i32(shape.out_h) + p - i32(iy) * s);
  let ox0 = i32(ix0) * s - p;

  let icp4 = (shape.in_ch + 15u) / 16u * 4u; // vec4s per tap of wp
  var a00 = mat4x4f();
  var a01 = mat4x4f();
  var a10 = mat4x4f();
  var a11 = mat4x4f();
  var a20 = mat4x4f();
  var a21 = mat4x4f();
  var a30 = mat4x4f();
  var a31 = mat4x4f();
  // Blocks beyond IQ and PQ are never stored, so the compiler drops their arithmetic.
  for (var oc = 0u; oc < shape.out_ch; oc++) {
    let dyplane = (n * shape.out_ch + oc) * shape.out_h;
    for (var ky = ky_lo; ky < ky_hi; ky++) {
      let dyrow = (dyplane + u32(i32(iy) * s - p + ky)) * shape.out_w;
      let wrow = (oc * shape.kernel + u32(ky)) * shape.kernel;
      // The taps of one residue kx mod S in turn: tap kx + S reads, for pixel t, what tap kx
      // read for pixel t + 1, so da | db (pixels 0-7) slide by one pixel and load one dy.
      for (var r = 0; r < min(s, k); r++) {
        var da = dy4(dyrow, ox0 + r);
        var db = vec4f();
        if (PQ == 2u) {
          db = dy4(dyrow, ox0 + r + 4 * s);
        }
        for (var kx = r; kx < k; kx += s) {
          if (kx > r) {
            if (PQ == 2u) {
              da = vec4f(da.yzw, db.x);
              db = vec4f(db.yzw, dy1(dyrow, ox0 + kx + 7 * s));
            } else {
              da = vec4f(da.yzw, dy1(dyrow, ox0 + kx + 3 * s));
            }
          }
          let wi = (wrow + u32(kx)) * icp4 + ic0 / 4u;
          let wa = wp[wi];
          a00 += outer(wa, da);
          a01 += outer(wa, db);
          if (IQ > 1u) {
            let wb1 = wp[wi + 1u];
            a10 += outer(wb1, da);
            a11 += outer(wb1, db);
          }
          if (IQ > 2u) {
            let wb2 = wp[wi + 2u];
            let wb3 = wp[wi + 3u];
            a20 += outer(wb2, da);
            a21 += outer(wb2, db);
            a30 += outer(wb3, da);
            a31 += outer(wb3, db);
          }
        }
      }
    }
  }
  let row0 = (n * shape.in_ch * shape.height + iy) * shape.width;
  store4(a00, 0u, 0u, ic0, row0, ix0);
  store4(a01, 0u, 1u, ic0, row0, ix0);
  store4(a10, 1u, 0u, ic0, row0, ix0);
  store4(a11, 1u, 1u, ic0, row0, ix0);
  store4(a20, 2u, 0u, ic0, row0, ix0);
  store4(a21, 2u, 1u, ic0, row0, ix0);
  store4(a30, 3u, 0u, ic0, row0, ix0);
  store4(a31, 3u, 1u, ic0, row0, ix0);
}
