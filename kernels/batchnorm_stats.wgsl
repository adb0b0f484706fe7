// Batch norm statistics, pass 2: per channel, the statistics that the forward and backward use.
// Bindings: 0 shape (uniform), 1 moments (read), 2 running_mean (read_write),
// 3 running_var (read_write), 4 saved (write).
// moments is (C, chunks) of (count, mean, M2) from batchnorm_moments.wgsl; running_mean,
// running_var are (C); saved is (2, C): saved[c] = mean, saved[C + c] = inv_std.
// Training (EVAL false): channel c's chunk moments are merged (Chan et al.), then
// saved = (batch mean, 1 / sqrt(biased variance + eps)) and the running statistics move by
// momentum toward the batch mean and the UNBIASED batch variance (PyTorch's BatchNorm2d).
// Evaluation (EVAL true): saved = (running_mean, 1 / sqrt(running_var + eps)), nothing updated.
// One invocation computes one channel, merging its chunks serially: there are few
// (ceil(N*H*W / 4096), 61 at the decoder's largest layer).

override WG: u32 = 64;
override EVAL: bool = false;

struct Shape {
  batch: u32,
  channels: u32,
  hw: u32,
  m: u32,
  chunks: u32,
  momentum: f32,
  eps: f32,
}

struct Moments {
  count: f32,
  mean: f32,
  m2: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> moments: array<Moments>;
@group(0) @binding(2) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(4) var<storage, read_write> saved: array<f32>;

// Chan et al.'s parallel update: the moments of the union of two disjoint sets.
fn combine(a: Moments, b: Moments) -> Moments {
  if (b.count == 0.0) {
    return a;
  }
  let n = a.count + b.count;
  let d = b.mean - a.mean;
  let f = b.count / n;
  return Moments(n, a.mean + d * f, a.m2 + b.m2 + d * d * a.count * f);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let c = (wid.x + wid.y * nwg.x) * WG + lid;
  if (c >= shape.channels) {
    return;
  }
  let C = shape.channels;
  if (EVAL) {
    saved[c] = running_mean[c];
    saved[C + c] = 1.0 / sqrt(running_var[c] + shape.eps);
    return;
  }
  var acc = Moments(0.0, 0.0, 0.0);
  for (var k = 0u; k < shape.chunks; k++) {
    acc = combine(acc, moments[c * shape.chunks + k]);
  }
  let count = f32(shape.m);
  saved[c] = acc.mean;
  saved[C + c] = 1.0 / sqrt(acc.m2 / count + shape.eps);
  let mom = shape.momentum;
  running_mean[c] = (1.0 - mom) * running_mean[c] + mom * acc.mean;
  running_var[c] = (1.0 - mom) * running_var[c] + mom * (acc.m2 / (count - 1.0));
}
