// Load throughput probe for the bench, the vec4 variant of kernels/probe_load.wgsl: 16-byte
// storage-buffer loads from a buffer small enough to stay in L1, summed.
// Bindings: 0 shape (uniform), 1 src (mask + 1) vec4f (read), 2 out (count) vec4f (write).
// Invocation n sums src[(n + i) & mask] for i < iters (iters a multiple of 4) into four
// accumulators, s_j taking i = j mod 4, and writes (s0 + s1) + (s2 + s3).

override WG: u32 = 64;

struct Shape {
  count: u32,
  iters: u32,
  mask: u32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> src: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4f>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * WG + lid;
  if (n >= shape.count) {
    return;
  }
  let mask = shape.mask;
  var s0 = vec4f(0.0);
  var s1 = vec4f(0.0);
  var s2 = vec4f(0.0);
  var s3 = vec4f(0.0);
  for (var i = 0u; i < shape.iters; i += 4u) {
    s0 += src[(n + i) & mask];
    s1 += src[(n + i + 1u) & mask];
    s2 += src[(n + i + 2u) & mask];
    s3 += src[(n + i + 3u) & mask];
  }
  out[n] = (s0 + s1) + (s2 + s3);
}
