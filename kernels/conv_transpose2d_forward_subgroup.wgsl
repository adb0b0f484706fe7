// conv_transpose2d_forward.wgsl for a CPU adapter with 8-lane subgroups (lavapipe on AVX2), run
// in workgroups of one subgroup (WG = 8) on layers whose blocks of images come in multiples of 8
// (conv_transpose2d_variant.ts), so that a subgroup's lanes share their channels, row and taps:
// each lane loads one of a tap's OQ weight vec4s and takes the others from its subgroup with
// subgroupBroadcast (one register shuffle on lavapipe, where a load is a loop over the lanes),
// 1 weight load per tap where there were OQ.
//
// Transposed 2-D convolution, forward (PyTorch ConvTranspose2d without output_padding), gather form.
// Bindings: 0 shape (uniform), 1 x (read), 2 wp (read), 3 b (read), 4 y (write).
// x is (N, IC, H, W), b is (OC), y is (N, OC, OH, OW), OH = (H - 1) S - 2 P + K. wp is the weight
// w (IC, OC, K, K) packed by conv2d_pack_weight.wgsl (by_input = 1, w read as a conv2d weight
// with IC outputs and OC inputs) as (IC, K, K, OCP), OCP = OC rounded up to 16 with zeros, read
// as vec4s of four output channels.
// One invocation computes a register block of one output row: 4 OQ channels (or, with OQ = 0,
// one channel of 4 images) x 4 PQ pixels of one residue class, as in conv_transpose2d_forward.wgsl
// (whose header gives the sum and the blocking). The overrides, Shape, bindings and helpers are
// lib/conv_transpose2d_forward.wgsl's; this file holds the entry point.

// #include "lib/conv_transpose2d_forward.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.items) {
    return;
  }
  let n = (i % shape.batch_blocks) * select(1u, 4u, OQ == 0u);
  var rest = i / shape.batch_blocks;
  let g = rest % shape.col_groups;
  rest /= shape.col_groups;
  let r = rest % shape.stride;
  rest /= shape.stride;
  let oy = rest % shape.out_h;
  let oc0 = (rest / shape.out_h) * max(4u * OQ, 1u);
  let t0 = g * 4u * PQ;

  let s = i32(shape.stride);
  let k = i32(shape.kernel);
  // Taps ky = ky0 + S my read input row cy - my; keep the rows inside [0, H).
  let ky0 = i32((oy + shape.pad) % shape.stride);
  let cy = (i32(oy + shape.pad) - ky0) / s;
  let my_lo = max(0, cy - i32(shape.height) + 1);
  let my_hi = min((k - ky0 + s - 1) / s, cy + 1);
  let kx0 = i32((r + shape.pad) % shape.stride);
  let cx = i32(t0) + (i32(r + shape.pad) - kx0) / s;
  let taps_x = (k - kx0 + s - 1) / s;

  let ocp4 = (shape.out_ch + 15u) / 16u * 4u; // vec4s per tap of wp
  let chw = shape.in_ch * shape.height * shape.width;
  let imgs = min(vec4u(n) + vec4u(0u, 1u, 2u, 3u), vec4u(shape.batch - 1u)) * chw - n * chw;
  var a00 = mat4x4f();
  var a01 = mat4x4f();
  var a10 = mat4x4f();
  var a11 = mat4x4f();
  var a20 = mat4x4f();
  var a21 = mat4x4f();
  var a30 = mat4x4f();
  var a31 = mat4x4f();
  // Blocks beyond OQ and PQ are never stored, so the compiler drops their arithmetic.
  for (var ic = 0u; ic < shape.in_ch; ic++) {
    let xplane = (n * shape.in_ch + ic) * shape.height;
    for (var my = my_lo; my < my_hi; my++) {
      let xrow = (xplane + u32(cy - my)) * shape.width;
      let ky = ky0 + my * s;
      // vec4 index of channel oc0 at tap (ic, ky, kx0); each later tap is S taps further.
      var wi = ((ic * shape.kernel + u32(ky)) * shape.kernel + u32(kx0)) * ocp4 + oc0 / 4u;
      let wstep = u32(s) * ocp4;
      if (OQ == 0u) {
        for (var mx = 0; mx < taps_x; mx++) {
          let wv = wp[wi][oc0 % 4u];
          wi += wstep;
          a00 += x4x4(xrow, imgs, cx - mx) * wv;
          a01 += x4x4(xrow, imgs, cx - mx + 4) * wv;
        }
        continue;
      }
      // xa | xb: the inputs of the block's pixels 0-7 at tap mx, columns cx - mx .. cx - mx + 7;
      // the next tap shifts in column cx - mx - 1 on the left.
      var xa = x4(xrow, cx);
      var xb = vec4f();
      if (PQ == 2u) {
        xb = x4(xrow, cx + 4);
      }
      for (var mx = 0; mx < taps_x; mx++) {
        if (mx > 0) {
          xb = vec4f(xa.w, xb.xyz);
          xa = vec4f(x1(xrow, cx - mx), xa.xyz);
        }
        // One load per lane: lane l holds vec4 l mod OQ of the tap's OQ.
        let wl = wp[wi + lane % max(OQ, 1u)];
        let wa = subgroupBroadcast(wl, 0u);
        a00 += outer(wa, xa);
        a01 += outer(wa, xb);
        if (OQ > 1u) {
          let wb1 = subgroupBroadcast(wl, 1u);
          a10 += outer(wb1, xa);
          a11 += outer(wb1, xb);
        }
        if (OQ > 2u) {
          let wb2 = subgroupBroadcast(wl, 2u);
          let wb3 = subgroupBroadcast(wl, 3u);
          a20 += outer(wb2, xa);
          a21 += outer(wb2, xb);
          a30 += outer(wb3, xa);
          a31 += outer(wb3, xb);
        }
        wi += wstep;
      }
    }
  }
  store4(a00, 0u, 0u, n, oc0, oy, r, t0);
  store4(a01, 0u, 1u, n, oc0, oy, r, t0);
  store4(a10, 1u, 0u, n, oc0, oy, r, t0);
  store4(a11, 1u, 1u, n, oc0, oy, r, t0);
  store4(a20, 2u, 0u, n, oc0, oy, r, t0);
  store4(a21, 2u, 1u, n, oc0, oy, r, t0);
  store4(a30, 3u, 0u, n, oc0, oy, r, t0);
  store4(a31, 3u, 1u, n, oc0, oy, r, t0);
}
