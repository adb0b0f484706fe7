// Batch norm statistics, pass 1: partial moments of each channel, chunk by chunk.
// Bindings: 0 shape (uniform), 1 x (read), 2 moments (write).
// x is (N, C, H, W). Channel c's M = N*H*W elements, taken in (n, h, w) order, are cut into
// `chunks` chunks of WG*ITEMS; workgroup (k, c) of the (chunks, C) grid writes
// moments[c*chunks + k] = (count, mean, M2) of chunk k, M2 the sum of squared deviations.
// Chunks rather than one workgroup per channel because C is 1 at the decoder's last layer
// (246,016 elements): a single workgroup would run on one CPU thread or one GPU core.
// One invocation folds up to ITEMS elements (stride WG, so neighbours load neighbours) with
// Welford's update; the workgroup then merges its WG partials pairwise (Chan et al.). Unlike
// E[x^2] - E[x]^2, this keeps the variance accurate in f32 when |mean| >> spread.
// WG must be a power of two (the tree halves it).

override WG: u32 = 64;
override ITEMS: u32 = 64;

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
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> moments: array<Moments>;

var<workgroup> w_count: array<f32, WG>;
var<workgroup> w_mean: array<f32, WG>;
var<workgroup> w_m2: array<f32, WG>;

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
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.x;
  let c = wid.y;
  // Workgroup-uniform guard, so the barriers below stay in uniform control flow.
  if (k >= shape.chunks || c >= shape.channels) {
    return;
  }
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
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
    let v = x[i];
    n += 1.0;
    let d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
    s += ds;
    i += di;
    if (s >= hw) {
      s -= hw;
      i += (C - 1u) * hw;
    }
  }
  w_count[lid] = n;
  w_mean[lid] = mean;
  w_m2[lid] = m2;
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span >>= 1u) {
    if (lid < span) {
      let m = combine(
        Moments(w_count[lid], w_mean[lid], w_m2[lid]),
        Moments(w_count[lid + span], w_mean[lid + span], w_m2[lid + span]),
      );
      w_count[lid] = m.count;
      w_mean[lid] = m.mean;
      w_m2[lid] = m.m2;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    moments[c * shape.chunks + k] = Moments(w_count[0], w_mean[0], w_m2[0]);
  }
}
