// The activation a linear forward kernel applies to its output, y = act(x w^T + b), shared by
// linear_forward.wgsl, linear_forward_subgroup.wgsl (through lib/linear_forward.wgsl) and
// linear_forward_tiled.wgsl. ACT: 4 none, else the codes of activation_forward.wgsl (0 tanh,
// 1 ReLU, 2 LeakyReLU(slope), 3 sigmoid), the same functions. No bindings; valid WGSL alone.

override ACT: u32 = 4u;

// act(v) as activation_forward.wgsl computes it; `slope` is LeakyReLU's.
fn act(v: f32, slope: f32) -> f32 {
  switch ACT {
    case 0u: { return tanh(clamp(v, -15.0, 15.0)); }
    case 1u: { return max(v, 0.0); }
    case 2u: { return select(slope * v, v, v > 0.0); }
    case 3u: {
      let e = exp(-abs(v));
      return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
    }
    default: { return v; }
  }
}
