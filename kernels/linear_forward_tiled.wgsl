// Linear layer, forward, shared-memory tiled (for discrete GPUs): y = x w^T + b.
// Bindings: 0 shape (uniform), 1 x (read), 2 w (read), 3 b (read), 4 y (write).
// x is (N, K), w is (M, K), b is (M), y is (N, M), all row-major f32.
// One workgroup computes a 64 x 64 tile of y (flat workgroup index -> (tile row, tile col));
// per step of 16 along k it stages the tile's 64 rows of x and of w in workgroup memory,
// then each of its 256 invocations accumulates a 4 x 4 block: rows 4 ty .. 4 ty + 4,
// columns 4 tx .. 4 tx + 4 with (ty, tx) = (lid / 16, lid % 16).
// Staged tiles are k-major vec4 rows (ta[kk][i] holds rows 4i .. 4i + 4 at k + kk) so the
// inner loop reads one vec4 of each; the 17th vec4 pads rows apart in the memory banks.
// The tile geometry fixes the workgroup size, so it is a constant rather than an override.
// ACT applies an activation to the output, so y = act(x w^T + b): 4 none, else the codes of
// activation_forward.wgsl (0 tanh, 1 ReLU, 2 LeakyReLU(shape.slope), 3 sigmoid), the same
// functions. One dispatch fewer per hidden layer (src/ops/linear.ts).

const TILE = 64u;
const BK = 16u;

// #include "lib/linear_act.wgsl"

struct Shape {
  n: u32,
  k: u32,
  m: u32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> ta: array<array<vec4f, 17>, BK>;
var<workgroup> tb: array<array<vec4f, 17>, BK>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let tile = wid.x + wid.y * nwg.x;
  let tiles_m = (shape.m + TILE - 1u) / TILE;
  if (tile >= tiles_m * ((shape.n + TILE - 1u) / TILE)) {
    return;
  }
  let n0 = (tile / tiles_m) * TILE;
  let m0 = (tile % tiles_m) * TILE;
  let ty = lid / 16u;
  let tx = lid % 16u;
  var acc = mat4x4f();
  for (var k = 0u; k < shape.k; k += BK) {
    // 1024 elements per tile, 4 per invocation; consecutive invocations read along k.
    for (var e = 0u; e < 4u; e++) {
      let i = lid + e * 256u;
      let row = i / BK;
      let kk = i % BK;
      let kin = k + kk < shape.k;
      var xv = 0.0;
      if (n0 + row < shape.n && kin) {
        xv = x[(n0 + row) * shape.k + k + kk];
      }
      var wv = 0.0;
      if (m0 + row < shape.m && kin) {
        wv = w[(m0 + row) * shape.k + k + kk];
      }
      ta[kk][row >> 2u][row & 3u] = xv;
      tb[kk][row >> 2u][row & 3u] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = ta[kk][ty];
      let bv = tb[kk][tx];
      acc += mat4x4f(bv * a.x, bv * a.y, bv * a.z, bv * a.w);
    }
    workgroupBarrier();
  }
  // acc[i][c] = y[n0 + 4 ty + i, m0 + 4 tx + c].
  for (var i = 0u; i < 4u; i++) {
    let n = n0 + 4u * ty + i;
    for (var c = 0u; c < 4u; c++) {
      let m = m0 + 4u * tx + c;
      if (n < shape.n && m < shape.m) {
        y[n * shape.m + m] = act(acc[i][c] + b[m], shape.slope);
      }
    }
  }
}
