/**
 * Conv2d's plan, decided before any GPU object exists: from the layer's shapes and the adapter's
 * traits, which kernels run with which override constants, the values of their Shape uniforms,
 * the scratch sizes and every dispatch's grid. The variant comes from conv2d_variant.ts.
 */

import type { Constants } from "../gpu/gpu.ts";
import { workgroupsFor } from "../gpu/grid.ts";
import type { StructValues } from "../gpu/uniform.ts";
import type {
  Conv2dBackwardInputShape,
  Conv2dBackwardWeightShape,
  Conv2dForwardShape,
  Conv2dPackShape,
  Conv2dReduceShape,
} from "./conv_shapes.ts";
import {
  type AdapterTraits,
  CONV2D_CHANNEL_BLOCK,
  CONV2D_PAIRS,
  CONV2D_SUBGROUP_LANES,
  CONV2D_TAPS_UNIFORM_BYTES,
  conv2dInputTapsParts,
  type Conv2dOptions,
  conv2dVariantFor,
  conv2dWeightBlocksShareChannels,
  validateConv2d,
} from "./conv2d_variant.ts";

/** A kernels/<name>.wgsl and the override constants to compile it with. */
export interface KernelSpec {
  name: string;
  constants: Constants;
}

/**
 * One dispatch of the forward or backward-input kernel: its Shape, its workgroups, and the
 * range of the packed weight it binds as a uniform buffer (taps kernels), or null for all of it.
 */
export interface Conv2dDispatch<S> {
  shape: S;
  workgroups: number;
  weights: { offset: number; size: number } | null;
}

/** A kernel dispatched over `items` invocations (Recorder.dispatchItems) with this Shape. */
export interface PlannedItems<S> {
  shape: S;
  items: number;
}

/** Everything a Conv2d is made of, decided before any GPU object exists. */
export interface Conv2dPlan {
  /** The options with their defaults filled in and the variant chosen. */
  options: Required<Conv2dOptions>;
  /** OH = floor((H + 2 pad - K) / stride) + 1. */
  outHeight: number;
  /** OW = floor((W + 2 pad - K) / stride) + 1. */
  outWidth: number;
  /** Image chunks of the weight-gradient sum (partials in a scratch buffer). */
  weightGradChunks: number;
  kernels: Record<
    "packWeight" | "forward" | "backwardInput" | "backwardWeight" | "reduce",
    KernelSpec
  >;
  /** Packing w for the forward, and for the backward-input. */
  packForward: PlannedItems<StructValues<typeof Conv2dPackShape.layout>>;
  packInput: PlannedItems<StructValues<typeof Conv2dPackShape.layout>>;
  /** Bytes of each packed weight, and whether the taps kernels bind it in uniform blocks. */
  packedForward: { bytes: number; uniform: boolean };
  packedInput: { bytes: number; uniform: boolean };
  /** Bytes of the weight-gradient partials: per chunk, dW then dB. */
  partialsBytes: number;
  /** In order: one dispatch, or with forwardTaps one per block of 16 output channels. */
  forward: Conv2dDispatch<StructValues<typeof Conv2dForwardShape.layout>>[];
  /** One, or with inputTaps one per block of 16 input channels and part of the sum, in order. */
  backwardInput: Conv2dDispatch<StructValues<typeof Conv2dBackwardInputShape.layout>>[];
  backwardWeight: PlannedItems<StructValues<typeof Conv2dBackwardWeightShape.layout>>;
  reduce: PlannedItems<StructValues<typeof Conv2dReduceShape.layout>>;
}

const WG = 64;
/**
 * The taps kernels' workgroup: one subgroup. They run one dispatch per block of 16 channels (and
 * dX per part of its sum), and small workgroups keep lavapipe's threads busy to the end of each.
 */
const WG_TAPS = 8;
const WG_ELEMENTWISE = 256;
/**
 * The weight gradient's N OH OW sum is split into image chunks until about this many
 * invocations run; fewer leave cores idle (conv1 has only 40 blocks), more only add partials.
 */
const WEIGHT_GRAD_INVOCATIONS = 4096;

/**
 * The plan of a Conv2d for these shapes on this adapter; throws a RangeError naming what to
 * change where the options or an explicit variant cannot run (conv2d_variant.ts's validateConv2d).
 */
export function conv2dPlan(adapter: AdapterTraits, opts: Conv2dOptions): Conv2dPlan {
  const o: Required<Conv2dOptions> = {
    ...opts,
    stride: opts.stride ?? 1,
    pad: opts.pad ?? 0,
    variant: opts.variant ?? conv2dVariantFor(adapter, opts),
  };
  validateConv2d(adapter, o);
  const v = o.variant;
  const { batch: N, inChannels: C, height: H, width: W, outChannels: OC, kernel: K } = o;
  const S = o.stride, taps = K * K, BLOCK = CONV2D_CHANNEL_BLOCK;
  const OH = Math.floor((H + 2 * o.pad - K) / S) + 1;
  const OW = Math.floor((W + 2 * o.pad - K) / S) + 1;
  // The fields every kernel's Shape starts with.
  const dims = { n: N, c: C, h: H, w: W, oc: OC, oh: OH, ow: OW, kh: K, kw: K, pad: o.pad };

  const ocLanes = _roundUp(OC, BLOCK), cLanes = _roundUp(C, BLOCK);
  const cBlocks = cLanes / BLOCK;
  // The taps dX reads each block of 16 input channels' weights in parts (conv2dInputTapsParts),
  // each a uniform buffer: blocks on 256-byte boundaries, the last part followed by 64 KiB.
  const inputParts = v.inputTaps ? conv2dInputTapsParts(OC, K) : [];
  const inputStride = v.inputTaps ? _roundUp(OC * taps * BLOCK, 64) : 0;
  const packInput = v.inputTaps ? cBlocks * inputStride : OC * taps * cLanes;
  // The taps forward reads each block of 16 output channels as a uniform buffer: blocks on
  // 256-byte boundaries (minUniformBufferOffsetAlignment), each followed by 64 KiB in bounds.
  const ocBlocks = ocLanes / BLOCK;
  const blockStride = v.forwardTaps ? _roundUp(C * taps * BLOCK, 64) : C * taps * ocLanes;
  const packBlocks = v.forwardTaps ? ocBlocks : 1;
  const packForward = packBlocks * blockStride;
  const pack = { oc: OC, c: C, kh: K, kw: K };

  const owBlocks = Math.ceil(OW / v.forwardWidth);
  const ohBlocks = Math.ceil(OH / (v.forwardPair === "rows" ? 2 : 1));
  const pixBlocks = Math.ceil(N / (v.forwardPair === "images" ? 2 : 1)) * ohBlocks * owBlocks;
  const fwd = {
    ...dims,
    ow_blocks: owBlocks,
    oh_blocks: ohBlocks,
    pix_blocks: pixBlocks,
    pix_groups: workgroupsFor(pixBlocks, v.forwardTaps ? WG_TAPS : WG),
    oc_blocks: ocBlocks,
    ob: 0,
  };

  const qh = Math.ceil(H / S), qBlocks = Math.ceil(Math.ceil(W / S) / v.inputWidth);
  const qhBlocks = Math.ceil(qh / (v.inputPair === "rows" ? 2 : 1));
  const inPixBlocks = Math.ceil(N / (v.inputPair === "images" ? 2 : 1)) * qhBlocks * qBlocks;
  const bwdIn = {
    ...dims,
    qh,
    qh_blocks: qhBlocks,
    q_blocks: qBlocks,
    pix_blocks: inPixBlocks,
    pix_groups: workgroupsFor(inPixBlocks, v.inputTaps ? WG_TAPS : WG),
    c_blocks: cBlocks,
    ...{ cb: 0, o_begin: 0, o_end: OC, accumulate: 0 },
  };

  // Weight-gradient blocks: 8 output channels x 4 weight rows (c, kh) x 4 taps kw (all K
  // with kernelTaps).
  const kwBlocks = v.kernelTaps ? 1 : Math.ceil(K / 4), rBlocks = Math.ceil((C * K) / 4);
  const blocks = Math.ceil(OC / 8) * rBlocks * kwBlocks;
  const wantChunks = Math.min(N, Math.ceil(WEIGHT_GRAD_INVOCATIONS / blocks));
  const chunk = Math.ceil(N / wantChunks);
  const chunks = Math.ceil(N / chunk);
  const wCount = OC * C * taps;
  const bwdW = {
    ...dims,
    kw_blocks: kwBlocks,
    r_blocks: rBlocks,
    blocks,
    chunk,
    count: blocks * chunks,
    w_count: wCount,
  };
  const uniformBlock = (offset: number) => ({ offset, size: CONV2D_TAPS_UNIFORM_BYTES });
  const lastPart = inputParts.length ? inputParts[inputParts.length - 1][0] : 0;

  return {
    options: o,
    outHeight: OH,
    outWidth: OW,
    weightGradChunks: chunks,
    kernels: _kernels(o, C, K),
    packForward: {
      shape: {
        ...pack,
        lanes: v.forwardTaps ? BLOCK : ocLanes,
        by_input: 0,
        count: packForward,
        blocks: packBlocks,
        stride: blockStride,
      },
      items: packForward,
    },
    packInput: {
      shape: {
        ...pack,
        lanes: v.inputTaps ? BLOCK : cLanes,
        by_input: 1,
        count: packInput,
        blocks: v.inputTaps ? cBlocks : 1,
        stride: v.inputTaps ? inputStride : packInput,
      },
      items: packInput,
    },
    packedForward: v.forwardTaps
      ? { bytes: (ocBlocks - 1) * blockStride * 4 + CONV2D_TAPS_UNIFORM_BYTES, uniform: true }
      : { bytes: packForward * 4, uniform: false },
    packedInput: v.inputTaps
      ? {
        bytes: ((cBlocks - 1) * inputStride + lastPart * taps * BLOCK) * 4 +
          CONV2D_TAPS_UNIFORM_BYTES,
        uniform: true,
      }
      : { bytes: packInput * 4, uniform: false },
    partialsBytes: chunks * (wCount + OC) * 4,
    forward: v.forwardTaps
      ? Array.from({ length: ocBlocks }, (_, ob) => ({
        shape: { ...fwd, ob },
        workgroups: fwd.pix_groups,
        weights: uniformBlock(ob * blockStride * 4),
      }))
      : [{ shape: fwd, workgroups: fwd.oc_blocks * fwd.pix_groups, weights: null }],
    backwardInput: v.inputTaps
      ? Array.from({ length: cBlocks }, (_, cb) =>
        inputParts.map(([begin, end]) => ({
          shape: { ...bwdIn, cb, o_begin: begin, o_end: end, accumulate: Number(begin > 0) },
          workgroups: bwdIn.pix_groups,
          weights: uniformBlock((cb * inputStride + begin * taps * BLOCK) * 4),
        }))).flat()
      : [{ shape: bwdIn, workgroups: bwdIn.c_blocks * S * S * bwdIn.pix_groups, weights: null }],
    backwardWeight: { shape: bwdW, items: bwdW.count },
    reduce: { shape: { w_count: wCount, oc: OC, chunks }, items: wCount + OC },
  };
}

/** The kernels and override constants of a validated layer. */
function _kernels(o: Required<Conv2dOptions>, C: number, K: number): Conv2dPlan["kernels"] {
  const v = o.variant;
  const weightSubgroups = v.subgroups && conv2dWeightBlocksShareChannels(C, K, v);
  const strided = { WG, STRIDE: o.stride };
  return {
    packWeight: { name: "conv2d_pack_weight", constants: { WG: WG_ELEMENTWISE } },
    forward: v.forwardTaps
      ? { name: "conv2d_forward_taps", constants: { WG: WG_TAPS, K, BW: v.forwardWidth } }
      : {
        name: _named("conv2d_forward", v.subgroups),
        constants: { ...strided, PAIR: CONV2D_PAIRS.indexOf(v.forwardPair), BW: v.forwardWidth },
      },
    backwardInput: v.inputTaps
      ? { name: "conv2d_backward_input_taps", constants: { WG: WG_TAPS, K, BW: v.inputWidth } }
      : {
        name: _named("conv2d_backward_input", v.subgroups),
        constants: { ...strided, PAIR: CONV2D_PAIRS.indexOf(v.inputPair), BW: v.inputWidth },
      },
    backwardWeight: {
      name: _named("conv2d_backward_weight", weightSubgroups),
      constants: {
        ...strided,
        // The subgroup kernel's workgroup is its subgroup, whose 8 blocks share their channels.
        WG: weightSubgroups ? CONV2D_SUBGROUP_LANES : WG,
        TAPS: v.kernelTaps ? K : 4,
      },
    },
    reduce: { name: "conv2d_backward_weight_reduce", constants: { WG: WG_ELEMENTWISE } },
  };
}

/** kernels/<name>_subgroup.wgsl where `subgroups`, else kernels/<name>.wgsl. */
function _named(name: string, subgroups: boolean): string {
  return subgroups ? `${name}_subgroup` : name;
}

function _roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}
