// Linear layer, weight and bias gradients, register-blocked (no shared memory, no barriers):
// dw = dy^T x, db = sum over n of dy.
// Bindings: 0 shape (uniform), 1 dy (read), 2 x (read), 3 dw (read_write), 4 db (read_write).
// dy is (N, M), x is (N, K), dw is (M, K), db is (M), all row-major f32. dy and x are bound
// as vec4 arrays (the op widens those bindings to a multiple of 16 bytes).
// One invocation computes a 16 x 16 block of dw: rows m0 .. m0 + 16, columns k0 .. k0 + 16.
// Per n it reads 4 vec4s of dy and 4 of x and adds their 16 outer products: 8 loads for 256
// FMAs, the ratio that measured fastest on llvmpipe (see linear_forward.wgsl). Taking 4 rows
// of n per step as matrix products measured no faster here.
// acc_qp[i][c] = dw[m0 + 4q + i, k0 + 4p + c]. db is fused in: the invocations with k0 = 0
// also sum the dy values they already load, which costs no loads and saves a dispatch.
// accumulate = 1 adds into dw and db instead of overwriting them.
// VEC4 (M % 4 == 0 and K % 4 == 0): dy and x rows start on vec4 boundaries, so every vec4 is
// one load. Otherwise rows are read element by element.
// Shape, the bindings and LANES are lib/linear_backward_weight.wgsl's, shared with
// linear_backward_weight_subgroup.wgsl; this file holds WG, VEC4, the loads, the stores and main.

override WG: u32 = 16;
override VEC4: bool = true;

// #include "lib/linear_backward_weight.wgsl"

// Row `row` of dy (or x), the 4 columns starting at c. Columns past the row's end are
// clamped to its last element: they only feed dw and db entries that are never stored.
fn dy4(row: u32, c: u32) -> vec4f {
  if (VEC4) {
    return dy[(row * shape.m + min(c, shape.m - 4u)) >> 2u];
  }
  let j = vec4u(row * shape.m) + min(vec4u(c) + LANES, vec4u(shape.m - 1u));
  return vec4f(dy[j.x >> 2u][j.x & 3u], dy[j.y >> 2u][j.y & 3u], dy[j.z >> 2u][j.z & 3u],
               dy[j.w >> 2u][j.w & 3u]);
}

fn x4(row: u32, c: u32) -> vec4f {
  if (VEC4) {
    return x[(row * shape.k + min(c, shape.k - 4u)) >> 2u];
  }
  let j = vec4u(row * shape.k) + min(vec4u(c) + LANES, vec4u(shape.k - 1u));
  return vec4f(x[j.x >> 2u][j.x & 3u], x[j.y >> 2u][j.y & 3u], x[j.z >> 2u][j.z & 3u],
               x[j.w >> 2u][j.w & 3u]);
}

// Outer product: [i][c] = g[i] * xv[c] (column i is xv scaled by g[i]).
fn outer(g: vec4f, xv: vec4f) -> mat4x4f {
  return mat4x4f(xv * g.x, xv * g.y, xv * g.z, xv * g.w);
}

fn put(acc: mat4x4f, m: u32, k: u32) {
  for (var i = 0u; i < 4u; i++) {
    for (var c = 0u; c < 4u; c++) {
      if (m + i < shape.m && k + c < shape.k) {
        let j = (m + i) * shape.k + k + c;
        var v = acc[i][c];
        if (shape.accumulate == 1u) {
          v += dw[j];
        }
        dw[j] = v;
      }
    }
  }
}

fn put_bias(s: vec4f, m: u32) {
  for (var i = 0u; i < 4u; i++) {
    if (m + i < shape.m) {
      var v = s[i];
      if (shape.accumulate == 1u) {
        v += db[m + i];
      }
      db[m + i] = v;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  let col_blocks = (shape.k + 15u) / 16u;
  let m0 = (t / col_blocks) * 16u;
  let k0 = (t % col_blocks) * 16u;
  if (m0 >= shape.m) {
    return;
  }
  var a00 = mat4x4f(); var a01 = mat4x4f(); var a02 = mat4x4f(); var a03 = mat4x4f();
  var a10 = mat4x4f(); var a11 = mat4x4f(); var a12 = mat4x4f(); var a13 = mat4x4f();
  var a20 = mat4x4f(); var a21 = mat4x4f(); var a22 = mat4x4f(); var a23 = mat4x4f();
  var a30 = mat4x4f(); var a31 = mat4x4f(); var a32 = mat4x4f(); var a33 = mat4x4f();
  var s0 = vec4f(); var s1 = vec4f(); var s2 = vec4f(); var s3 = vec4f();
  for (var n = 0u; n < shape.n; n++) {
    let x0 = x4(n, k0);
    let x1 = x4(n, k0 + 4u);
    let x2 = x4(n, k0 + 8u);
    let x3 = x4(n, k0 + 12u);
    let g0 = dy4(n, m0);
    a00 += outer(g0, x0); a01 += outer(g0, x1); a02 += outer(g0, x2); a03 += outer(g0, x3);
    let g1 = dy4(n, m0 + 4u);
    a10 += outer(g1, x0); a11 += outer(g1, x1); a12 += outer(g1, x2); a13 += outer(g1, x3);
    let g2 = dy4(n, m0 + 8u);
    a20 += outer(g2, x0); a21 += outer(g2, x1); a22 += outer(g2, x2); a23 += outer(g2, x3);
    let g3 = dy4(n, m0 + 12u);
    a30 += outer(g3, x0); a31 += outer(g3, x1); a32 += outer(g3, x2); a33 += outer(g3, x3);
    s0 += g0; s1 += g1; s2 += g2; s3 += g3;
  }
  put(a00, m0, k0); put(a01, m0, k0 + 4u); put(a02, m0, k0 + 8u); put(a03, m0, k0 + 12u);
  put(a10, m0 + 4u, k0); put(a11, m0 + 4u, k0 + 4u);
  put(a12, m0 + 4u, k0 + 8u); put(a13, m0 + 4u, k0 + 12u);
  put(a20, m0 + 8u, k0); put(a21, m0 + 8u, k0 + 4u);
  put(a22, m0 + 8u, k0 + 8u); put(a23, m0 + 8u, k0 + 12u);
  put(a30, m0 + 12u, k0); put(a31, m0 + 12u, k0 + 4u);
  put(a32, m0 + 12u, k0 + 8u); put(a33, m0 + 12u, k0 + 12u);
  if (k0 == 0u) {
    put_bias(s0, m0); put_bias(s1, m0 + 4u); put_bias(s2, m0 + 8u); put_bias(s3, m0 + 12u);
  }
}
