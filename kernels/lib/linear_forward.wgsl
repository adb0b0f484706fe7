// What linear_forward.wgsl and linear_forward_subgroup.wgsl share, spliced into both by
// `// #include "lib/linear_forward.wgsl"`: the VEC4 override, ACT and act (from
// lib/linear_act.wgsl, which the tiled variant includes too), the uniform Shape (mirrored by
// LinearForwardShape in src/ops/linear.ts), the bindings, LANES and the loads x4 and w4. The twins block differently, so each keeps its other overrides (linear_forward.wgsl's
// WG), its block helpers, put and main; their headers give the layouts and the blocking. No entry
// point; valid WGSL on its own.

override VEC4: bool = true;
// #include "lib/linear_act.wgsl"

struct Shape {
  n: u32,
  k: u32,
  m: u32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> w: array<vec4f>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const LANES = vec4u(0u, 1u, 2u, 3u);

// x[i .. i + 4) for a flat f32 index i; only the first `live` entries are read, the rest
// are 0.
fn x4(i: u32, live: u32) -> vec4f {
  if (VEC4) {
    return x[i >> 2u];
  }
  let j = vec4u(i) + min(LANES, vec4u(live - 1u));
  let v = vec4f(x[j.x >> 2u][j.x & 3u], x[j.y >> 2u][j.y & 3u], x[j.z >> 2u][j.z & 3u],
                x[j.w >> 2u][j.w & 3u]);
  return select(vec4f(), v, LANES < vec4u(live));
}

fn w4(i: u32, live: u32) -> vec4f {
  if (VEC4) {
    return w[i >> 2u];
  }
  let j = vec4u(i) + min(LANES, vec4u(live - 1u));
  let v = vec4f(w[j.x >> 2u][j.x & 3u], w[j.y >> 2u][j.y & 3u], w[j.z >> 2u][j.z & 3u],
                w[j.w >> 2u][j.w & 3u]);
  return select(vec4f(), v, LANES < vec4u(live));
}
