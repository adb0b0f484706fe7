// Peak arithmetic probe for the bench: multiply-adds only, no memory traffic in the loop.
// Bindings: 0 shape (uniform), 1 init (8) vec4f starting values (read), 2 out (count) vec4f (write).
// Invocation n runs 8 independent chains acc_k = fma(acc_k, a, b), acc_k starting at
// init[k] + (n mod 16), for shape.iters steps, four per assignment (fma(fma(fma(fma(acc...))))
// and the iters % 4 left one at a time), and writes ((acc_0 + acc_1) + ...) + acc_7 once, so the
// compiler keeps every chain. Eight chains of vec4 are 32 independent 8-wide multiply-adds per
// SIMD group on lavapipe, enough to hide their latency (2 and 4 chains gave 33 and 45 GFLOP/s
// with one step per assignment, 8, 12 and 16 all ~55).
// Four steps per assignment because on lavapipe an assignment to a loop-carried variable costs
// about as much again as the multiply-add it stores (probably: 32 accumulators do not fit in 16
// AVX2 registers, and a loop's writes go through its execution mask): on the 2-core EPYC one
// step per assignment read 47 GFLOP/s, four 154 and eight 130, and the subgroup matmul
// (kernels/linear_forward_subgroup.wgsl) ran at 68, above the one-step figure. 154 is about all
// two cores can do without fused multiply-adds: 8 lanes x (2 multiplies + 2 adds) per cycle
// each, at ~2.4 GHz.
// WGSL lets fma be fused or not; lavapipe computes a rounded multiply, then an add (its results
// match that chain bit for bit in tests/probe_test.ts). FLOPs: count * iters * 8 chains * 4 * 2.

override WG: u32 = 64;

struct Shape {
  count: u32,
  iters: u32,
  a: f32,
  b: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> init: array<vec4f, 8>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4f>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * WG + lid;
  if (n >= shape.count) {
    return;
  }
  let a = vec4f(shape.a);
  let b = vec4f(shape.b);
  let m = vec4f(f32(n & 15u));
  var acc0 = init[0] + m;
  var acc1 = init[1] + m;
  var acc2 = init[2] + m;
  var acc3 = init[3] + m;
  var acc4 = init[4] + m;
  var acc5 = init[5] + m;
  var acc6 = init[6] + m;
  var acc7 = init[7] + m;
  // Four steps per assignment, then the iters % 4 left one at a time.
  var i = 0u;
  for (; i + 4u <= shape.iters; i += 4u) {
    acc0 = fma(fma(fma(fma(acc0, a, b), a, b), a, b), a, b);
    acc1 = fma(fma(fma(fma(acc1, a, b), a, b), a, b), a, b);
    acc2 = fma(fma(fma(fma(acc2, a, b), a, b), a, b), a, b);
    acc3 = fma(fma(fma(fma(acc3, a, b), a, b), a, b), a, b);
    acc4 = fma(fma(fma(fma(acc4, a, b), a, b), a, b), a, b);
    acc5 = fma(fma(fma(fma(acc5, a, b), a, b), a, b), a, b);
    acc6 = fma(fma(fma(fma(acc6, a, b), a, b), a, b), a, b);
    acc7 = fma(fma(fma(fma(acc7, a, b), a, b), a, b), a, b);
  }
  for (; i < shape.iters; i++) {
    acc0 = fma(acc0, a, b);
    acc1 = fma(acc1, a, b);
    acc2 = fma(acc2, a, b);
    acc3 = fma(acc3, a, b);
    acc4 = fma(acc4, a, b);
    acc5 = fma(acc5, a, b);
    acc6 = fma(acc6, a, b);
    acc7 = fma(acc7, a, b);
  }
  out[n] = acc0 + acc1 + acc2 + acc3 + acc4 + acc5 + acc6 + acc7;
}
