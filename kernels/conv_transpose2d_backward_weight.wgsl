// Transposed 2-D convolution, gradient with respect to the weight, one partial sum per batch chunk.
// Bindings: 0 shape (uniform), 1 x (read), 2 dy (read), 3 part (write).
// x is (N, IC, H, W), dy is (N, OC, OH, OW), part is (chunks, IC, OC, K, K), OH = (H - 1) S - 2 P + K.
// part[c, ic, oc, ky, kx] = sum over n in chunk c (images c NC .. c NC + NC - 1) and over the input
// pixels whose tap lands inside dy of x[n, ic, iy, ix] dy[n, oc, iy S - P + ky, ix S - P + kx].
// With one chunk, part is dW itself; otherwise conv_transpose2d_backward_reduce sums the chunks.
// Splitting the batch is what gives the reduction its parallelism: the last decoder layer has
// only IC x 1 x K x K = 800 outputs, each a sum over N H W = 57,600 products.
// One invocation computes a register block of 4 IQ input channels x 4 OQ output channels of one
// tap: each pixel is an outer product of 4 IQ inputs and 4 OQ values of dy into mat4x4
// accumulators (input channel x output channel). The tap is the slowest index, so the lanes of one
// SIMD batch share their trip counts.

override WG: u32 = 64;
override IQ: u32 = 2; // input-channel quads per invocation: 1 or 2
override OQ: u32 = 2; // output-channel quads per invocation: 1 or 2; 0: a single channel

struct Shape {
  batch: u32,
  in_ch: u32,
  out_ch: u32,
  height: u32,
  width: u32,
  out_h: u32,
  out_w: u32,
  kernel: u32,
  stride: u32,
  pad: u32,
  ic_blocks: u32, // ceil(IC / (4 IQ))
  oc_blocks: u32, // ceil(OC / (4 OQ)), or OC with OQ = 0
  chunks: u32,
  chunk: u32, // NC, images per chunk
  items: u32, // K K ic_blocks oc_blocks chunks
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

fn outer(u: vec4f, v: vec4f) -> mat4x4f {
  return mat4x4f(u * v.x, u * v.y, u * v.z, u * v.w);
}

fn x4(base: u32, o: vec4u) -> vec4f {
  return vec4f(x[base + o.x], x[base + o.y], x[base + o.z], x[base + o.w]);
}

fn dy4(base: u32, o: vec4u) -> vec4f {
  return vec4f(dy[base + o.x], dy[base + o.y], dy[base + o.z], dy[base + o.w]);
}

// Offsets of four consecutive channels from c0, clamped to the last valid one.
fn channels(c0: u32, count: u32, step: u32) -> vec4u {
  return min(vec4u(c0) + vec4u(0u, 1u, 2u, 3u), vec4u(count - 1u)) * step;
}

fn store4(acc: mat4x4f, base: u32, ic0: u32, oc0: u32) {
  let kk = shape.kernel * shape.kernel;
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < select(4u, 1u, OQ == 0u); j++) {
      if (ic0 + i < shape.in_ch && oc0 + j < shape.out_ch) {
        part[base + ((ic0 + i) * shape.out_ch + oc0 + j) * kk] = acc[j][i];
      }
    }
  }
}

// floor(a / b) for b > 0; WGSL's division truncates toward zero.
fn floor_div(a: i32, b: i32) -> i32 {
  return select((a - b + 1) / b, a / b, a >= 0);
}

// Inputs i in [0, size) whose tap k lands inside [0, out): 0 <= i S - P + k < out.
fn span(size: u32, out: u32, k: i32) -> vec2i {
  let s = i32(shape.stride);
  let lo = max(0, -floor_div(k - i32(shape.pad), s));
  let hi = min(i32(size), floor_div(i32(out) - 1 + i32(shape.pad) - k, s) + 1);
  return vec2i(lo, hi);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= shape.items) {
    return;
  }
  let c = i % shape.chunks;
  var rest = i / shape.chunks;
  let oc0 = (rest % shape.oc_blocks) * max(4u * OQ, 1u);
  rest /= shape.oc_blocks;
  let ic0 = (rest % shape.ic_blocks) * 4u * IQ;
  let tap = rest / shape.ic_blocks;
  let ky = i32(tap / shape.kernel);
  let kx = i32(tap % shape.kernel);
  let ys = span(shape.height, shape.out_h, ky);
  let xs = span(shape.width, shape.out_w, kx);
  let s = i32(shape.stride);
  let p = i32(shape.pad);

  let hw = shape.height * shape.width;
  let ohw = shape.out_h * shape.out_w;
  let xi0 = channels(ic0, shape.in_ch, hw);
  let xi1 = channels(ic0 + 4u, shape.in_ch, hw);
  let di0 = channels(oc0, shape.out_ch, ohw);
  let di1 = channels(oc0 + 4u, shape.out_ch, ohw);
  var a00 = mat4x4f();
  var a01 = mat4x4f();
  var a10 = mat4x4f();
  var a11 = mat4x4f();
  let n_hi = min(shape.batch, (c + 1u) * shape.chunk);
  for (var n = c * shape.chunk; n < n_hi; n++) {
    let xplane = n * shape.in_ch * hw;
    let dplane = n * shape.out_ch * ohw;
    for (var iy = ys.x; iy < ys.y; iy++) {
      let xrow = xplane + u32(iy) * shape.width;
      let drow = dplane + u32(iy * s - p + ky) * shape.out_w;
      for (var ix = xs.x; ix < xs.y; ix++) {
        let xb = xrow + u32(ix);
        let db = drow + u32(ix * s - p + kx);
        let xa = x4(xb, xi0);
        if (OQ == 0u) {
          // One output channel: a broadcast of one dy value instead of four loads.
          let d = dy[db + di0.x];
          a00[0] += xa * d;
          if (IQ > 1u) {
            a10[0] += x4(xb, xi1) * d;
          }
          continue;
        }
        let da = dy4(db, di0);
        a00 += outer(xa, da);
        if (IQ > 1u) {
          let xc = x4(xb, xi1);
          a10 += outer(xc, da);
          if (OQ > 1u) {
            let dc = dy4(db, di1);
            a01 += outer(xa, dc);
            a11 += outer(xc, dc);
          }
        } else if (OQ > 1u) {
          a01 += outer(xa, dy4(db, di1));
        }
      }
    }
  }
  let base = c * shape.in_ch * shape.out_ch * shape.kernel * shape.kernel + tap;
  store4(a00, base, ic0, oc0);
  if (OQ > 1u) {
    store4(a01, base, ic0, oc0 + 4u);
  }
  if (IQ > 1u) {
    store4(a10, base, ic0 + 4u, oc0);
    if (OQ > 1u) {
      store4(a11, base, ic0 + 4u, oc0 + 4u);
    }
  }
}
