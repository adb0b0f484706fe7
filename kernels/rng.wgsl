// Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel Random
// Numbers: As Easy as 1, 2, 3", SC11), bit-identical to src/reference/rng.ts.
// Bindings: 0 params (uniform), 1 out (write): n 32-bit words, f32 or u32 as DIST says.
// Block j is Philox(counter = (j, 0, counter_lo, counter_hi), key = (seed_lo, seed_hi)) and
// gives elements 4j .. 4j + 3, so element i depends only on (seed, counter, i), never on n or
// on the dispatch; the blocks of one 64-bit counter value are disjoint from every other
// value's, so a caller that advances counter by one per call never reuses a block.
// DIST picks what is written: 0 uniform in (0, 1) as f32, 1 standard normal as f32 (Box-Muller
// on the pairs (w0, w1) and (w2, w3)), 2 the raw u32 words.
// One invocation computes one block and writes its elements that are < n.

override WG: u32 = 256;
override DIST: u32 = 0u;

struct Params {
  n: u32,
  seed_lo: u32,
  seed_hi: u32,
  counter_lo: u32,
  counter_hi: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

const M0 = 0xD2511F53u;
const M1 = 0xCD9E8D57u;
const W0 = 0x9E3779B9u;
const W1 = 0xBB67AE85u;
const TWO_PI = 6.283185307179586;

// High 32 bits of the 64-bit product a * b, from 16-bit halves (WGSL has no mulhi).
fn mul_hi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xFFFFu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xFFFFu;
  let b_hi = b >> 16u;
  let lh = a_lo * b_hi;
  let hl = a_hi * b_lo;
  let mid = ((a_lo * b_lo) >> 16u) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
  return a_hi * b_hi + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

fn philox(counter: vec4u, seed: vec2u) -> vec4u {
  var c = counter;
  var k = seed;
  for (var round = 0u; round < 10u; round++) {
    if (round > 0u) {
      k += vec2u(W0, W1);
    }
    let hi0 = mul_hi(M0, c.x);
    let lo0 = M0 * c.x;
    let hi1 = mul_hi(M1, c.z);
    let lo1 = M1 * c.z;
    c = vec4u(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
  }
  return c;
}

// The word's 24 high bits k as k / 2^24, with k = 0 mapped to 2^-25: every value is an exact
// f32 in (0, 1), so log() below never sees 0 and 1 - u never rounds to 0. ((k + 0.5) / 2^24
// is not exact in f32 for k >= 2^23 and rounds its largest value up to 1.0.)
fn uniform01(w: u32) -> f32 {
  return max(f32(w >> 8u), 0.5) * 5.9604644775390625e-8;
}

// Two independent standard normals from two words. The angle lies in (-pi, pi), the range
// where Vulkan bounds sin/cos error.
fn box_muller(a: u32, b: u32) -> vec2f {
  let r = sqrt(-2.0 * log(uniform01(a)));
  let theta = TWO_PI * (uniform01(b) - 0.5);
  return r * vec2f(cos(theta), sin(theta));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let block = (wid.x + wid.y * nwg.x) * WG + lid;
  let first = block * 4u;
  if (block >= (params.n + 3u) / 4u) {
    return;
  }
  let w = philox(vec4u(block, 0u, params.counter_lo, params.counter_hi),
                 vec2u(params.seed_lo, params.seed_hi));
  var v: vec4u;
  switch DIST {
    case 0u: {
      v = vec4u(bitcast<u32>(uniform01(w.x)), bitcast<u32>(uniform01(w.y)),
                bitcast<u32>(uniform01(w.z)), bitcast<u32>(uniform01(w.w)));
    }
    case 1u: {
      v = bitcast<vec4u>(vec4f(box_muller(w.x, w.y), box_muller(w.z, w.w)));
    }
    default: { v = w; }
  }
  for (var e = 0u; e < 4u; e++) {
    if (first + e < params.n) {
      out[first + e] = v[e];
    }
  }
}
