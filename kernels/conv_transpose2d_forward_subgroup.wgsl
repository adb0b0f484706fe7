// conv_transpose2d_forward.wgsl for a CPU adapter with 8-lane subgroups (lavapipe on AVX2), run
// in workgroups of one subgroup (WG = 8) on layers whose blocks of images come in multiples of 8
// (conv_transpose2d_variant.ts), so that a subgroup's lanes share their channels, row and taps:
// each lane loads one of a tap's OQ weight vec4s and takes the others from its subgroup with
// subgroupBroadcast (one register shuffle on lavapipe, where a load is a loop over the lanes),
// 1 weight load per tap where there were OQ. The rest of this header is
// conv_transpose2d_forward.wgsl's.
//
// Transposed 2-D convolution, forward (PyTorch ConvTranspose2d without output_padding), gather form.
// Bindings: 0 shape (uniform), 1 x (read), 2 wp (read), 3 b (read), 4 y (write).
// x is (N, IC, H, W), b is (OC), y is (N, OC, OH, OW), OH = (H - 1) S - 2 P + K. wp is the weight
// w (IC, OC, K, K) packed by conv2d_pack_weight.wgsl (by_input = 1, w read as a conv2d weight
// with IC outputs and OC inputs) as (IC, K, K, OCP), OCP = OC rounded up to 16 with zeros, read
// as vec4s of four output channels.
// y[n, oc, oy, ox] = b[oc] + sum over ic and over the taps (ky, kx) for which oy + P - ky and
// ox + P - kx are multiples of S of x[n, ic, (oy + P - ky) / S, (ox + P - kx) / S] w[ic, oc, ky, kx].
// One invocation computes a register block of one output row: 4 OQ channels (or, with OQ = 0,
// one channel of 4 images) x 4 PQ pixels. The pixels are ox = r + S t for consecutive t: one
// residue class r = ox mod S, so they share their taps, and pixel t reads input column
// t + (r + P - kx) / S. Each (ic, tap) step is then an outer product of weights and inputs into
// mat4x4 accumulators (channel or image x pixel): on llvmpipe every storage load is a per-lane
// gather, so loads per FMA set the speed. Each tap's four channels' weights are one vec4 load,
// and along a row the next tap (kx + S) reads the pixels' inputs one column to the left: a
// sliding window loads one new input per tap. Invocations run with n fastest, so the lanes of
// one SIMD batch share their taps and trip counts.

override WG: u32 = 64;
override OQ: u32 = 2; // output-channel quads per invocation: 1, 2 or 4; 0: one channel, 4 images
override PQ: u32 = 2; // pixel quads per invocation: 1 or 2

struct Shape {
  batch: u32,
  in_ch: u32,
  out_ch: u32,
  height: u32,
  width: u32,
  out_h: u32,
  out_w: u32,
  kernel: u32,
  stride: u32,
  pad: u32,
  batch_blocks: u32, // N, or ceil(N / 4) with OQ = 0
  oc_blocks: u32, // ceil(OC / (4 OQ)), or OC with OQ = 0
  col_groups: u32, // ceil(ceil(OW / S) / (4 PQ)), blocks per residue class and row
  items: u32, // batch_blocks oc_blocks OH S col_groups
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<vec4f>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn outer(u: vec4f, v: vec4f) -> mat4x4f {
  return mat4x4f(u * v.x, u * v.y, u * v.z, u * v.w);
}

// The input at column ix of one row, zero outside the row.
fn x1(row: u32, ix: i32) -> f32 {
  let ok = ix >= 0 && ix < i32(shape.width);
  return select(0.0, x[row + u32(clamp(ix, 0, i32(shape.width) - 1))], ok);
}

// Four inputs of one row from column ix on, zero outside the row.
fn x4(row: u32, ix: i32) -> vec4f {
  let c = vec4i(ix) + vec4i(0, 1, 2, 3);
  let last = i32(shape.width) - 1;
  let ok = (c >= vec4i(0)) & (c <= vec4i(last));
  let i = vec4u(clamp(c, vec4i(0), vec4i(last))) + row;
  return select(vec4f(0.0), vec4f(x[i.x], x[i.y], x[i.z], x[i.w]), ok);
}

// The same row of four images (offsets `o`) as rows of a matrix: [pixel][image].
fn x4x4(row: u32, o: vec4u, ix: i32) -> mat4x4f {
  return transpose(mat4x4f(x4(row + o.x, ix), x4(row + o.y, ix), x4(row + o.z, ix), x4(row + o.w, ix)));
}


// Stores block (bq, bp): acc[p][j] is pixel t0 + 4 bp + p of channel oc0 + 4 bq + j, or with
// OQ = 0 of channel oc0 and image n + j. Blocks beyond OQ and PQ are skipped.
fn store4(acc: mat4x4f, bq: u32, bp: u32, n: u32, oc0: u32, oy: u32, r: u32, t0: u32) {
  if (bq >= max(OQ, 1u) || bp >= PQ) {
    return;
  }
  let plane = shape.out_h * shape.out_w;
  for (var j = 0u; j < 4u; j++) {
    let oc = select(oc0 + 4u * bq + j, oc0, OQ == 0u);
    let img = select(n, n + j, OQ == 0u);
    if (oc < shape.out_ch && img < shape.batch) {
      let row = ((img * shape.out_ch + oc) * shape.out_h + oy) * shape.out_w;
      for (var p = 0u; p < 4u; p++) {
        let ox = r + shape.stride * (t0 + 4u * bp + p);
        if (ox < shape.out_w) {
          y[row + ox] = acc[p][j] + b[oc];
        }
      }
    }
  }
}

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
