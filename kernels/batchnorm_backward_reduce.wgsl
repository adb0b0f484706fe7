// Batch norm, backward, pass 1: partial sums of dy and dy * xhat per channel, chunk by chunk.
// Bindings: 0 shape (uniform), 1 x (read), 2 dy (read), 3 saved (read), 4 partials (write),
// 5 gamma (read), 6 beta (read).
// RELU (after a forward with RELU): dy is the gradient of relu(batch norm out), and the sums
// take dy * [gamma xhat + beta > 0], the pre-ReLU value recomputed from x as the forward did.
// x and dy are (N, C, H, W); saved is (2, C) = (mean, inv_std) of the forward;
// xhat = (x - mean) * inv_std. Chunks as in batchnorm_moments.wgsl: workgroup (k, c) of the
// (chunks, C) grid writes partials[c*chunks + k] = (sum dy, sum dy * xhat) over chunk k.
// One invocation sums up to ITEMS elements (stride WG); the workgroup adds its WG sums as a
// tree. WG must be a power of two.

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
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> saved: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<vec2f>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> beta: array<f32>;

var<workgroup> w_sum: array<vec2f, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.x;
  let c = wid.y;
  // Workgroup-uniform guard, so the barriers below stay in uniform control flow.
  if (k >= shape.chunks || c >= shape.channels) {
    return;
  }
  let mean = saved[c];
  let inv_std = saved[shape.channels + c];
  let scale = gamma[c] * inv_std;
  let shift = beta[c];
  var acc = vec2f(0.0);
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
    let xc = x[i] - mean;
    let g = select(dy[i], select(0.0, dy[i], xc * scale + shift > 0.0), RELU);
    acc += vec2f(g, g * xc * inv_std);
    s += ds;
    i += di;
    if (s >= hw) {
      s -= hw;
      i += (C - 1u) * hw;
    }
  }
  w_sum[lid] = acc;
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span >>= 1u) {
    if (lid < span) {
      w_sum[lid] += w_sum[lid + span];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    partials[c * shape.chunks + k] = w_sum[0];
  }
}
