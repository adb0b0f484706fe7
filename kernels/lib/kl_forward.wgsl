// The shared contract of every <name>_kl_forward.wgsl (src/ops/likelihood_loss.ts), included by
// each: the shape, the bindings besides the likelihood's own (1: its head, 2: x), the
// workgroup reduction, the Gaussian KL of one image's latents and the two stages' tails.
// h is (N, 2L), rows [mu_0 .. mu_{L-1}, logvar_0 .. logvar_{L-1}]; per_image is (N, 2) rows
// [recon, kl]; sums holds one (recon, kl) pair per slot. mask is (D) of 0/1 weights, read
// only when use_mask != 0.
//   kl = 0.5 sum_j (exp(lv_j) + mu_j^2 - 1 - lv_j) = KL(N(mu, e^lv) || N(0, I))
// Both reductions go in a fixed order (strided partial sums, then a tree), so the same inputs
// give the same bits on every run; float atomics would not.

override WG: u32 = 256; // a power of two: the tree halves it
override STAGE: u32 = 0u;

struct Shape {
  n: u32,
  d: u32,
  latent: u32,
  slot: u32,
  use_mask: u32,
  k: u32, // bins: logits per pixel (categorical); the other likelihoods ignore it
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read> h: array<f32>;
@group(0) @binding(5) var<storage, read_write> per_image: array<f32>;
@group(0) @binding(6) var<storage, read_write> sums: array<f32>;

var<workgroup> part: array<vec2f, WG>;

// part[0] = the sum of part[0 .. WG) after the call. Called in uniform control flow.
fn reduce(lid: u32, value: vec2f) -> vec2f {
  part[lid] = value;
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) {
      part[lid] += part[lid + stride];
    }
  }
  workgroupBarrier();
  return part[0];
}

// This invocation's share of sum_j (exp(lv_j) + mu_j^2 - 1 - lv_j) for image `group`.
fn latent_kl(group: u32, lid: u32) -> f32 {
  var acc = 0.0;
  let enc = group * 2u * shape.latent;
  for (var j = lid; j < shape.latent; j += WG) {
    let mu = h[enc + j];
    let lv = h[enc + shape.latent + j];
    acc += exp(lv) + mu * mu - 1.0 - lv;
  }
  return acc;
}

// STAGE 0's tail: the workgroup's partial (recon, kl sum) reduced into per_image[group].
fn finish_image(group: u32, lid: u32, acc: vec2f) {
  let total = reduce(lid, acc);
  if (lid == 0u) {
    per_image[2u * group] = total.x;
    per_image[2u * group + 1u] = 0.5 * total.y;
  }
}

// STAGE 1: workgroup 0 sums per_image over the N images into sums[2 slot], sums[2 slot + 1].
fn sum_images(group: u32, lid: u32) {
  if (group != 0u) {
    return;
  }
  var acc = vec2f(0.0);
  for (var r = lid; r < shape.n; r += WG) {
    acc += vec2f(per_image[2u * r], per_image[2u * r + 1u]);
  }
  let total = reduce(lid, acc);
  if (lid == 0u) {
    sums[2u * shape.slot] = total.x;
    sums[2u * shape.slot + 1u] = total.y;
  }
}
