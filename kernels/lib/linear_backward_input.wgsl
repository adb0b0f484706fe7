// What linear_backward_input.wgsl and linear_backward_input_subgroup.wgsl share, spliced into
// both by `// #include "lib/linear_backward_input.wgsl"`: the ACT override, `saved` and dact (from
// lib/linear_dact.wgsl, which the tiled variant includes too), the uniform Shape (mirrored by
// LinearBackwardShape in src/ops/linear.ts), the other bindings and LANES. The twins
// block differently and name their vec4 flags differently (VEC4; DY_VEC4 and W_VEC4), so each
// keeps those overrides, its loads dy4 and w4, its block helpers, put and main; their headers
// give the layouts and the blocking. No entry point; valid WGSL on its own.

// #include "lib/linear_dact.wgsl"

struct Shape {
  n: u32,
  k: u32,
  m: u32,
  accumulate: u32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
@group(0) @binding(2) var<storage, read> w: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

const LANES = vec4u(0u, 1u, 2u, 3u);
