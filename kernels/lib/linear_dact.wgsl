// The derivative of the activation a linear layer's input went through, taken from that
// activation's saved output, dX = (dY w) * act'(x): shared by linear_backward_input.wgsl,
// linear_backward_input_subgroup.wgsl (through lib/linear_backward_input.wgsl) and
// linear_backward_input_tiled.wgsl. ACT: 4 none (saved is not read), else the codes of
// activation_backward.wgsl, the same derivatives. Binding 4: saved, the activation's output.

override ACT: u32 = 4u;

@group(0) @binding(4) var<storage, read> saved: array<f32>;

// act'(x) at element i of the saved output; `slope` is LeakyReLU's.
fn dact(i: u32, slope: f32) -> f32 {
  switch ACT {
    case 0u: { let s = saved[i]; return 1.0 - s * s; }
    case 1u: { return select(0.0, 1.0, saved[i] > 0.0); }
    case 2u: { return select(slope, 1.0, saved[i] > 0.0); }
    case 3u: { let s = saved[i]; return s * (1.0 - s); }
    default: { return 1.0; }
  }
}
