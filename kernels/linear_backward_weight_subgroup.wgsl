// Linear layer, weight and bias gradients, for a CPU adapter with 8-lane subgroups (lavapipe
// on AVX2): dw = dy^T x, db = sum over n of dy.
// Bindings: 0 shape (uniform), 1 dy (read), 2 x (read), 3 dw (read_write), 4 db (read_write).
// dy is (N, M), x is (N, K), dw is (M, K), db is (M), all row-major f32. dy and x are bound as
// vec4 arrays (the op widens those bindings to a multiple of 16 bytes).
// A workgroup is one subgroup of 8 lanes and computes a 32 x 32 block of dw: rows
// m0 .. m0 + 32, lane l taking the four columns k0 + 4l .. k0 + 4l + 4 as one vec4.
// Workgroup t takes the block (t / ceil(K / 32), t % ceil(K / 32)).
// Per step of 8 along n, lane l loads row n0 + l of dy over the block's 32 rows of dw, which
// the other lanes take from it with subgroupBroadcast (see linear_forward_subgroup.wgsl),
// and the 8 x rows at its columns: 16 vec4 loads for 1024 multiply-adds.
// acc_q[i][c] = dw[m0 + 4q + i, k0 + 4l + c]. db is fused in: each lane sums the dy values it
// loads and the workgroups with k0 = 0 add the lanes' sums. accumulate = 1 adds into dw and
// db instead of overwriting them. dy rows past N read as 0; x rows past N, rows of dw past M
// and columns past K re-read the last ones (always in bounds), and the last two are never
// stored.
// DY_VEC4 (M % 4 == 0) and X_VEC4 (K % 4 == 0): that operand's rows start on vec4 boundaries,
// so every vec4 of it is one load. Otherwise its rows are read element by element, several
// times the cost on lavapipe: separate flags let a layer with an odd K (the MLP decoder's
// 2 -> 500) still read dy whole.
// Shape, the bindings and LANES are lib/linear_backward_weight.wgsl's, shared with
// linear_backward_weight.wgsl; this file holds DY_VEC4, X_VEC4, the loads, the stores and main.

override DY_VEC4: bool = true;
override X_VEC4: bool = true;

// #include "lib/linear_backward_weight.wgsl"

// Row `row` of dy, the 4 columns from c, clamped to the row's last element (they feed only dw
// and db entries that are never stored).
fn dy4(row: u32, c: u32) -> vec4f {
  let start = row * shape.m;
  if (DY_VEC4) {
    return dy[(start + c) >> 2u];
  }
  let j = vec4u(start) + min(vec4u(c) + LANES, vec4u(shape.m - 1u));
  return vec4f(dy[j.x >> 2u][j.x & 3u], dy[j.y >> 2u][j.y & 3u], dy[j.z >> 2u][j.z & 3u],
               dy[j.w >> 2u][j.w & 3u]);
}

// The same for x.
fn x4(row: u32, c: u32) -> vec4f {
  let start = row * shape.k;
  if (X_VEC4) {
    return x[(start + c) >> 2u];
  }
  let j = vec4u(start) + min(vec4u(c) + LANES, vec4u(shape.k - 1u));
  return vec4f(x[j.x >> 2u][j.x & 3u], x[j.y >> 2u][j.y & 3u], x[j.z >> 2u][j.z & 3u],
               x[j.w >> 2u][j.w & 3u]);
}

// dy rows 4j .. 4j + 4 of the 8 that lanes 0..7 hold in v, transposed: column i holds
// dw row i's factor from each of the 4 n's, so mat4x4f(x rows) * rows4(v, j) sums them.
fn rows4(v: vec4f, j: u32) -> mat4x4f {
  if (j == 0u) {
    return transpose(mat4x4f(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u),
                             subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u)));
  }
  return transpose(mat4x4f(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u),
                           subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u)));
}

fn put(acc: mat4x4f, m: u32, kv: u32) {
  if (4u * kv >= shape.k) {
    return;
  }
  let cols = min(4u, shape.k - 4u * kv);
  for (var i = 0u; i < 4u; i++) {
    if (m + i < shape.m) {
      let o = (m + i) * shape.k + 4u * kv;
      for (var c = 0u; c < cols; c++) {
        if (shape.accumulate != 0u) {
          dw[o + c] += acc[i][c];
        } else {
          dw[o + c] = acc[i][c];
        }
      }
    }
  }
}

fn put_bias(s: vec4f, m: u32) {
  for (var i = 0u; i < 4u; i++) {
    if (m + i < shape.m) {
      if (shape.accumulate != 0u) {
        db[m + i] += s[i];
      } else {
        db[m + i] = s[i];
      }
    }
  }
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(subgroup_invocation_id) lane: u32) {
  let t = wid.x + wid.y * nwg.x;
  let k4 = (shape.k + 3u) / 4u;
  let m4 = (shape.m + 3u) / 4u;
  let col_blocks = (k4 + 7u) / 8u;
  let m0 = (t / col_blocks) * 32u;
  let kv = (t % col_blocks) * 8u + lane;
  if (m0 >= shape.m) {
    return;
  }
  // This lane's first x column and the block's dy columns, clamped.
  let xc = 4u * min(kv, k4 - 1u);
  let ya = 4u * min(vec4u(m0 / 4u) + vec4u(0u, 1u, 2u, 3u), vec4u(m4 - 1u));
  let yb = 4u * min(vec4u(m0 / 4u) + vec4u(4u, 5u, 6u, 7u), vec4u(m4 - 1u));
  var a0 = mat4x4f(); var a1 = mat4x4f(); var a2 = mat4x4f(); var a3 = mat4x4f();
  var a4 = mat4x4f(); var a5 = mat4x4f(); var a6 = mat4x4f(); var a7 = mat4x4f();
  var s0 = vec4f(); var s1 = vec4f(); var s2 = vec4f(); var s3 = vec4f();
  var s4 = vec4f(); var s5 = vec4f(); var s6 = vec4f(); var s7 = vec4f();
  let last = shape.n - 1u;
  for (var n = 0u; n < shape.n; n += 8u) {
    // Lane l's row of dy, 0 past the end.
    let live = n + lane < shape.n;
    let yrow = min(n + lane, last);
    let g0 = select(vec4f(), dy4(yrow, ya.x), live);
    let g1 = select(vec4f(), dy4(yrow, ya.y), live);
    let g2 = select(vec4f(), dy4(yrow, ya.z), live);
    let g3 = select(vec4f(), dy4(yrow, ya.w), live);
    let g4 = select(vec4f(), dy4(yrow, yb.x), live);
    let g5 = select(vec4f(), dy4(yrow, yb.y), live);
    let g6 = select(vec4f(), dy4(yrow, yb.z), live);
    let g7 = select(vec4f(), dy4(yrow, yb.w), live);
    s0 += g0; s1 += g1; s2 += g2; s3 += g3; s4 += g4; s5 += g5; s6 += g6; s7 += g7;
    let xa = mat4x4f(x4(min(n, last), xc), x4(min(n + 1u, last), xc),
                     x4(min(n + 2u, last), xc), x4(min(n + 3u, last), xc));
    let xb = mat4x4f(x4(min(n + 4u, last), xc), x4(min(n + 5u, last), xc),
                     x4(min(n + 6u, last), xc), x4(min(n + 7u, last), xc));
    a0 += xa * rows4(g0, 0u) + xb * rows4(g0, 1u);
    a1 += xa * rows4(g1, 0u) + xb * rows4(g1, 1u);
    a2 += xa * rows4(g2, 0u) + xb * rows4(g2, 1u);
    a3 += xa * rows4(g3, 0u) + xb * rows4(g3, 1u);
    a4 += xa * rows4(g4, 0u) + xb * rows4(g4, 1u);
    a5 += xa * rows4(g5, 0u) + xb * rows4(g5, 1u);
    a6 += xa * rows4(g6, 0u) + xb * rows4(g6, 1u);
    a7 += xa * rows4(g7, 0u) + xb * rows4(g7, 1u);
  }
  put(a0, m0, kv); put(a1, m0 + 4u, kv); put(a2, m0 + 8u, kv); put(a3, m0 + 12u, kv);
  put(a4, m0 + 16u, kv); put(a5, m0 + 20u, kv); put(a6, m0 + 24u, kv); put(a7, m0 + 28u, kv);
  // Every lane takes part in the sums; lane 0 of the first column block stores them.
  let b0 = subgroupAdd(s0); let b1 = subgroupAdd(s1); let b2 = subgroupAdd(s2);
  let b3 = subgroupAdd(s3); let b4 = subgroupAdd(s4); let b5 = subgroupAdd(s5);
  let b6 = subgroupAdd(s6); let b7 = subgroupAdd(s7);
  if (kv == 0u) {
    put_bias(b0, m0); put_bias(b1, m0 + 4u); put_bias(b2, m0 + 8u); put_bias(b3, m0 + 12u);
    put_bias(b4, m0 + 16u); put_bias(b5, m0 + 20u); put_bias(b6, m0 + 24u);
    put_bias(b7, m0 + 28u);
  }
}
