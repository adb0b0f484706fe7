// Adam with bias correction (Kingma & Ba; PyTorch's torch.optim.Adam without weight decay)
// over one flat parameter buffer, one step:
//   m = beta1 m + (1 - beta1) g        v = beta2 v + (1 - beta2) g^2
//   p -= lr * (m / bias1) / (sqrt(v / bias2) + eps),  bias1 = 1 - beta1^t, bias2 = 1 - beta2^t
// Bindings: 0 hyper (uniform), 1 params (read_write), 2 grads (read), 3 m (read_write),
// 4 v (read_write); each is n f32, bound as vec4s (the op widens the bindings to whole vec4s;
// elements past n are neither used nor written). bias1, bias2 and the (1 - beta) factors are
// computed in f64 on the CPU and rounded once, as PyTorch does with its Python floats.
// One invocation updates four parameters: on lavapipe every storage access is a loop over the
// SIMD lanes whose cost is mostly per lane, so a vec4 access costs little more than an f32
// one. The last, partial vec4 is written element by element.

override WG: u32 = 256;

struct Hyper {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  bias1: f32,
  bias2: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
}

@group(0) @binding(0) var<uniform> hyper: Hyper;
@group(0) @binding(1) var<storage, read_write> params: array<vec4f>;
@group(0) @binding(2) var<storage, read> grads: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4f>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let first = i * 4u;
  if (first >= hyper.n) {
    return;
  }
  let g = grads[i];
  let m1 = hyper.beta1 * m[i] + hyper.one_minus_beta1 * g;
  let v1 = hyper.beta2 * v[i] + hyper.one_minus_beta2 * g * g;
  let p1 = params[i] - hyper.lr * (m1 / hyper.bias1) / (sqrt(v1 / hyper.bias2) + hyper.eps);
  if (first + 4u <= hyper.n) {
    m[i] = m1;
    v[i] = v1;
    params[i] = p1;
    return;
  }
  for (var c = 0u; first + c < hyper.n; c++) {
    m[i][c] = m1[c];
    v[i][c] = v1[c];
    params[i][c] = p1[c];
  }
}
