// Linear layer, forward, for a CPU adapter with 8-lane subgroups (lavapipe on AVX2):
// y = x w^T + b.
// Bindings: 0 shape (uniform), 1 x (read), 2 w (read), 3 b (read), 4 y (write).
// x is (N, K), w is (M, K), b is (M), y is (N, M), all row-major f32. x and w are bound as vec4
// arrays (the op widens those bindings to a multiple of 16 bytes).
// A workgroup is one subgroup of 8 lanes and computes a 32 x 32 block of y: rows
// n0 .. n0 + 32 against rows m0 .. m0 + 32 of w, lane l taking the four columns
// m0 + 4l .. m0 + 4l + 4. Workgroup t takes the block (t / ceil(M / 32), t % ceil(M / 32)).
// Why this shape: on llvmpipe a subgroup is one SIMD register and every storage load a
// scalar loop over its lanes, so a row of x that every lane needs costs 8 times what it is
// worth when each lane loads it. Here lane l loads rows n0 + l + 8q (q < 4) and the others
// take them from it with subgroupBroadcast, one register shuffle: 8 vec4 loads per lane per
// 4 k's for 512 multiply-adds, where kernels/linear_forward.wgsl needs 32 for 1024 (2.3x
// faster at 1024^3, measured in src/ops/linear.ts).
// acc_i[c][r] = y[n0 + 4i + r, m0 + 4l + c], as in linear_forward.wgsl.
// Rows and columns past the edges re-read the last row (always in bounds) and are never
// stored.
// VEC4 (K % 4 == 0): rows start on vec4 boundaries and there is no k tail, so every vec4 is one
// load. Otherwise rows are read element by element and entries past K read as 0.
// ACT applies an activation to the output, so y = act(x w^T + b): 4 none, else the codes of
// activation_forward.wgsl (0 tanh, 1 ReLU, 2 LeakyReLU(shape.slope), 3 sigmoid), the same
// functions. One dispatch fewer per hidden layer (src/ops/linear.ts).
// The overrides, Shape, bindings, act, LANES, x4 and w4 are lib/linear_forward.wgsl's, shared
// with linear_forward.wgsl; this file holds rows4, put and main.

// #include "lib/linear_forward.wgsl"

// Rows 4j .. 4j + 4 of the 8 that lanes 0..7 hold in v, as the columns of a matrix,
// transposed: transpose(rows) * w pairs every row with every w row, as in
// linear_forward.wgsl's xq.
fn rows4(v: vec4f, j: u32) -> mat4x4f {
  if (j == 0u) {
    return transpose(mat4x4f(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u),
                             subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u)));
  }
  return transpose(mat4x4f(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u),
                           subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u)));
}

fn put(acc: mat4x4f, n: u32, m: u32) {
  for (var c = 0u; c < 4u; c++) {
    if (m + c < shape.m) {
      let bias = b[m + c];
      for (var r = 0u; r < 4u; r++) {
        if (n + r < shape.n) {
          y[(n + r) * shape.m + m + c] = act(acc[c][r] + bias, shape.slope);
        }
      }
    }
  }
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(subgroup_invocation_id) lane: u32) {
  let t = wid.x + wid.y * nwg.x;
  let col_blocks = (shape.m + 31u) / 32u;
  let n0 = (t / col_blocks) * 32u;
  let m = (t % col_blocks) * 32u + 4u * lane;
  if (n0 >= shape.n) {
    return;
  }
  let last_n = shape.n - 1u;
  let last_m = shape.m - 1u;
  // Flat starts of this lane's four x rows and four w rows.
  let xr = min(vec4u(n0 + lane) + vec4u(0u, 8u, 16u, 24u), vec4u(last_n)) * shape.k;
  let wr = min(vec4u(m) + vec4u(0u, 1u, 2u, 3u), vec4u(last_m)) * shape.k;
  var a0 = mat4x4f(); var a1 = mat4x4f(); var a2 = mat4x4f(); var a3 = mat4x4f();
  var a4 = mat4x4f(); var a5 = mat4x4f(); var a6 = mat4x4f(); var a7 = mat4x4f();
  for (var k = 0u; k < shape.k; k += 4u) {
    let live = shape.k - k;
    let wk = mat4x4f(w4(wr.x + k, live), w4(wr.y + k, live), w4(wr.z + k, live),
                     w4(wr.w + k, live));
    let x0 = x4(xr.x + k, live);
    let x1 = x4(xr.y + k, live);
    let x2 = x4(xr.z + k, live);
    let x3 = x4(xr.w + k, live);
    a0 += rows4(x0, 0u) * wk; a1 += rows4(x0, 1u) * wk;
    a2 += rows4(x1, 0u) * wk; a3 += rows4(x1, 1u) * wk;
    a4 += rows4(x2, 0u) * wk; a5 += rows4(x2, 1u) * wk;
    a6 += rows4(x3, 0u) * wk; a7 += rows4(x3, 1u) * wk;
  }
  // Lane l's row n0 + 8q + j is in a_{2q + j / 4}: rows 8q .. 8q + 8 from x_q.
  put(a0, n0, m); put(a1, n0 + 4u, m);
  put(a2, n0 + 8u, m); put(a3, n0 + 12u, m);
  put(a4, n0 + 16u, m); put(a5, n0 + 20u, m);
  put(a6, n0 + 24u, m); put(a7, n0 + 28u, m);
}
