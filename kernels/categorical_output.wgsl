// The Categorical likelihood's image from its logits: MODE 0 the mean sum_j pi_j (j + 0.5) / k,
// MODE 1 the bin centre (j + 0.5) / k of a draw j ~ softmax(l), by inverse CDF of one uniform.
// The shared contract of every <name>_output.wgsl (src/ops/likelihood_output.ts); W = k, one
// uniform per pixel, no normals.
// Bindings: 0 shape (uniform), 1 logits (N, D, k) pixel-major (read), 3 uniforms (N, D)
// (read, MODE 1 only), 4 out (N, D) (write).
// One invocation computes one pixel. The draw compares u * sum_w e_w with the running sum of
// e_w = exp(l_w - max l), unnormalized; should u * sum reach the total (rounding; u = 1), it
// takes the last bin with nonzero mass, never a bin of probability 0.

override WG: u32 = 256;
override MODE: u32 = 0u;

struct Shape {
  n: u32,
  d: u32,
  k: u32, // bins: logits per pixel
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read> uniforms: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n * shape.d) {
    return;
  }
  let k = shape.k;
  let base = i * k;
  var top = logits[base];
  for (var w = 1u; w < k; w++) {
    top = max(top, logits[base + w]);
  }
  var total = 0.0;
  var moment = 0.0;
  for (var w = 0u; w < k; w++) {
    let e = exp(logits[base + w] - top);
    total += e;
    moment += e * (f32(w) + 0.5);
  }
  if (MODE == 0u) {
    out[i] = moment / (total * f32(k));
    return;
  }
  let t = uniforms[i] * total;
  var c = 0.0;
  var last = 0u;
  for (var w = 0u; w < k; w++) {
    let e = exp(logits[base + w] - top);
    c += e;
    if (e > 0.0) {
      last = w;
    }
    if (t < c) {
      out[i] = (f32(w) + 0.5) / f32(k);
      return;
    }
  }
  out[i] = (f32(last) + 0.5) / f32(k);
}
