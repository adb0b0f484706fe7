/**
 * ConvTranspose2d's plan, decided before any GPU object exists: from the layer's shapes and the
 * adapter's traits, which kernels run with which override constants, the values of their Shape
 * uniforms, the scratch sizes and every dispatch's size, and what the conv2d weight gradient and
 * GEMM path (when the variant takes them) are made of. The variant comes from
 * conv_transpose2d_variant.ts.
 */

import type { StructValues } from "../gpu/uniform.ts";
import type {
  Conv2dPackShape,
  CONV_TRANSPOSE_GEOMETRY,
  ConvTransposeBackwardBiasShape,
  ConvTransposeBackwardInputShape,
  ConvTransposeBackwardWeightShape,
  ConvTransposeColsShape,
  ConvTransposeForwardShape,
  ConvTransposeReduceShape,
} from "./conv_shapes.ts";
import type { KernelSpec, PlannedItems } from "./conv2d_plan.ts";
import type { Conv2dOptions } from "./conv2d_variant.ts";
import {
  CONV_TRANSPOSE_SUBGROUP_LANES,
  type ConvTranspose2dOptions,
  type ConvTransposeAdapter,
  convTransposeSubgroupKernels,
  type ConvTransposeVariant,
  convTransposeVariantFor,
  validateConvTranspose2d,
  validateConvTransposeVariant,
} from "./conv_transpose2d_variant.ts";
import type { LinearOptions } from "./linear.ts";

/** The GEMM path's parts (ConvTransposeVariant.gemm); transposes as (batch, rows, cols). */
export interface ConvTransposeGemmPlan {
  /** (N H W, IC) x (IC, OC K K): forward, and the two products of the backward. */
  linear: LinearOptions;
  /** x (N, IC, H W) -> rows (N, H W, IC) and back; w (IC, OC K K) -> (OC K K, IC) and back. */
  xToRows: [number, number, number];
  rowsToX: [number, number, number];
  wToRows: [number, number, number];
  rowsToW: [number, number, number];
  kernels: { col2im: KernelSpec; im2col: KernelSpec };
  col2im: PlannedItems<StructValues<typeof ConvTransposeColsShape.layout>>;
  im2col: PlannedItems<StructValues<typeof ConvTransposeColsShape.layout>>;
  /** Bytes of the scratch tensors: x and dX as rows, w and dW as rows, cols, Linear's zero bias. */
  bytes: Record<"xRows" | "wt" | "cols" | "zeros" | "dxRows" | "dwt", number>;
}

/** Everything a ConvTranspose2d is made of, decided before any GPU object exists. */
export interface ConvTranspose2dPlan {
  options: ConvTranspose2dOptions;
  /** Given, or picked by convTransposeVariantFor. */
  variant: ConvTransposeVariant;
  /** OH = (H - 1) stride - 2 pad + K. */
  outHeight: number;
  /** OW = (W - 1) stride - 2 pad + K. */
  outWidth: number;
  kernels: Record<
    "pack" | "forward" | "backwardInput" | "backwardWeight" | "backwardBias" | "reduce",
    KernelSpec
  >;
  /** Packing w for the forward, (IC, K, K, OC rounded up to 16), and for dX, by output. */
  pack: PlannedItems<StructValues<typeof Conv2dPackShape.layout>>;
  packInput: PlannedItems<StructValues<typeof Conv2dPackShape.layout>>;
  forward: PlannedItems<StructValues<typeof ConvTransposeForwardShape.layout>>;
  backwardInput: PlannedItems<StructValues<typeof ConvTransposeBackwardInputShape.layout>>;
  backwardWeight: PlannedItems<StructValues<typeof ConvTransposeBackwardWeightShape.layout>>;
  backwardBias: PlannedItems<StructValues<typeof ConvTransposeBackwardBiasShape.layout>>;
  reduceWeight: PlannedItems<StructValues<typeof ConvTransposeReduceShape.layout>>;
  reduceBias: PlannedItems<StructValues<typeof ConvTransposeReduceShape.layout>>;
  /** Bytes of the per-chunk partial sums of dW and db; null where they are not needed. */
  partWeightBytes: number | null;
  partBiasBytes: number | null;
  /** With weightGradViaConv2d (and no GEMM backward): the conv2d whose weight gradient is dW. */
  conv2d: Conv2dOptions | null;
  gemm: ConvTransposeGemmPlan | null;
}

/**
 * The plan of a ConvTranspose2d for these shapes on this adapter; `variant` overrides the one
 * convTransposeVariantFor would pick. Throws a RangeError naming what to change where the
 * shapes or the variant cannot run (conv_transpose2d_variant.ts's validators).
 */
export function convTranspose2dPlan(
  adapter: ConvTransposeAdapter,
  opts: ConvTranspose2dOptions,
  variant?: ConvTransposeVariant,
): ConvTranspose2dPlan {
  validateConvTranspose2d(opts);
  const v = variant ?? convTransposeVariantFor(adapter, opts);
  validateConvTransposeVariant(adapter, opts, v);
  const { batch: N, inChannels: IC, outChannels: OC, height: H, width: W } = opts;
  const { kernel: K, stride: S, pad: P } = opts;
  const OH = (H - 1) * S - 2 * P + K, OW = (W - 1) * S - 2 * P + K;
  const geo = {
    batch: N,
    in_ch: IC,
    out_ch: OC,
    height: H,
    width: W,
    out_h: OH,
    out_w: OW,
    kernel: K,
    stride: S,
    pad: P,
  };
  // conv2d_pack_weight.wgsl reads w (IC, OC, K, K) as a conv2d weight with IC outputs and OC
  // inputs. By input, for the forward: wp[((ic K + ky) K + kx) OCP + oc] = w[ic, oc, ky, kx];
  // by output, for dX: wpi[((oc K + ky) K + kx) ICP + ic] = w[ic, oc, ky, kx]. The lanes are
  // the channel count rounded up to 16, zeros past it.
  const packing = (byInput: boolean) => {
    const lanes = Math.ceil((byInput ? OC : IC) / 16) * 16;
    const count = (byInput ? IC : OC) * K * K * lanes;
    const shape = {
      ...{ oc: IC, c: OC, kh: K, kw: K, lanes, by_input: Number(byInput), count },
      ...{ blocks: 1, stride: count },
    };
    return { items: count, shape };
  };
  const f = v.forward, bi = v.backwardInput, bw = v.backwardWeight;

  // OQ = 0 blocks 4 images of one channel instead of 4 channels of one image.
  const batchBlocks = f.OQ === 0 ? Math.ceil(N / 4) : N;
  const ocBlocks = f.OQ === 0 ? OC : Math.ceil(OC / (4 * f.OQ));
  const colGroups = Math.ceil(Math.ceil(OW / S) / (4 * f.PQ));
  const fwdItems = batchBlocks * ocBlocks * OH * S * colGroups;

  const icBlocks = Math.ceil(IC / (4 * bi.IQ));
  const inGroups = Math.ceil(W / (4 * bi.PQ));
  const inItems = N * icBlocks * H * inGroups;

  const wIcBlocks = Math.ceil(IC / (4 * bw.IQ));
  const wOcBlocks = bw.OQ === 0 ? OC : Math.ceil(OC / (4 * bw.OQ));
  const ws = _split(N, K * K * wIcBlocks * wOcBlocks, v.reduceLanes);
  const wItems = K * K * wIcBlocks * wOcBlocks * ws.chunks;
  const wLen = IC * OC * K * K;
  const bs = _split(N, OC, v.reduceLanes);
  const viaConv2d = v.weightGradViaConv2d && !v.gemm.backward;

  return {
    options: { ...opts },
    variant: v,
    outHeight: OH,
    outWidth: OW,
    kernels: _kernels(N, v),
    pack: packing(true),
    packInput: packing(false),
    forward: {
      items: fwdItems,
      shape: {
        ...geo,
        batch_blocks: batchBlocks,
        oc_blocks: ocBlocks,
        col_groups: colGroups,
        items: fwdItems,
      },
    },
    backwardInput: {
      items: inItems,
      shape: { ...geo, ic_blocks: icBlocks, col_groups: inGroups, items: inItems },
    },
    backwardWeight: {
      items: wItems,
      shape: {
        ...geo,
        ic_blocks: wIcBlocks,
        oc_blocks: wOcBlocks,
        chunks: ws.chunks,
        chunk: ws.chunk,
        items: wItems,
      },
    },
    backwardBias: {
      items: OC * bs.chunks,
      shape: {
        batch: N,
        out_ch: OC,
        pixels: OH * OW,
        chunks: bs.chunks,
        chunk: bs.chunk,
        items: OC * bs.chunks,
      },
    },
    reduceWeight: { items: wLen, shape: { len: wLen, chunks: ws.chunks } },
    reduceBias: { items: OC, shape: { len: OC, chunks: bs.chunks } },
    partWeightBytes: ws.chunks > 1 && !viaConv2d ? ws.chunks * wLen * 4 : null,
    partBiasBytes: bs.chunks > 1 ? bs.chunks * OC * 4 : null,
    // conv2d's dY is our x and its x our dY.
    conv2d: viaConv2d
      ? {
        batch: N,
        inChannels: OC,
        outChannels: IC,
        height: OH,
        width: OW,
        kernel: K,
        stride: S,
        pad: P,
      }
      : null,
    gemm: v.gemm.forward || v.gemm.backward ? _gemm(opts, geo, v) : null,
  };
}

/** The direct kernels and their constants; a subgroup kernel's workgroup is one subgroup. */
function _kernels(batch: number, v: ConvTransposeVariant): ConvTranspose2dPlan["kernels"] {
  const wg = { WG: v.wg };
  const sub = convTransposeSubgroupKernels(batch, v);
  const subWg = { WG: CONV_TRANSPOSE_SUBGROUP_LANES };
  return {
    pack: { name: "conv2d_pack_weight", constants: { WG: 256 } },
    forward: sub.forward
      ? { name: "conv_transpose2d_forward_subgroup", constants: { ...subWg, ...v.forward } }
      : { name: "conv_transpose2d_forward", constants: { ...wg, ...v.forward } },
    backwardInput: sub.backwardInput
      ? {
        name: "conv_transpose2d_backward_input_subgroup",
        constants: { ...subWg, ...v.backwardInput },
      }
      : { name: "conv_transpose2d_backward_input", constants: { ...wg, ...v.backwardInput } },
    backwardWeight: {
      name: "conv_transpose2d_backward_weight",
      constants: { ...wg, ...v.backwardWeight },
    },
    backwardBias: { name: "conv_transpose2d_backward_bias", constants: wg },
    reduce: { name: "conv_transpose2d_backward_reduce", constants: wg },
  };
}

/** The GEMM path's products, transposes, dispatches and scratch sizes for these shapes. */
function _gemm(
  o: ConvTranspose2dOptions,
  geo: StructValues<typeof CONV_TRANSPOSE_GEOMETRY>,
  v: ConvTransposeVariant,
): ConvTransposeGemmPlan {
  const { batch: N, inChannels: IC, outChannels: OC, height: H, width: W, kernel: K } = o;
  const HW = H * W, taps = OC * K * K;
  const wg = { WG: v.wg };
  return {
    linear: { batch: N * HW, inFeatures: IC, outFeatures: taps },
    xToRows: [N, IC, HW],
    rowsToX: [N, HW, IC],
    wToRows: [1, IC, taps],
    rowsToW: [1, taps, IC],
    kernels: {
      col2im: { name: "conv_transpose2d_col2im", constants: wg },
      im2col: { name: "conv_transpose2d_im2col", constants: wg },
    },
    col2im: { items: N * OC * geo.out_h, shape: { ...geo, rows: N * OC * geo.out_h } },
    im2col: { items: N * HW, shape: { ...geo, rows: N * HW } },
    bytes: {
      xRows: N * HW * IC * 4,
      wt: taps * IC * 4,
      cols: N * HW * taps * 4,
      zeros: taps * 4,
      dxRows: N * HW * IC * 4,
      dwt: taps * IC * 4,
    },
  };
}

/** A batch split into `chunks` runs of `chunk` images, enough for `lanes` invocations. */
function _split(batch: number, blocks: number, lanes: number): { chunks: number; chunk: number } {
  const wanted = Math.min(batch, Math.max(1, Math.ceil(lanes / blocks)));
  const chunk = Math.ceil(batch / wanted);
  return { chunks: Math.ceil(batch / chunk), chunk };
}
