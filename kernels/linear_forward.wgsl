// Linear layer, forward, register-blocked (no shared memory, no barriers): y = x w^T + b.
// Bindings: 0 shape (uniform), 1 x (read), 2 w (read), 3 b (read), 4 y (write).
// x is (N, K), w is (M, K), b is (M), y is (N, M), all row-major f32. x and w are bound as
// vec4 arrays (the op widens those bindings to a multiple of 16 bytes).
// One invocation computes a 16 x 16 block of y: rows n0 .. n0 + 16 of x against rows
// m0 .. m0 + 16 of w, reading both as vec4 runs along k. Invocation t takes the block
// (t / ceil(M / 16), t % ceil(M / 16)).
// Why this shape: on llvmpipe each storage load is a scalar loop over the SIMD lanes and a
// barrier is a coroutine switch, so loads, not FMAs, set the speed; 16 x 16 outputs per 32
// vec4 loads measured fastest (see src/ops/linear.ts). The accumulators are 16 named
// mat4x4f, not a local array: llvmpipe keeps arrays indexed inside loops in memory (3x
// slower, measured), and mat4 products keep the unrolled block short.
// acc_qp[c][r] = y[n0 + 4q + r, m0 + 4p + c].
// VEC4 (K % 4 == 0): rows start on vec4 boundaries and there is no k tail, so every vec4 is
// one load. Otherwise rows are read element by element and entries past K read as 0.
// ACT applies an activation to the output, so y = act(x w^T + b): 4 none, else the codes of
// activation_forward.wgsl (0 tanh, 1 ReLU, 2 LeakyReLU(shape.slope), 3 sigmoid), the same
// functions. One dispatch fewer per hidden layer (src/ops/linear.ts).
// The VEC4 and ACT overrides, Shape, bindings, act, LANES, x4 and w4 are
// lib/linear_forward.wgsl's, shared with linear_forward_subgroup.wgsl; this file holds WG, the
// block helpers and main.

override WG: u32 = 16;

// #include "lib/linear_forward.wgsl"

// Four rows of x (flat starts `a`), columns k .. k + 4, as a matrix whose column j holds
// element k + j of each row: transpose(xq) * wq pairs every x row with every w row.
fn xq(a: vec4u, k: u32, live: u32) -> mat4x4f {
  return transpose(mat4x4f(x4(a.x + k, live), x4(a.y + k, live), x4(a.z + k, live),
                           x4(a.w + k, live)));
}

fn wq(a: vec4u, k: u32, live: u32) -> mat4x4f {
  return mat4x4f(w4(a.x + k, live), w4(a.y + k, live), w4(a.z + k, live), w4(a.w + k, live));
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

// Flat starts of rows r0 .. r0 + 4 of a (rows, k) matrix; rows past the edge re-read the
// last row (always in bounds) and their sums are never stored.
fn starts(r0: u32, rows: u32) -> vec4u {
  return min(vec4u(r0) + LANES, vec4u(rows - 1u)) * shape.k;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  let col_blocks = (shape.m + 15u) / 16u;
  let n0 = (t / col_blocks) * 16u;
  let m0 = (t % col_blocks) * 16u;
  if (n0 >= shape.n) {
    return;
  }
  let xa = starts(n0, shape.n);
  let xb = starts(n0 + 4u, shape.n);
  let xc = starts(n0 + 8u, shape.n);
  let xd = starts(n0 + 12u, shape.n);
  let wa = starts(m0, shape.m);
  let wb = starts(m0 + 4u, shape.m);
  let wc = starts(m0 + 8u, shape.m);
  let wd = starts(m0 + 12u, shape.m);
  var a00 = mat4x4f(); var a01 = mat4x4f(); var a02 = mat4x4f(); var a03 = mat4x4f();
  var a10 = mat4x4f(); var a11 = mat4x4f(); var a12 = mat4x4f(); var a13 = mat4x4f();
  var a20 = mat4x4f(); var a21 = mat4x4f(); var a22 = mat4x4f(); var a23 = mat4x4f();
  var a30 = mat4x4f(); var a31 = mat4x4f(); var a32 = mat4x4f(); var a33 = mat4x4f();
  for (var k = 0u; k < shape.k; k += 4u) {
    let live = shape.k - k;
    let w0 = wq(wa, k, live);
    let w1 = wq(wb, k, live);
    let w2 = wq(wc, k, live);
    let w3 = wq(wd, k, live);
    let x0 = xq(xa, k, live);
    a00 += x0 * w0; a01 += x0 * w1; a02 += x0 * w2; a03 += x0 * w3;
    let x1 = xq(xb, k, live);
    a10 += x1 * w0; a11 += x1 * w1; a12 += x1 * w2; a13 += x1 * w3;
    let x2 = xq(xc, k, live);
    a20 += x2 * w0; a21 += x2 * w1; a22 += x2 * w2; a23 += x2 * w3;
    let x3 = xq(xd, k, live);
    a30 += x3 * w0; a31 += x3 * w1; a32 += x3 * w2; a33 += x3 * w3;
  }
  put(a00, n0, m0); put(a01, n0, m0 + 4u); put(a02, n0, m0 + 8u); put(a03, n0, m0 + 12u);
  put(a10, n0 + 4u, m0); put(a11, n0 + 4u, m0 + 4u);
  put(a12, n0 + 4u, m0 + 8u); put(a13, n0 + 4u, m0 + 12u);
  put(a20, n0 + 8u, m0); put(a21, n0 + 8u, m0 + 4u);
  put(a22, n0 + 8u, m0 + 8u); put(a23, n0 + 8u, m0 + 12u);
  put(a30, n0 + 12u, m0); put(a31, n0 + 12u, m0 + 4u);
  put(a32, n0 + 12u, m0 + 8u); put(a33, n0 + 12u, m0 + 12u);
}
