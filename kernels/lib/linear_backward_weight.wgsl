// What linear_backward_weight.wgsl and linear_backward_weight_subgroup.wgsl share, spliced into
// both by `// #include "lib/linear_backward_weight.wgsl"`: the uniform Shape (mirrored by
// LinearBackwardShape in src/ops/linear.ts), the bindings and LANES. The twins block differently
// and name their vec4 flags differently (VEC4; DY_VEC4 and X_VEC4), so each keeps its overrides,
// its loads dy4 and x4, its block helpers, put, put_bias and main; their headers give the
// layouts and the blocking. No entry point; valid WGSL on its own.

struct Shape {
  n: u32,
  k: u32,
  m: u32,
  accumulate: u32,
  slope: f32, // for linear_backward_input's ACT; unused here
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
@group(0) @binding(2) var<storage, read> x: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

const LANES = vec4u(0u, 1u, 2u, 3u);
