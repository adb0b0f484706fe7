// Batch norm, backward, pass 2: dx, dgamma and dbeta.
// Bindings: 0 shape (uniform), 1 partials (read), 2 x (read), 3 dy (read), 4 gamma (read),
// 5 saved (read), 6 dgamma (write), 7 dbeta (write), 8 dx (write), 9 beta (read).
// RELU: dy is the gradient of relu(batch norm out), taken as dy * [gamma xhat + beta > 0] (the
// pre-ReLU value recomputed from x as batchnorm_forward.wgsl computed it; the partials came
// from batchnorm_backward_reduce.wgsl with RELU too).
// x, dy, dx are (N, C, H, W); gamma, dgamma, dbeta are (C); saved is (2, C) = (mean, inv_std)
// of the forward; partials is (C, chunks) of (sum dy, sum dy * xhat) from
// batchnorm_backward_reduce.wgsl. With M = N*H*W and xhat = (x - mean) * inv_std:
//   dbeta = sum dy,  dgamma = sum dy * xhat                         (over n, h, w)
//   training (EVAL false): dx = gamma * inv_std * (dy - (dbeta + xhat * dgamma) / M),
//     the gradient through the batch mean and variance too;
//   evaluation (EVAL true): dx = gamma * inv_std * dy (the statistics are constants).
// Workgroup (k, c) of the (chunks, C) grid first adds channel c's partials (every workgroup of
// the channel in the same order, so all agree bit for bit, and no extra pass is needed),
// workgroup (0, c) writes dgamma[c] and dbeta[c] (overwriting), then each invocation writes
// dx for up to ITEMS elements of chunk k. WG must be a power of two.

override WG: u32 = 64;
override ITEMS: u32 = 64;
override EVAL: bool = false;
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
@group(0) @binding(1) var<storage, read> partials: array<vec2f>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> saved: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;
@group(0) @binding(9) var<storage, read> beta: array<f32>;

var<workgroup> w_sum: array<vec2f, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.x;
  let c = wid.y;
  // Workgroup-uniform guard, so the barriers below stay in uniform control flow.
  if (k >= shape.chunks || c >= shape.channels) {
    return;
  }
  var acc = vec2f(0.0);
  for (var p = lid; p < shape.chunks; p += WG) {
    acc += partials[c * shape.chunks + p];
  }
  w_sum[lid] = acc;
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span >>= 1u) {
    if (lid < span) {
      w_sum[lid] += w_sum[lid + span];
    }
    workgroupBarrier();
  }
  let sums = w_sum[0];
  if (k == 0u && lid == 0u) {
    dbeta[c] = sums.x;
    dgamma[c] = sums.y;
  }
  let mean = saved[c];
  let inv_std = saved[shape.channels + c];
  let scale = gamma[c] * inv_std;
  let inv_m = 1.0 / f32(shape.m);
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
  let shift = beta[c];
  for (; j < end; j += WG) {
    let xc = x[i] - mean;
    let g = select(dy[i], select(0.0, dy[i], xc * scale + shift > 0.0), RELU);
    if (EVAL) {
      dx[i] = scale * g;
    } else {
      let xhat = xc * inv_std;
      dx[i] = scale * (g - (sums.x + xhat * sums.y) * inv_m);
    }
    s += ds;
    i += di;
    if (s >= hw) {
      s -= hw;
      i += (C - 1u) * hw;
    }
  }
}
