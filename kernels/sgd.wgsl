// Plain SGD step over a flat parameter buffer: p -= lr * g.
// Bindings: 0 hyper (uniform), 1 params (read_write), 2 grads (read); each is n f32.
// One invocation updates one parameter.

override WG: u32 = 256;

struct Hyper {
  n: u32,
  lr: f32,
}

@group(0) @binding(0) var<uniform> hyper: Hyper;
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= hyper.n) {
    return;
  }
  params[i] -= hyper.lr * grads[i];
}
