// Gathers a batch from the dataset kept on the GPU as packed bytes, scaling or binarizing it.
// Bindings: 0 shape (uniform), 1 pixels (read), 2 indices (read), 3 noise (read), 4 x (write).
// pixels is (count, 196) u32: pixel j of image i is byte j % 4 (little-endian) of word
// i * 196 + j / 4, as the u8 images were uploaded. indices is (n) u32 image numbers.
// noise and x are (n, 784) f32; noise is read only when MODE is 2 or 3 (bind any buffer
// otherwise).
// MODE: 0 grey level x = p / 255; 1 static binarization x = [p / 255 > 0.5], done as p >= 128
// so no rounding can move the threshold; 2 dynamic binarization x = [u < p / 255], u = noise;
// 3 uniform dequantization x = (p + u) / 256, u = noise in (0, 1), capped at 1 - 2^-24 where f32
// rounding would reach 1, so x lies strictly inside (0, 1) (the continuous likelihoods' data); 4 bins x = (j + 0.5) / k with j = floor(p k / 256),
// k = shape.k (the Categorical likelihood's data: its kernels recover j as floor(x k)).
// One invocation computes the four pixels of one packed word.

override WG: u32 = 256;
override MODE: u32 = 0u;

const WORDS: u32 = 196u; // 784 pixels / 4 per u32
// The largest f32 below 1: 255 + u rounds to 256 in f32 when u > 1 - 2^-17.
const ONE_BELOW: f32 = 0.99999994;

struct Shape {
  n: u32,
  k: u32, // bins, MODE 4 only
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read> noise: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.n * WORDS) {
    return;
  }
  let row = i / WORDS;
  let word = pixels[indices[row] * WORDS + (i - row * WORDS)];
  // x[row, 4 * (i - row * WORDS) + k] sits at 4 * i + k.
  let base = 4u * i;
  for (var k = 0u; k < 4u; k++) {
    let p = (word >> (8u * k)) & 0xffu;
    var v: f32;
    switch MODE {
      case 0u: { v = f32(p) / 255.0; }
      case 1u: { v = select(0.0, 1.0, p >= 128u); }
      case 2u: { v = select(0.0, 1.0, noise[base + k] < f32(p) / 255.0); }
      case 3u: { v = min((f32(p) + noise[base + k]) / 256.0, ONE_BELOW); }
      default: { v = (f32(p * shape.k / 256u) + 0.5) / f32(shape.k); }
    }
    x[base + k] = v;
  }
}
