// Linear layer, weight and bias gradients, shared-memory tiled (for discrete GPUs):
// dw = dy^T x, db = sum over n of dy.
// Bindings: 0 shape (uniform), 1 dy (read), 2 x (read), 3 dw (read_write), 4 db (read_write).
// dy is (N, M), x is (N, K), dw is (M, K), db is (M), all row-major f32.
// One workgroup computes a 64 x 64 tile of dw (flat workgroup index -> (tile row, tile col));
// per step of 16 along n it stages 16 rows x 64 columns of dy and of x in workgroup memory,
// then each of its 256 invocations accumulates a 4 x 4 block: rows 4 ty .. 4 ty + 4,
// columns 4 tx .. 4 tx + 4 with (ty, tx) = (lid / 16, lid % 16).
// Staged tiles are n-major vec4 rows (ta[nn][i] holds dy columns 4i .. 4i + 4 of row n + nn)
// and both global reads run along rows, so loads coalesce without a transpose.
// db is fused in: every invocation also sums the dy vec4 it already reads, and the column-0
// invocations of the column-0 tiles write it, which saves a dispatch and a pass over dy.
// accumulate = 1 adds into dw and db instead of overwriting them.
// The tile geometry fixes the workgroup size, so it is a constant rather than an override.

const TILE = 64u;
const BK = 16u;

struct Shape {
  n: u32,
  k: u32,
  m: u32,
  accumulate: u32,
  slope: f32, // for linear_backward_input's ACT; unused here
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

var<workgroup> ta: array<array<vec4f, 16>, BK>;
var<workgroup> tb: array<array<vec4f, 16>, BK>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let tile = wid.x + wid.y * nwg.x;
  let tiles_k = (shape.k + TILE - 1u) / TILE;
  if (tile >= tiles_k * ((shape.m + TILE - 1u) / TILE)) {
    return;
  }
  let m0 = (tile / tiles_k) * TILE;
  let k0 = (tile % tiles_k) * TILE;
  let ty = lid / 16u;
  let tx = lid % 16u;
  var acc = mat4x4f();
  var s = vec4f();
  for (var n = 0u; n < shape.n; n += BK) {
    // 1024 elements per tile, 4 per invocation; consecutive invocations read along rows.
    for (var e = 0u; e < 4u; e++) {
      let i = lid + e * 256u;
      let nn = i / TILE;
      let col = i % TILE;
      let nin = n + nn < shape.n;
      var g = 0.0;
      if (nin && m0 + col < shape.m) {
        g = dy[(n + nn) * shape.m + m0 + col];
      }
      var xv = 0.0;
      if (nin && k0 + col < shape.k) {
        xv = x[(n + nn) * shape.k + k0 + col];
      }
      ta[nn][col >> 2u][col & 3u] = g;
      tb[nn][col >> 2u][col & 3u] = xv;
    }
    workgroupBarrier();
    for (var nn = 0u; nn < BK; nn++) {
      let a = ta[nn][ty];
      let bv = tb[nn][tx];
      acc += mat4x4f(bv * a.x, bv * a.y, bv * a.z, bv * a.w);
      s += a;
    }
    workgroupBarrier();
  }
  // acc[i][c] = dw[m0 + 4 ty + i, k0 + 4 tx + c]; s[i] = db[m0 + 4 ty + i].
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + 4u * ty + i;
    for (var c = 0u; c < 4u; c++) {
      let k = k0 + 4u * tx + c;
      if (m < shape.m && k < shape.k) {
        let j = m * shape.k + k;
        var v = acc[i][c];
        if (shape.accumulate == 1u) {
          v += dw[j];
        }
        dw[j] = v;
      }
    }
    if (k0 == 0u && tx == 0u && m < shape.m) {
      var v = s[i];
      if (shape.accumulate == 1u) {
        v += db[m];
      }
      db[m] = v;
    }
  }
}
