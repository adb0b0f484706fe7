// Linear layer, input gradient, shared-memory tiled (for discrete GPUs): dx = dy w.
// Bindings: 0 shape (uniform), 1 dy (read), 2 w (read), 3 dx (read_write), 4 saved (read).
// dy is (N, M), w is (M, K), dx is (N, K), all row-major f32.
// One workgroup computes a 64 x 64 tile of dx (flat workgroup index -> (tile row, tile col));
// per step of 16 along m it stages 64 rows x 16 columns of dy and 16 rows x 64 columns of w
// in workgroup memory, then each of its 256 invocations accumulates a 4 x 4 block: rows
// 4 ty .. 4 ty + 4, columns 4 tx .. 4 tx + 4 with (ty, tx) = (lid / 16, lid % 16).
// Staged tiles are m-major vec4 rows (ta[mm][i] holds dy rows 4i .. 4i + 4 at m + mm) so the
// inner loop reads one vec4 of each; the 17th vec4 pads rows apart in the memory banks.
// accumulate = 1 adds into dx instead of overwriting it.
// The tile geometry fixes the workgroup size, so it is a constant rather than an override.
// ACT multiplies dx by the derivative of the activation that made x, so dx is the gradient
// of the pre-activation: 4 none, else the codes of activation_backward.wgsl (0 tanh, 1 ReLU,
// 2 LeakyReLU(shape.slope), 3 sigmoid), from `saved` (binding 4, (N, K) like dx: x itself, the
// activation's output; ReLU-like ones read its sign, which is the input's for a slope >= 0).
// One dispatch fewer per hidden layer (src/ops/linear.ts). Without ACT, saved is not read.

const TILE = 64u;
const BK = 16u;

// #include "lib/linear_dact.wgsl"

struct Shape {
  n: u32,
  k: u32,
  m: u32,
  accumulate: u32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

var<workgroup> ta: array<array<vec4f, 17>, BK>;
var<workgroup> tb: array<array<vec4f, 17>, BK>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let tile = wid.x + wid.y * nwg.x;
  let tiles_k = (shape.k + TILE - 1u) / TILE;
  if (tile >= tiles_k * ((shape.n + TILE - 1u) / TILE)) {
    return;
  }
  let n0 = (tile / tiles_k) * TILE;
  let k0 = (tile % tiles_k) * TILE;
  let ty = lid / 16u;
  let tx = lid % 16u;
  var acc = mat4x4f();
  for (var m = 0u; m < shape.m; m += BK) {
    // 1024 elements per tile, 4 per invocation; consecutive invocations read along the
    // row (m for dy, k for w).
    for (var e = 0u; e < 4u; e++) {
      let i = lid + e * 256u;
      let row = i / BK;
      let mm = i % BK;
      var g = 0.0;
      if (n0 + row < shape.n && m + mm < shape.m) {
        g = dy[(n0 + row) * shape.m + m + mm];
      }
      ta[mm][row >> 2u][row & 3u] = g;
      let wm = i / TILE;
      let col = i % TILE;
      var wv = 0.0;
      if (m + wm < shape.m && k0 + col < shape.k) {
        wv = w[(m + wm) * shape.k + k0 + col];
      }
      tb[wm][col >> 2u][col & 3u] = wv;
    }
    workgroupBarrier();
    for (var mm = 0u; mm < BK; mm++) {
      let a = ta[mm][ty];
      let bv = tb[mm][tx];
      acc += mat4x4f(bv * a.x, bv * a.y, bv * a.z, bv * a.w);
    }
    workgroupBarrier();
  }
  // acc[i][c] = dx[n0 + 4 ty + i, k0 + 4 tx + c].
  for (var i = 0u; i < 4u; i++) {
    let n = n0 + 4u * ty + i;
    for (var c = 0u; c < 4u; c++) {
      let k = k0 + 4u * tx + c;
      if (n < shape.n && k < shape.k) {
        let j = n * shape.k + k;
        var v = acc[i][c] * dact(j, shape.slope);
        if (shape.accumulate == 1u) {
          v += dx[j];
        }
        dx[j] = v;
      }
    }
  }
}
