// Max pool 2x2, stride 2, forward: y = the largest of each 2x2 window, and where it was.
// Bindings: 0 shape (uniform), 1 x (read), 2 y (write), 3 argmax (write).
// x is (N, C, H, W), seen as `planes` = N*C planes of H x W; y and argmax are
// (N, C, OH, OW) with OH = floor(H / 2), OW = floor(W / 2) (an odd last row or column is
// dropped, as in PyTorch). argmax holds the winner's place in its window, row-major:
// 0 (top left), 1 (top right), 2 (bottom left), 3 (bottom right). Ties go to the first in
// that order, as in PyTorch (strict >).
// RELU: the pool of relu(x), as max(0, the window's max) (the same numbers: ReLU keeps the
// order), for the conv encoder's ReLU then pool in one pass; a window whose max is not above 0
// records argmax 4, "no winner" (relu(x) is 0 there and passes no gradient back).
// One invocation computes one output row: the divisions that find it run once per row (on
// lavapipe an integer division is a scalar loop over the lanes, which cost more than the
// element's loads when it ran once per element: 2-3x slower).

override WG: u32 = 256;
override RELU: bool = false;

struct Shape {
  planes: u32,
  height: u32,
  width: u32,
  out_height: u32,
  out_width: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid;
  if (row >= shape.planes * shape.out_height) {
    return;
  }
  let p = row / shape.out_height;
  let oh = row - p * shape.out_height;
  var top = (p * shape.height + 2u * oh) * shape.width;
  var o = row * shape.out_width;
  for (var ow = 0u; ow < shape.out_width; ow++) {
    let bottom = top + shape.width;
    var best = x[top];
    var at = 0u;
    let v1 = x[top + 1u];
    if (v1 > best) {
      best = v1;
      at = 1u;
    }
    let v2 = x[bottom];
    if (v2 > best) {
      best = v2;
      at = 2u;
    }
    let v3 = x[bottom + 1u];
    if (v3 > best) {
      best = v3;
      at = 3u;
    }
    if (RELU && !(best > 0.0)) {
      best = 0.0;
      at = 4u;
    }
    y[o] = best;
    argmax[o] = at;
    top += 2u;
    o += 1u;
  }
}
