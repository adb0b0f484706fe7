// What linear_backward_input.wgsl and linear_backward_input_subgroup.wgsl share, spliced into
// both by `// #include "lib/linear_backward_input.wgsl"`: the ACT override, the uniform Shape
// (mirrored by LinearBackwardShape in src/ops/linear.ts), the bindings, dact and LANES. The twins
// block differently and name their vec4 flags differently (VEC4; DY_VEC4 and W_VEC4), so each
// keeps those overrides, its loads dy4 and w4, its block helpers, put and main; their headers
// give the layouts and the blocking. No entry point; valid WGSL on its own.

override ACT: u32 = 4u;

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
@group(0) @binding(4) var<storage, read> saved: array<f32>;

// d act / d (its input) at dx's flat index i, from the activation's output, as
// activation_backward.wgsl computes it.
fn dact(i: u32) -> f32 {
  switch ACT {
    case 0u: { let s = saved[i]; return 1.0 - s * s; }
    case 1u: { return select(0.0, 1.0, saved[i] > 0.0); }
    case 2u: { return select(shape.slope, 1.0, saved[i] > 0.0); }
    case 3u: { let s = saved[i]; return s * (1.0 - s); }
    default: { return 1.0; }
  }
}

const LANES = vec4u(0u, 1u, 2u, 3u);
