// Linear layer, input gradient, for a CPU adapter with 8-lane subgroups (lavapipe on AVX2):
// dx = dy w.
// Bindings: 0 shape (uniform), 1 dy (read), 2 w (read), 3 dx (read_write), 4 saved (read).
// dy is (N, M), w is (M, K), dx is (N, K), all row-major f32. dy and w are bound as vec4 arrays
// (the op widens those bindings to a multiple of 16 bytes).
// A workgroup is one subgroup of 8 lanes and computes a 32 x 32 block of dx: rows
// n0 .. n0 + 32, lane l taking the four columns k0 + 4l .. k0 + 4l + 4 as one vec4.
// Workgroup t takes the block (t / ceil(K / 32), t % ceil(K / 32)).
// Per step of 4 along m, lane l loads the dy rows n0 + l + 8q (q < 4), which the other lanes
// take from it with subgroupBroadcast (see linear_forward_subgroup.wgsl), and the 4 w rows
// at its columns: 8 vec4 loads for 512 multiply-adds.
// acc_i[r][c] = dx[n0 + 4i + r, k0 + 4l + c]. accumulate = 1 adds into dx instead of
// overwriting it. Rows and columns past the edges re-read the last ones (always in bounds)
// and are never stored.
// DY_VEC4 (M % 4 == 0) and W_VEC4 (K % 4 == 0): that operand's rows start on vec4 boundaries,
// so every vec4 of it is one load. Otherwise its rows are read element by element (dy entries
// past M read as 0), which costs several times as much on lavapipe: the flags are separate so
// that a layer with an odd K (the MLP decoder's 2 -> 500) still reads dy whole.
// ACT multiplies dx by the derivative of the activation that made x, so dx is the gradient
// of the pre-activation: 4 none, else the codes of activation_backward.wgsl (0 tanh, 1 ReLU,
// 2 LeakyReLU(shape.slope), 3 sigmoid), from `saved` (binding 4, (N, K) like dx: x itself, the
// activation's output; ReLU-like ones read its sign, which is the input's for a slope >= 0).
// One dispatch fewer per hidden layer (src/ops/linear.ts). Without ACT, saved is not read.
// The ACT override, Shape, bindings, dact and LANES are lib/linear_backward_input.wgsl's, shared
// with linear_backward_input.wgsl; this file holds DY_VEC4, W_VEC4, the loads, put and main.

override DY_VEC4: bool = true;
override W_VEC4: bool = true;

// #include "lib/linear_backward_input.wgsl"

// dy[i .. i + 4) for a flat f32 index i; only the first `live` entries are read, the rest are 0.
fn dy4(i: u32, live: u32) -> vec4f {
  if (DY_VEC4) {
    return dy[i >> 2u];
  }
  let j = vec4u(i) + min(LANES, vec4u(live - 1u));
  let v = vec4f(dy[j.x >> 2u][j.x & 3u], dy[j.y >> 2u][j.y & 3u], dy[j.z >> 2u][j.z & 3u],
                dy[j.w >> 2u][j.w & 3u]);
  return select(vec4f(), v, LANES < vec4u(live));
}

// Row `row` of w, the 4 columns from c, clamped to the row's last element (columns past K only
// feed dx entries that are never stored).
fn w4(row: u32, c: u32) -> vec4f {
  let start = row * shape.k;
  if (W_VEC4) {
    return w[(start + c) >> 2u];
  }
  let j = vec4u(start) + min(vec4u(c) + LANES, vec4u(shape.k - 1u));
  return vec4f(w[j.x >> 2u][j.x & 3u], w[j.y >> 2u][j.y & 3u], w[j.z >> 2u][j.z & 3u],
               w[j.w >> 2u][j.w & 3u]);
}

// Rows 4j .. 4j + 4 of the 8 that lanes 0..7 hold in v, as the columns of a matrix.
fn rows4(v: vec4f, j: u32) -> mat4x4f {
  if (j == 0u) {
    return mat4x4f(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u),
                   subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u));
  }
  return mat4x4f(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u),
                 subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u));
}

fn put(acc: mat4x4f, n: u32, kv: u32) {
  if (4u * kv >= shape.k) {
    return;
  }
  let cols = min(4u, shape.k - 4u * kv);
  for (var r = 0u; r < 4u; r++) {
    if (n + r < shape.n) {
      let i = (n + r) * shape.k + 4u * kv;
      for (var c = 0u; c < cols; c++) {
        if (shape.accumulate != 0u) {
          dx[i + c] += acc[r][c] * dact(i + c, shape.slope);
        } else {
          dx[i + c] = acc[r][c] * dact(i + c, shape.slope);
        }
      }
    }
  }
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(subgroup_invocation_id) lane: u32) {
  let t = wid.x + wid.y * nwg.x;
  let k4 = (shape.k + 3u) / 4u;
  let col_blocks = (k4 + 7u) / 8u;
  let n0 = (t / col_blocks) * 32u;
  let kv = (t % col_blocks) * 8u + lane;
  if (n0 >= shape.n) {
    return;
  }
  // Flat starts of this lane's four dy rows; its first w column, clamped.
  let yr = min(vec4u(n0 + lane) + vec4u(0u, 8u, 16u, 24u), vec4u(shape.n - 1u)) * shape.m;
  let wc = min(4u * kv, 4u * (k4 - 1u));
  let last_m = shape.m - 1u;
  var a0 = mat4x4f(); var a1 = mat4x4f(); var a2 = mat4x4f(); var a3 = mat4x4f();
  var a4 = mat4x4f(); var a5 = mat4x4f(); var a6 = mat4x4f(); var a7 = mat4x4f();
  for (var m = 0u; m < shape.m; m += 4u) {
    let live = shape.m - m;
    // w rows past M meet dy entries that read as 0; the clamp keeps them in bounds.
    let wj = mat4x4f(w4(m, wc), w4(min(m + 1u, last_m), wc), w4(min(m + 2u, last_m), wc),
                     w4(min(m + 3u, last_m), wc));
    let g0 = dy4(yr.x + m, live);
    let g1 = dy4(yr.y + m, live);
    let g2 = dy4(yr.z + m, live);
    let g3 = dy4(yr.w + m, live);
    a0 += wj * rows4(g0, 0u); a1 += wj * rows4(g0, 1u);
    a2 += wj * rows4(g1, 0u); a3 += wj * rows4(g1, 1u);
    a4 += wj * rows4(g2, 0u); a5 += wj * rows4(g2, 1u);
    a6 += wj * rows4(g3, 0u); a7 += wj * rows4(g3, 1u);
  }
  put(a0, n0, kv); put(a1, n0 + 4u, kv);
  put(a2, n0 + 8u, kv); put(a3, n0 + 12u, kv);
  put(a4, n0 + 16u, kv); put(a5, n0 + 20u, kv);
  put(a6, n0 + 24u, kv); put(a7, n0 + 28u, kv);
}
