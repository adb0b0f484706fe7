// Squared error of a ReLU output against the data, and the analytic Gaussian KL, per image and
// summed over the batch: the two terms of the blog preset's loss (MSE + beta KL; the mean over
// pixels and the weights are applied by the caller, src/likelihood/mse.ts). Not a likelihood:
// -log of a Gaussian of fixed variance up to its constant and scale, so not a negative ELBO.
// The shared contract of every <name>_kl_forward.wgsl (src/ops/likelihood_loss.ts); W = 1.
// Bindings: 0 shape (uniform), 1 logits (read), 2 x (read), 3 mask (read), 4 h (read),
// 5 per_image (read_write), 6 sums (read_write).
// logits (the decoder's last layer before its ReLU) and x are (N, D), x the grey levels;
// mask is (D) of 0/1 weights, read only when use_mask != 0; h is (N, 2L), rows
// [mu_0 .. mu_{L-1}, logvar_0 .. logvar_{L-1}]; per_image is (N, 2) rows [recon, kl]; sums
// holds one (recon, kl) pair per slot, and this dispatch writes pair `slot`.
//   recon = sum_d mask_d (x - max(l, 0))^2
//   kl    = 0.5 sum_j (exp(lv_j) + mu_j^2 - 1 - lv_j)           = KL(N(mu, e^lv) || N(0, I))
// STAGE 0: one workgroup per image reduces its D pixels and L latents into per_image.
// STAGE 1: one workgroup sums per_image over the N images into sums[2 slot], sums[2 slot + 1].
// Both reductions go in a fixed order (strided partial sums, then a tree), so the same inputs
// give the same bits on every run; float atomics would not. The op runs STAGE 0 then STAGE 1
// in one pass, which orders them.

override WG: u32 = 256; // a power of two: the tree halves it
override STAGE: u32 = 0u;

struct Shape {
  n: u32,
  d: u32,
  latent: u32,
  slot: u32,
  use_mask: u32,
  k: u32, // unused: the shared contract's bins constant
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // The flat workgroup index and shape are uniform, so the early return keeps the barriers in
  // uniform control flow.
  let group = wid.x + wid.y * nwg.x;
  if (STAGE == 0u) {
    if (group >= shape.n) {
      return;
    }
    var acc = vec2f(0.0);
    let row = group * shape.d;
    for (var k = lid; k < shape.d; k += WG) {
      let l = logits[row + k];
      let e = x[row + k] - max(l, 0.0);
      var nll = e * e;
      if (shape.use_mask != 0u) {
        nll *= mask[k];
      }
      acc.x += nll;
    }
    let head = group * 2u * shape.latent;
    for (var j = lid; j < shape.latent; j += WG) {
      let mu = h[head + j];
      let lv = h[head + shape.latent + j];
      acc.y += exp(lv) + mu * mu - 1.0 - lv;
    }
    let total = reduce(lid, acc);
    if (lid == 0u) {
      per_image[2u * group] = total.x;
      per_image[2u * group + 1u] = 0.5 * total.y;
    }
  } else {
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
}
