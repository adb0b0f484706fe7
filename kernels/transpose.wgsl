// Batched matrix transpose: dst (B, C, R) from src (B, R, C), both row-major f32:
// dst[b, c, r] = src[b, r, c].
// Bindings: 0 shape (uniform), 1 src (read), 2 dst (write).
// ConvTranspose2d's GEMM path (src/ops/conv_transpose2d.ts) uses it to turn an NCHW tensor into
// rows of channels, (N, H W, C), and back, and a weight (IC, OC K K) into (OC K K, IC) and back.
// One invocation writes one row of dst, (b, c), walking its R entries: the division that finds
// (b, c) runs once per row (on lavapipe a division by a value from a buffer is a scalar loop
// over the lanes), and neighbouring invocations read neighbouring words of src.

override WG: u32 = 64;

struct Shape {
  batch: u32,
  rows: u32, // R
  cols: u32, // C
  count: u32, // B C, the rows of dst
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.count) {
    return;
  }
  let b = i / shape.cols;
  var s = b * shape.rows * shape.cols + i % shape.cols;
  var d = i * shape.rows;
  for (var r = 0u; r < shape.rows; r++) {
    dst[d] = src[s];
    d += 1u;
    s += shape.cols;
  }
}
