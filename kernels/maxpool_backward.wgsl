// Max pool 2x2, stride 2, backward: each window's dy goes to the element that won it.
// Bindings: 0 shape (uniform), 1 dy (read), 2 argmax (read), 3 dx (write).
// dx is (N, C, H, W); dy and argmax are (N, C, OH, OW) as maxpool_forward.wgsl wrote them
// (argmax = the winner's place 0..3 in its window, row-major; 4, no winner, after a forward
// with RELU: the whole window gets 0).
// One invocation computes one row of windows: each window's 4 elements of dx (dy at the
// winner, 0 elsewhere), and the elements of the row or column that an odd size drops beside
// them (0). So every dx element is written exactly once: no clearing, no races. Per row of
// windows rather than per input element or window: the divisions that find the row run once
// (on lavapipe an integer division is a scalar loop over the lanes).

override WG: u32 = 256;

struct Shape {
  planes: u32,
  height: u32,
  width: u32,
  out_height: u32,
  out_width: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid;
  if (row >= shape.planes * shape.out_height) {
    return;
  }
  let p = row / shape.out_height;
  let oh = row - p * shape.out_height;
  let w = shape.width;
  let dropped_row = (shape.height & 1u) == 1u && oh == shape.out_height - 1u;
  var top = (p * shape.height + 2u * oh) * w;
  var o = row * shape.out_width;
  for (var ow = 0u; ow < shape.out_width; ow++) {
    let bottom = top + w;
    let g = dy[o];
    let at = argmax[o];
    dx[top] = select(0.0, g, at == 0u);
    dx[top + 1u] = select(0.0, g, at == 1u);
    dx[bottom] = select(0.0, g, at == 2u);
    dx[bottom + 1u] = select(0.0, g, at == 3u);
    if (dropped_row) {
      dx[bottom + w] = 0.0;
      dx[bottom + w + 1u] = 0.0;
    }
    top += 2u;
    o += 1u;
  }
  // The column an odd width drops, beside the row's last window (and below it an odd height's).
  if ((w & 1u) == 1u) {
    dx[top] = 0.0;
    dx[top + w] = 0.0;
    if (dropped_row) {
      dx[top + 2u * w] = 0.0;
    }
  }
}
