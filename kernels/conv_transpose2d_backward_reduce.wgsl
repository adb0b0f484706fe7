// Sums the per-chunk partial gradients of conv_transpose2d_backward_weight and _bias.
// Bindings: 0 shape (uniform), 1 part (read), 2 out (write).
// part is (chunks, len), out is (len): out[e] = sum over c of part[c, e], summed in chunk order.
// One invocation computes one element. src/ops/linear.ts uses it too, for dB of its transposed
// weight gradient: the sum of dY's N rows (chunks = N, len = M).

override WG: u32 = 64;

struct Shape {
  len: u32,
  chunks: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let e = (wid.x + wid.y * nwg.x) * WG + lid;
  if (e >= shape.len) {
    return;
  }
  var acc = 0.0;
  for (var c = 0u; c < shape.chunks; c++) {
    acc += part[c * shape.len + e];
  }
  out[e] = acc;
}
