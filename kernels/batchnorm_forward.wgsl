// Batch norm, forward: y = gamma * (x - mean) * inv_std + beta, per channel; with RELU,
// y = max(0, that): the conv decoder's batch norm and ReLU in one pass (the backward kernels
// recompute the pre-ReLU value from x for the ReLU's mask).
// Bindings: 0 shape (uniform), 1 x (read), 2 gamma (read), 3 beta (read), 4 saved (read),
// 5 y (write).
// x and y are (N, C, H, W); gamma, beta are (C); saved is (2, C) = (mean, inv_std) as
// batchnorm_stats.wgsl wrote it: the batch's statistics in training, the running ones in
// evaluation, so this kernel does not know the mode.
// Work split as in batchnorm_moments.wgsl: workgroup (k, c) of the (chunks, C) grid covers
// chunk k of channel c, each invocation up to ITEMS elements with stride WG (on lavapipe
// 2-3x faster than one element per invocation with a division to find its channel).

override WG: u32 = 64;
override ITEMS: u32 = 64;
override RELU: bool = false;

struct Shape {
  batch: u32,
  channels: u32,
  hw: u32,
  m: u32,
  chunks: u32,
  momentum: f32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> saved: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.x;
  let c = wid.y;
  if (k >= shape.chunks || c >= shape.channels) {
    return;
  }
  let mean = saved[c];
  let scale = gamma[c] * saved[shape.channels + c];
  let shift = beta[c];
  // Element j of the channel sits at (b, s) = (j / hw, j % hw), flat index
  // i = (b*C + c)*hw + s. Stepping j by WG moves (b, s) by (WG / hw, WG % hw) plus a carry,
  // so i moves by a constant plus (C - 1)*hw on a carry: no division per element, which on
  // a CPU adapter costs more than the element's arithmetic.
  let hw = shape.hw;
  let C = shape.channels;
  let end = min(shape.m, (k + 1u) * WG * ITEMS);
  var j = k * WG * ITEMS + lid;
  let b0 = j / hw;
  var s = j - b0 * hw;
  var i = (b0 * C + c) * hw + s;
  let ds = WG % hw;
  let di = (WG / hw) * C * hw + ds;
  for (; j < end; j += WG) {
    // (x - mean) first: folding mean into the shift would cancel badly when |mean| >> spread.
    let v = (x[i] - mean) * scale + shift;
    y[i] = select(v, max(v, 0.0), RELU);
    s += ds;
    i += di;
    if (s >= hw) {
      s -= hw;
      i += (C - 1u) * hw;
    }
  }
}
