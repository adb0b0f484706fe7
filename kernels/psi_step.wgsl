// One step of inference without the encoder, for every image at once: each image n has its own
// psi_n = (mu, logvar) (dims = 2L numbers), held in S identical rows of the graph's h so that
// one decoder pass draws S reparameterized samples per image. After a forward (per_image) and
// a decoder-only backward (dh, with scale 1 / S), this kernel, per image:
//   loss = mean_s (recon + kl)                     the S-sample -ELBO at the current psi
//   if loss < best_loss: best_loss, best_step, best psi = loss, steps, psi; wait = 0
//   else wait += 1
//   stop (running = 0, psi left as it is) when loss is not finite, wait >= patience or
//   steps >= max_steps; otherwise g = sum_s dh (the gradient of the mean over samples) and
//     SGD:  psi -= lr g
//     Adam: m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2,
//           psi -= lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps), t = steps + 1,
//           the bias corrections 1 - beta^t read from a table made in f64 on the CPU (f32
//           pow(0.999, t) near t = 1 is off by ~1e-4 of 1 - beta2^t)
//   written to all S rows, steps += 1.
// Every image keeps its own step count, so its Adam bias correction and its early stopping
// are its own: an image that stopped is left alone while the others go on, and the host need
// not read anything back between steps. The loss tracked at step t is that of psi after t
// updates, so a run of max_steps updates takes max_steps + 1 dispatches (the last only looks).
// Bindings: 0 shape (uniform), 1 per_image (N S, 2) [recon, kl] (read), 2 dh (N S, dims)
// (read), 3 h (N S, dims) (read_write), 4 best (N, dims), 5 m (N, dims), 6 v (N, dims)
// (read_write), 7 track (N) (read_write), 8 bias (max_steps + 1, 2) rows
// [1 - beta1^t, 1 - beta2^t] for t = steps + 1 (read). One invocation per image.

override WG: u32 = 64;

struct Shape {
  n: u32,
  samples: u32,
  dims: u32,
  max_steps: u32,
  patience: u32,
  adam: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
}

struct Track {
  best_loss: f32,
  best_step: u32,
  wait: u32,
  steps: u32,
  running: u32,
  loss: f32,
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> per_image: array<f32>;
@group(0) @binding(2) var<storage, read> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;
@group(0) @binding(4) var<storage, read_write> best: array<f32>;
@group(0) @binding(5) var<storage, read_write> m: array<f32>;
@group(0) @binding(6) var<storage, read_write> v: array<f32>;
@group(0) @binding(7) var<storage, read_write> track: array<Track>;
@group(0) @binding(8) var<storage, read> bias: array<f32>;

const F32_MAX: f32 = 0x1.fffffep+127f; // the largest f32, exactly (3.4028235e38 rounds above it)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * WG + lid;
  if (n >= shape.n) {
    return;
  }
  var tr = track[n];
  if (tr.running == 0u) {
    return;
  }
  let S = shape.samples;
  let D = shape.dims;
  let row0 = n * S;
  var sum = 0.0;
  for (var s = 0u; s < S; s++) {
    sum += per_image[2u * (row0 + s)] + per_image[2u * (row0 + s) + 1u];
  }
  let loss = sum / f32(S);
  tr.loss = loss;
  // NaN fails every comparison, so the finiteness test is written to be false for it.
  let finite = abs(loss) <= F32_MAX;
  if (finite && loss < tr.best_loss) {
    tr.best_loss = loss;
    tr.best_step = tr.steps;
    tr.wait = 0u;
    for (var j = 0u; j < D; j++) {
      best[n * D + j] = h[row0 * D + j];
    }
  } else {
    tr.wait += 1u;
  }
  if (!finite || tr.wait >= shape.patience || tr.steps >= shape.max_steps) {
    tr.running = 0u;
    track[n] = tr;
    return;
  }
  let bias1 = bias[2u * tr.steps];
  let bias2 = bias[2u * tr.steps + 1u];
  for (var j = 0u; j < D; j++) {
    var g = 0.0;
    for (var s = 0u; s < S; s++) {
      g += dh[(row0 + s) * D + j];
    }
    var step = shape.lr * g;
    if (shape.adam != 0u) {
      let k = n * D + j;
      let m1 = shape.beta1 * m[k] + shape.one_minus_beta1 * g;
      let v1 = shape.beta2 * v[k] + shape.one_minus_beta2 * g * g;
      m[k] = m1;
      v[k] = v1;
      step = shape.lr * (m1 / bias1) / (sqrt(v1 / bias2) + shape.eps);
    }
    let p = h[row0 * D + j] - step;
    for (var s = 0u; s < S; s++) {
      h[(row0 + s) * D + j] = p;
    }
  }
  tr.steps += 1u;
  track[n] = tr;
}
