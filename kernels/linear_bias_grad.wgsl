// Linear layer, bias gradient from the output gradient transposed: db[m] = sum over n of
// dyt[m, n], summed in order n = 0, 1, ...
// Bindings: 0 shape (uniform), 1 dyt (read), 2 db (write).
// dyt is (M, N) row-major: dy (N, M) transposed, as Linear's transposed weight gradient makes it
// (src/ops/linear.ts), whose weight-gradient kernel is then a forward one and sums no bias.
// One invocation per m walks its row.

override WG: u32 = 64;

struct Shape {
  rows: u32, // M
  cols: u32, // N
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dyt: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let m = (wid.x + wid.y * nwg.x) * WG + lid;
  if (m >= shape.rows) {
    return;
  }
  var acc = 0.0;
  var i = m * shape.cols;
  for (var n = 0u; n < shape.cols; n++) {
    acc += dyt[i];
    i += 1u;
  }
  db[m] = acc;
}
