// What conv_transpose2d_forward.wgsl and conv_transpose2d_forward_subgroup.wgsl share, spliced
// into both by `// #include "lib/conv_transpose2d_forward.wgsl"`: the overrides, the uniform
// Shape (mirrored by ConvTransposeForwardShape in src/ops/conv_shapes.ts), the bindings, and the
// helpers that load x and store blocks of y with the bias. The twins differ only in their main;
// conv_transpose2d_forward.wgsl's header gives the layouts and the blocking. No entry point;
// valid WGSL on its own.

override WG: u32 = 64;
override OQ: u32 = 2; // output-channel quads per invocation: 1, 2 or 4; 0: one channel, 4 images
override PQ: u32 = 2; // pixel quads per invocation: 1 or 2

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
  batch_blocks: u32, // N, or ceil(N / 4) with OQ = 0
  oc_blocks: u32, // ceil(OC / (4 OQ)), or OC with OQ = 0
  col_groups: u32, // ceil(ceil(OW / S) / (4 PQ)), blocks per residue class and row
  items: u32, // batch_blocks oc_blocks OH S col_groups
}

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<vec4f>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn outer(u: vec4f, v: vec4f) -> mat4x4f {
  return mat4x4f(u * v.x, u * v.y, u * v.z, u * v.w);
}

// The input at column ix of one row, zero outside the row.
fn x1(row: u32, ix: i32) -> f32 {
  let ok = ix >= 0 && ix < i32(shape.width);
  return select(0.0, x[row + u32(clamp(ix, 0, i32(shape.width) - 1))], ok);
}

// Four inputs of one row from column ix on, zero outside the row.
fn x4(row: u32, ix: i32) -> vec4f {
  let c = vec4i(ix) + vec4i(0, 1, 2, 3);
  let last = i32(shape.width) - 1;
  let ok = (c >= vec4i(0)) & (c <= vec4i(last));
  let i = vec4u(clamp(c, vec4i(0), vec4i(last))) + row;
  return select(vec4f(0.0), vec4f(x[i.x], x[i.y], x[i.z], x[i.w]), ok);
}

// The same row of four images (offsets `o`) as rows of a matrix: [pixel][image].
fn x4x4(row: u32, o: vec4u, ix: i32) -> mat4x4f {
  return transpose(mat4x4f(x4(row + o.x, ix), x4(row + o.y, ix), x4(row + o.z, ix), x4(row + o.w, ix)));
}


// Stores block (bq, bp): acc[p][j] is pixel t0 + 4 bp + p of channel oc0 + 4 bq + j, or with
// OQ = 0 of channel oc0 and image n + j. Blocks beyond OQ and PQ are skipped.
fn store4(acc: mat4x4f, bq: u32, bp: u32, n: u32, oc0: u32, oy: u32, r: u32, t0: u32) {
  if (bq >= max(OQ, 1u) || bp >= PQ) {
    return;
  }
  let plane = shape.out_h * shape.out_w;
  for (var j = 0u; j < 4u; j++) {
    let oc = select(oc0 + 4u * bq + j, oc0, OQ == 0u);
    let img = select(n, n + j, OQ == 0u);
    if (oc < shape.out_ch && img < shape.batch) {
      let row = ((img * shape.out_ch + oc) * shape.out_h + oy) * shape.out_w;
      for (var p = 0u; p < 4u; p++) {
        let ox = r + shape.stride * (t0 + 4u * bp + p);
        if (ox < shape.out_w) {
          y[row + ox] = acc[p][j] + b[oc];
        }
      }
    }
  }
}
