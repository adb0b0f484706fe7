// Transposed 2-D convolution, forward, second half of the GEMM path (src/ops/conv_transpose2d.ts):
// the output from the products of every input pixel with the weight.
// Bindings: 0 shape (uniform), 1 cols (read), 2 b (read), 3 y (write).
// cols is (N H W, OC K K): row (n, iy, ix), column (oc, ky, kx) holds
// sum over ic of x[n, ic, iy, ix] w[ic, oc, ky, kx] (one GEMM, kernels/linear_forward*.wgsl).
// y is (N, OC, OH, OW): y[n, oc, oy, ox] = b[oc] + the sum of cols[(n, iy, ix), (oc, ky, kx)] over
// the taps with oy + P - ky = S iy and ox + P - kx = S ix, 0 <= iy < H, 0 <= ix < W: the same
// sums as conv_transpose2d_forward.wgsl, in another order.
// One invocation writes one output row (n, oc, oy), walking ox, with n fastest; the taps of a
// pixel are those of its residue class: ky = ky0 + S j with ky0 = (oy + P) mod S and
// iy = iy0 - j, and the same along the row, where (ix0, kx0) is (ox + P) divided by S, carried
// from pixel to pixel.

override WG: u32 = 64;

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
  rows: u32, // N OC OH
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> cols: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.rows) {
    return;
  }
  let K = shape.kernel;
  let S = shape.stride;
  // Images fastest: the lanes of a SIMD batch share their row and channel, so their tap loops
  // run in step.
  let n = i % shape.batch;
  let ocy = i / shape.batch;
  let oy = ocy % shape.out_h;
  let oc = ocy / shape.out_h;
  let row_len = shape.out_ch * K * K;
  let ky0 = (oy + shape.pad) % S;
  let iy0 = i32((oy + shape.pad) / S);
  let bias = b[oc];
  // (ox + P) = S ix0 + kx0 for ox = 0, then carried along the row.
  var kx0 = shape.pad % S;
  var ix0 = i32(shape.pad / S);
  var out = ((n * shape.out_ch + oc) * shape.out_h + oy) * shape.out_w;
  for (var ox = 0u; ox < shape.out_w; ox++) {
    var acc = bias;
    var iy = iy0;
    for (var ky = ky0; ky < K && iy >= 0; ky += S) {
      if (iy < i32(shape.height)) {
        let tap_row = (oc * K + ky) * K;
        let pix_row = (n * shape.height + u32(iy)) * shape.width;
        var ix = ix0;
        for (var kx = kx0; kx < K && ix >= 0; kx += S) {
          if (ix < i32(shape.width)) {
            acc += cols[(pix_row + u32(ix)) * row_len + tap_row + kx];
          }
          ix -= 1;
        }
      }
      iy -= 1;
    }
    y[out] = acc;
    out += 1u;
    kx0 += 1u;
    if (kx0 == S) {
      kx0 = 0u;
      ix0 += 1;
    }
  }
}
