// Transposed 2-D convolution, gradient with respect to the bias, one partial sum per batch chunk.
// Bindings: 0 shape (uniform), 1 dy (read), 2 part (write).
// dy is (N, OC, OH, OW), part is (chunks, OC).
// part[c, oc] = sum over n in chunk c (images c NC .. c NC + NC - 1) and over all pixels of
// dy[n, oc, oy, ox]. With one chunk, part is dB itself; otherwise
// conv_transpose2d_backward_reduce sums the chunks. Splitting the batch gives a layer with a
// single output channel more than one invocation of work.
// One invocation computes one partial sum.

override WG: u32 = 64;

struct Shape {
  batch: u32,
  out_ch: u32,
  pixels: u32, // OH OW
  chunks: u32,
  chunk: u32, // NC, images per chunk
  items: u32, // OC chunks
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.items) {
    return;
  }
  let c = i % shape.chunks;
  let oc = i / shape.chunks;
  let n_hi = min(shape.batch, (c + 1u) * shape.chunk);
  var acc = 0.0;
  for (var n = c * shape.chunk; n < n_hi; n++) {
    let plane = (n * shape.out_ch + oc) * shape.pixels;
    for (var j = 0u; j < shape.pixels; j++) {
      acc += dy[plane + j];
    }
  }
  part[c * shape.out_ch + oc] = acc;
}
