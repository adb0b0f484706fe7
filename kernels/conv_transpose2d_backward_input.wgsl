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

override WG: u32 = 64;
override IQ: u32 = 2; // input-channel quads per invocation: 1, 2 or 4
override PQ: u32 = 1; // pixel quads per invocation: 1 or 2

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
  ic_blocks: u32, // ceil(IC / (4 IQ))
  col_groups: u32, // ceil(W / (4 PQ))
  items: u32, // N ic_blocks H col_groups
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn outer(u: vec4f, v: vec4f) -> mat4x4f {
  return mat4x4f(u * v.x, u * v.y, u * v.z, u * v.w);
}

// dy at columns ox, ox + S, ox + 2 S, ox + 3 S of one row, zero outside the row.
fn dy4(row: u32, ox: i32) -> vec4f {
  let c = vec4i(ox) + i32(shape.stride) * vec4i(0, 1, 2, 3);
  let last = i32(shape.out_w) - 1;
  let ok = (c >= vec4i(0)) & (c <= vec4i(last));
  let i = vec4u(clamp(c, vec4i(0), vec4i(last))) + row;
  return select(vec4f(0.0), vec4f(dy[i.x], dy[i.y], dy[i.z], dy[i.w]), ok);
}

// dy at column ox of one row, zero outside the row.
fn dy1(row: u32, ox: i32) -> f32 {
  let ok = ox >= 0 && ox < i32(shape.out_w);
  return select(0.0, dy[row + u32(clamp(ox, 0, i32(shape.out_w) - 1))], ok);
}

// Stores block (bq, bp): acc[p][j] is pixel ix0 + 4 bp + p of input channel ic0 + 4 bq + j.
// Blocks beyond IQ and PQ are skipped.
fn store4(acc: mat4x4f, bq: u32, bp: u32, ic0: u32, row0: u32, ix0: u32) {
  if (bq >= IQ || bp >= PQ) {
    return;
  }
  let plane = shape.height * shape.width;
  for (var j = 0u; j < 4u; j++) {
    let ic = ic0 + 4u * bq + j;
    if (ic < shape.in_ch) {
      for (var p = 0u; p < 4u; p++) {
        let ix = ix0 + 4u * bp + p;
        if (ix < shape.width) {
          dx[row0 + ic * plane + ix] = acc[p][j];
        }
      }
    }
  }
}

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
