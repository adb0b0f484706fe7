// What conv_transpose2d_backward_input.wgsl and conv_transpose2d_backward_input_subgroup.wgsl
// share, spliced into both by `// #include "lib/conv_transpose2d_backward_input.wgsl"`: the
// overrides, the uniform Shape (mirrored by ConvTransposeBackwardInputShape in
// src/ops/conv_shapes.ts), the bindings, and the helpers that load dy and store blocks of dx.
// The twins differ only in their main; conv_transpose2d_backward_input.wgsl's header gives the
// layouts and the blocking. No entry point; valid WGSL on its own.

override WG: u32 = 64;
override IQ: u32 = 2; // input-channel quads per invocation: 1, 2 or 4
override PQ: u32 = 1; // pixel quads per invocation: 1 or 2

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
  col_groups: u32, // ceil(W / (4 PQ))
  items: u32, // N ic_blocks H col_groups
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn outer(u: vec4f, v: vec4f) -> mat4x4f {
  return mat4x4f(u * v.x, u * v.y, u * v.z, u * v.w);
}

// dy at columns ox, ox + S, ox + 2 S, ox + 3 S of one row, zero outside the row.
fn dy4(row: u32, ox: i32) -> vec4f {
  let c = vec4i(ox) + i32(shape.stride) * vec4i(0, 1, 2, 3);
  let last = i32(shape.out_w) - 1;
  let ok = (c >= vec4i(0)) & (c <= vec4i(last));
  let i = vec4u(clamp(c, vec4i(0), vec4i(last))) + row;
  return select(vec4f(0.0), vec4f(dy[i.x], dy[i.y], dy[i.z], dy[i.w]), ok);
}

// dy at column ox of one row, zero outside the row.
fn dy1(row: u32, ox: i32) -> f32 {
  let ok = ox >= 0 && ox < i32(shape.out_w);
  return select(0.0, dy[row + u32(clamp(ox, 0, i32(shape.out_w) - 1))], ok);
}

// Stores block (bq, bp): acc[p][j] is pixel ix0 + 4 bp + p of input channel ic0 + 4 bq + j.
// Blocks beyond IQ and PQ are skipped.
fn store4(acc: mat4x4f, bq: u32, bp: u32, ic0: u32, row0: u32, ix0: u32) {
  if (bq >= IQ || bp >= PQ) {
    return;
  }
  let plane = shape.height * shape.width;
  for (var j = 0u; j < 4u; j++) {
    let ic = ic0 + 4u * bq + j;
    if (ic < shape.in_ch) {
      for (var p = 0u; p < 4u; p++) {
        let ix = ix0 + 4u * bp + p;
        if (ix < shape.width) {
          dx[row0 + ic * plane + ix] = acc[p][j];
        }
      }
    }
  }
}
