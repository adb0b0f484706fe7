/**
 * The conv kernels' uniform structs, mirrored for TypeScript: the planners
 * (conv2d_plan.ts, conv_transpose2d_plan.ts) fill them, the ops write them.
 */

import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in conv2d_pack_weight.wgsl. */
export const Conv2dPackShape = struct({
  oc: "u32",
  c: "u32",
  kh: "u32",
  kw: "u32",
  lanes: "u32",
  by_input: "u32",
  count: "u32",
  blocks: "u32",
  stride: "u32",
});

/** Mirror of `struct Shape` in conv2d_forward{_taps,,_subgroup}.wgsl (a prefix). */
export const Conv2dForwardShape = struct({
  n: "u32",
  c: "u32",
  h: "u32",
  w: "u32",
  oc: "u32",
  oh: "u32",
  ow: "u32",
  kh: "u32",
  kw: "u32",
  pad: "u32",
  ow_blocks: "u32",
  oh_blocks: "u32",
  pix_blocks: "u32",
  pix_groups: "u32",
  oc_blocks: "u32",
  /** The block of 16 output channels that one dispatch of conv2d_forward_taps.wgsl writes. */
  ob: "u32",
});

/** Mirror of `struct Shape` in conv2d_backward_input{_taps,,_subgroup}.wgsl (a prefix). */
export const Conv2dBackwardInputShape = struct({
  n: "u32",
  c: "u32",
  h: "u32",
  w: "u32",
  oc: "u32",
  oh: "u32",
  ow: "u32",
  kh: "u32",
  kw: "u32",
  pad: "u32",
  qh: "u32",
  qh_blocks: "u32",
  q_blocks: "u32",
  pix_blocks: "u32",
  pix_groups: "u32",
  c_blocks: "u32",
  /**
   * conv2d_backward_input_taps.wgsl, per dispatch: its block of 16 input channels, the output
   * channels o_begin .. o_end whose weights it binds as a uniform buffer, and whether it adds
   * to dX (every part after the first).
   */
  cb: "u32",
  o_begin: "u32",
  o_end: "u32",
  accumulate: "u32",
});

/** Mirror of `struct Shape` in conv2d_backward_weight{,_subgroup}.wgsl. */
export const Conv2dBackwardWeightShape = struct({
  n: "u32",
  c: "u32",
  h: "u32",
  w: "u32",
  oc: "u32",
  oh: "u32",
  ow: "u32",
  kh: "u32",
  kw: "u32",
  pad: "u32",
  kw_blocks: "u32",
  r_blocks: "u32",
  blocks: "u32",
  chunk: "u32",
  count: "u32",
  w_count: "u32",
});

/** Mirror of `struct Shape` in conv2d_backward_weight_reduce.wgsl. */
export const Conv2dReduceShape = struct({ w_count: "u32", oc: "u32", chunks: "u32" });

/** The fields that every transposed-conv Shape but the bias's starts with. */
export const CONV_TRANSPOSE_GEOMETRY = {
  batch: "u32",
  in_ch: "u32",
  out_ch: "u32",
  height: "u32",
  width: "u32",
  out_h: "u32",
  out_w: "u32",
  kernel: "u32",
  stride: "u32",
  pad: "u32",
} as const;

/** Mirror of `struct Shape` in conv_transpose2d_forward{,_subgroup}.wgsl. */
export const ConvTransposeForwardShape = struct({
  ...CONV_TRANSPOSE_GEOMETRY,
  batch_blocks: "u32",
  oc_blocks: "u32",
  col_groups: "u32",
  items: "u32",
});
/** Mirror of `struct Shape` in conv_transpose2d_backward_input{,_subgroup}.wgsl. */
export const ConvTransposeBackwardInputShape = struct({
  ...CONV_TRANSPOSE_GEOMETRY,
  ic_blocks: "u32",
  col_groups: "u32",
  items: "u32",
});
/** Mirror of `struct Shape` in conv_transpose2d_backward_weight.wgsl. */
export const ConvTransposeBackwardWeightShape = struct({
  ...CONV_TRANSPOSE_GEOMETRY,
  ic_blocks: "u32",
  oc_blocks: "u32",
  chunks: "u32",
  chunk: "u32",
  items: "u32",
});
/** Mirror of `struct Shape` in conv_transpose2d_backward_bias.wgsl. */
export const ConvTransposeBackwardBiasShape = struct({
  batch: "u32",
  out_ch: "u32",
  pixels: "u32",
  chunks: "u32",
  chunk: "u32",
  items: "u32",
});
/** Mirror of `struct Shape` in conv_transpose2d_col2im.wgsl and conv_transpose2d_im2col.wgsl. */
export const ConvTransposeColsShape = struct({ ...CONV_TRANSPOSE_GEOMETRY, rows: "u32" });
/** Mirror of `struct Shape` in conv_transpose2d_backward_reduce.wgsl. */
export const ConvTransposeReduceShape = struct({ len: "u32", chunks: "u32" });
