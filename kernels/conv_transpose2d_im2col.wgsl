// Transposed 2-D convolution, backward, first step of the GEMM path (src/ops/conv_transpose2d.ts):
// the output gradient seen from each input pixel.
// Bindings: 0 shape (uniform), 1 dy (read), 2 cols (write).
// dy is (N, OC, OH, OW); cols is (N H W, OC K K): cols[(n, iy, ix), (oc, ky, kx)] =
// dy[n, oc, S iy - P + ky, S ix - P + kx], 0 where that is outside the output. Then
// dX (as rows (n, iy, ix) of IC) = cols times w viewed as (IC, OC K K) transposed, and
// dW (as (OC K K, IC)) = cols^T times x as rows: two GEMMs (kernels/linear_backward_*.wgsl).
// One invocation writes one row of cols (n, iy, ix), walking (oc, ky, kx): the divisions that
// find the pixel run once per row.

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
  rows: u32, // N H W
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> cols: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.rows) {
    return;
  }
  let K = shape.kernel;
  let ix = i % shape.width;
  let niy = i / shape.width;
  let iy = niy % shape.height;
  let n = niy / shape.height;
  let oy0 = i32(iy * shape.stride) - i32(shape.pad);
  let ox0 = i32(ix * shape.stride) - i32(shape.pad);
  let plane = shape.out_h * shape.out_w;
  var d = i * shape.out_ch * K * K;
  for (var oc = 0u; oc < shape.out_ch; oc++) {
    let base = (n * shape.out_ch + oc) * plane;
    for (var ky = 0u; ky < K; ky++) {
      let oy = oy0 + i32(ky);
      let row_ok = oy >= 0 && oy < i32(shape.out_h);
      let row = base + u32(max(oy, 0)) * shape.out_w;
      for (var kx = 0u; kx < K; kx++) {
        let ox = ox0 + i32(kx);
        let ok = row_ok && ox >= 0 && ox < i32(shape.out_w);
        cols[d] = select(0.0, dy[select(0u, row + u32(max(ox, 0)), ok)], ok);
        d += 1u;
      }
    }
  }
}
