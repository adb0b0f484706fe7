// 2-D convolution, backward to the weight and bias, second pass: sums the per-chunk partials of
// conv2d_backward_weight.wgsl into dw and db (overwrite, no accumulate).
// Bindings: 0 shape (uniform), 1 part (read), 2 dw (write), 3 db (write).
// part is (chunks, OC C KH KW + OC); dw is (OC, C, KH, KW); db is (OC).
// One invocation sums one element over the chunks, in chunk order.

override WG: u32 = 256;

struct Shape {
  w_count: u32, // OC C KH KW
  oc: u32,
  chunks: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<storage, read_write> db: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let stride = shape.w_count + shape.oc;
  if (i >= stride) {
    return;
  }
  var s = 0.0;
  for (var k = 0u; k < shape.chunks; k++) {
    s += part[k * stride + i];
  }
  if (i < shape.w_count) {
    dw[i] = s;
  } else {
    db[i - shape.w_count] = s;
  }
}
