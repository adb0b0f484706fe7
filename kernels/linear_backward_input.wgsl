// Linear layer, input gradient, register-blocked (no shared memory, no barriers): dx = dy w.
// Bindings: 0 shape (uniform), 1 dy (read), 2 w (read), 3 dx (read_write), 4 saved (read).
// dy is (N, M), w is (M, K), dx is (N, K), all row-major f32. dy and w are bound as vec4
// arrays (the op widens those bindings to a multiple of 16 bytes).
// One invocation computes a 16 x 16 block of dx: rows n0 .. n0 + 16, columns k0 .. k0 + 16.
// Per step of 4 along m it reads a vec4 of 16 dy rows and 4 vec4s of 4 w rows: 32 loads for
// 1024 FMAs, the ratio that measured fastest on llvmpipe (see linear_forward.wgsl).
// acc_qp[r][c] = dx[n0 + 4q + r, k0 + 4p + c]. accumulate = 1 adds into dx instead of
// overwriting it.
// VEC4 (M % 4 == 0 and K % 4 == 0): dy and w rows start on vec4 boundaries, so every vec4
// is one load. Otherwise rows are read element by element and dy entries past M read as 0.
// ACT multiplies dx by the derivative of the activation that made x, so dx is the gradient
// of the pre-activation: 4 none, else the codes of activation_backward.wgsl (0 tanh, 1 ReLU,
// 2 LeakyReLU(shape.slope), 3 sigmoid), from `saved` (binding 4, (N, K) like dx: x itself, the
// activation's output; ReLU-like ones read its sign, which is the input's for a slope >= 0).
// One dispatch fewer per hidden layer (src/ops/linear.ts). Without ACT, saved is not read.
// The ACT override, Shape, bindings, dact and LANES are lib/linear_backward_input.wgsl's, shared
// with linear_backward_input_subgroup.wgsl; this file holds WG, VEC4, the loads, put and main.

override WG: u32 = 16;
override VEC4: bool = true;

// #include "lib/linear_backward_input.wgsl"

// dy[i .. i + 4) for a flat f32 index i; only the first `live` entries are read, the rest
// are 0.
fn dy4(i: u32, live: u32) -> vec4f {
  if (VEC4) {
    return dy[i >> 2u];
  }
  let j = vec4u(i) + min(LANES, vec4u(live - 1u));
  let v = vec4f(dy[j.x >> 2u][j.x & 3u], dy[j.y >> 2u][j.y & 3u], dy[j.z >> 2u][j.z & 3u],
                dy[j.w >> 2u][j.w & 3u]);
  return select(vec4f(), v, LANES < vec4u(live));
}

// Row of w starting at flat index `start`, the 4 columns starting at c. Columns past K are
// clamped to the row's last element: they only feed dx entries that are never stored.
fn w4(start: u32, c: u32) -> vec4f {
  if (VEC4) {
    return w[(start + min(c, shape.k - 4u)) >> 2u];
  }
  let j = vec4u(start) + min(vec4u(c) + LANES, vec4u(shape.k - 1u));
  return vec4f(w[j.x >> 2u][j.x & 3u], w[j.y >> 2u][j.y & 3u], w[j.z >> 2u][j.z & 3u],
               w[j.w >> 2u][j.w & 3u]);
}

// dy rows at flat starts `a`, columns m .. m + 4: column r of the result is row r.
fn dyq(a: vec4u, m: u32, live: u32) -> mat4x4f {
  return mat4x4f(dy4(a.x + m, live), dy4(a.y + m, live), dy4(a.z + m, live),
                 dy4(a.w + m, live));
}

// w rows at flat starts `a` (rows m .. m + 4), the 4 columns starting at c: column j is
// row m + j.
fn wq(a: vec4u, c: u32) -> mat4x4f {
  return mat4x4f(w4(a.x, c), w4(a.y, c), w4(a.z, c), w4(a.w, c));
}

fn put(acc: mat4x4f, n: u32, k: u32) {
  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      if (n + r < shape.n && k + c < shape.k) {
        let i = (n + r) * shape.k + k + c;
        var v = acc[r][c] * dact(i, shape.slope);
        if (shape.accumulate == 1u) {
          v += dx[i];
        }
        dx[i] = v;
      }
    }
  }
}

// Flat starts of rows r0 .. r0 + 4 of a (rows, cols) matrix, clamped to the last row: rows
// past the edge re-read it and their sums are never stored (or multiply a zero dy entry).
fn starts(r0: u32, rows: u32, cols: u32) -> vec4u {
  return min(vec4u(r0) + LANES, vec4u(rows - 1u)) * cols;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  let col_blocks = (shape.k + 15u) / 16u;
  let n0 = (t / col_blocks) * 16u;
  let k0 = (t % col_blocks) * 16u;
  if (n0 >= shape.n) {
    return;
  }
  let ya = starts(n0, shape.n, shape.m);
  let yb = starts(n0 + 4u, shape.n, shape.m);
  let yc = starts(n0 + 8u, shape.n, shape.m);
  let yd = starts(n0 + 12u, shape.n, shape.m);
  var a00 = mat4x4f(); var a01 = mat4x4f(); var a02 = mat4x4f(); var a03 = mat4x4f();
  var a10 = mat4x4f(); var a11 = mat4x4f(); var a12 = mat4x4f(); var a13 = mat4x4f();
  var a20 = mat4x4f(); var a21 = mat4x4f(); var a22 = mat4x4f(); var a23 = mat4x4f();
  var a30 = mat4x4f(); var a31 = mat4x4f(); var a32 = mat4x4f(); var a33 = mat4x4f();
  for (var m = 0u; m < shape.m; m += 4u) {
    let live = shape.m - m;
    let wr = starts(m, shape.m, shape.k);
    let w0 = wq(wr, k0);
    let w1 = wq(wr, k0 + 4u);
    let w2 = wq(wr, k0 + 8u);
    let w3 = wq(wr, k0 + 12u);
    let g0 = dyq(ya, m, live);
    a00 += w0 * g0; a01 += w1 * g0; a02 += w2 * g0; a03 += w3 * g0;
    let g1 = dyq(yb, m, live);
    a10 += w0 * g1; a11 += w1 * g1; a12 += w2 * g1; a13 += w3 * g1;
    let g2 = dyq(yc, m, live);
    a20 += w0 * g2; a21 += w1 * g2; a22 += w2 * g2; a23 += w3 * g2;
    let g3 = dyq(yd, m, live);
    a30 += w0 * g3; a31 += w1 * g3; a32 += w2 * g3; a33 += w3 * g3;
  }
  put(a00, n0, k0); put(a01, n0, k0 + 4u); put(a02, n0, k0 + 8u); put(a03, n0, k0 + 12u);
  put(a10, n0 + 4u, k0); put(a11, n0 + 4u, k0 + 4u);
  put(a12, n0 + 4u, k0 + 8u); put(a13, n0 + 4u, k0 + 12u);
  put(a20, n0 + 8u, k0); put(a21, n0 + 8u, k0 + 4u);
  put(a22, n0 + 8u, k0 + 8u); put(a23, n0 + 8u, k0 + 12u);
  put(a30, n0 + 12u, k0); put(a31, n0 + 12u, k0 + 4u);
  put(a32, n0 + 12u, k0 + 8u); put(a33, n0 + 12u, k0 + 12u);
}
