/**
 * 2-D convolution on the GPU: cross-correlation with zero padding, a square kernel and any
 * stride, as in every deep learning framework. Kernels: kernels/conv2d_pack_weight.wgsl,
 * conv2d_forward.wgsl, conv2d_backward_input.wgsl, conv2d_backward_weight.wgsl and
 * conv2d_backward_weight_reduce.wgsl; on adapters with 8-lane subgroups (lavapipe on AVX2) the
 * first three's `_subgroup` versions, which share weight (or dy) loads across the subgroup, and
 * for stride-1 3 x 3 and 5 x 5 layers conv2d_forward_taps.wgsl and
 * conv2d_backward_input_taps.wgsl, which add a kernel row's taps as one matrix product.
 *
 * The kernels are register-blocked (16 x 8 outputs per invocation, or two such blocks; see
 * conv2dVariantFor; no shared memory), which is what the software adapter (lavapipe) runs
 * fastest; see the kernels' headers for why.
 * Each step from private arrays to the sliding 16 x 8 block roughly doubled the forward's
 * GFLOP/s on lavapipe, whose storage loads (a loop over the SIMD lanes) still take half the time;
 * docs/performance.md, "conv2d variants", has the measurements. No shared-memory tiled variant:
 * none could be measured on a GPU here, and on lavapipe workgroup memory costs the same per-lane
 * loop plus barriers.
 */

import {
  type Gpu,
  type Kernel,
  KERNEL_SUBGROUP_LANES,
  type Recorder,
  requireKernelSubgroups,
  type Tensor,
} from "../gpu/gpu.ts";
import { workgroupsFor } from "../gpu/grid.ts";
import { struct } from "../gpu/uniform.ts";

/** The shapes of a Conv2d: x (N, IC, H, W), w (OC, IC, K, K), y (N, OC, OH, OW). */
export interface Conv2dOptions {
  /** N, images per batch. */
  batch: number;
  /** IC, input channels. */
  inChannels: number;
  /** OC, output channels. */
  outChannels: number;
  /** H, input rows. */
  height: number;
  /** W, input columns. */
  width: number;
  /** Kernel height and width. */
  kernel: number;
  /** Default 1. */
  stride?: number;
  /** Zero padding on each side; default 0. */
  pad?: number;
  /** Block shapes; `conv2dVariantFor(gpu, options)` when left out. */
  variant?: Conv2dVariant;
}

/**
 * A second 16-channel x 8-pixel block per forward or backward-input invocation, sharing the
 * first one's weight loads: none, the next row (of the stride phase, for the input gradient), or
 * the same row of the next image.
 */
export const CONV2D_PAIRS = ["none", "rows", "images"] as const;
/** One of CONV2D_PAIRS. */
export type Conv2dPair = typeof CONV2D_PAIRS[number];

/** Register-block shapes of the conv2d kernels (all variants compute the same sums). */
export interface Conv2dVariant {
  /** The forward's second block. */
  forwardPair: Conv2dPair;
  /** The backward-input's second block. */
  inputPair: Conv2dPair;
  /**
   * A 3 x 3 or 5 x 5 kernel's weight gradient in one block of all its taps kw instead of 4-tap
   * blocks: for 5, mat4x4s plus a vec4 per output channel instead of two 4-tap blocks, three of
   * whose eight taps are wasted; for 3, a 4-tap block whose fourth tap the compiler drops.
   */
  kernelTaps: boolean;
  /**
   * Pixels per forward block along a row: 8, or 7 where the output width is a multiple of 7
   * (every layer of the course's 28 x 28 images), so that no block computes a pixel past the row.
   */
  forwardWidth: 7 | 8;
  /** The same for the backward-input blocks, along the input's rows (of a stride phase). */
  inputWidth: 7 | 8;
  /**
   * Kernels that share loads across a subgroup of 8 lanes (lavapipe on AVX2): forward and
   * backward-input, each lane loads one of a tap's four weight vec4s and takes the others from
   * its neighbours with subgroupBroadcast (1 load where there were 4); the weight gradient, where
   * 8 neighbouring blocks share their output channels (conv2dWeightBlocksShareChannels), each
   * lane loads one channel's dy (1 load where there were 8).
   */
  subgroups: boolean;
  /**
   * The forward as conv2d_forward_taps.wgsl: a kernel row's taps summed as one matrix product
   * instead of tap by tap. Needs subgroups, stride 1, a 3 x 3 or 5 x 5 kernel and no forward pair.
   */
  forwardTaps: boolean;
  /** The same for the backward-input, as conv2d_backward_input_taps.wgsl (no input pair). */
  inputTaps: boolean;
}

/** The subgroup kernels are written for subgroups of exactly this many lanes. */
export const CONV2D_SUBGROUP_LANES = KERNEL_SUBGROUP_LANES;

/**
 * The one place where the conv2d block shapes are chosen, for an adapter and a layer shape.
 *
 * Why: on lavapipe each storage load is a loop over the SIMD lanes, so a second block, which
 * reuses every weight vec4 for twice the multiply-adds, pays for its 128 extra (spilled)
 * accumulators. Rows come first where the rows fill the pairs to within 8%, then images where the
 * batch does; blocks 7 pixels wide where 7 divides the row and the 3 x 3 kernel's 3-tap weight-
 * gradient block only drop work, so every adapter takes them. With 8-lane subgroups the subgroup
 * kernels, and for stride-1 3 x 3 and 5 x 5 layers the taps kernels (the forward's while
 * C K K <= 1024, conv2dForwardTapsFits), are 0.5-0.9x the time. Hardware adapters (not measured:
 * no GPU where this was built) keep single blocks and the 5 x 5 kernel's 4-tap blocks. The
 * measurements: docs/performance.md, "conv2d variants".
 */
export function conv2dVariantFor(gpu: Gpu, o: Conv2dOptions): Conv2dVariant {
  const s = o.stride ?? 1, p = o.pad ?? 0;
  const oh = Math.floor((o.height + 2 * p - o.kernel) / s) + 1;
  const ow = Math.floor((o.width + 2 * p - o.kernel) / s) + 1;
  const widths = {
    forwardWidth: ow % 7 === 0 ? 7 : 8,
    inputWidth: Math.ceil(o.width / s) % 7 === 0 ? 7 : 8,
  } as const;
  if (gpu.variants === "hardware") {
    return {
      forwardPair: "none",
      inputPair: "none",
      kernelTaps: o.kernel === 3,
      ...widths,
      subgroups: false,
      forwardTaps: false,
      inputTaps: false,
    };
  }
  const fills = (count: number) => (2 * Math.ceil(count / 2)) / count <= 1.08;
  const pair = (rows: number): Conv2dPair =>
    fills(rows) ? "rows" : fills(o.batch) ? "images" : "none";
  const subgroups = gpu.subgroupSize === CONV2D_SUBGROUP_LANES;
  const inputTaps = subgroups && s === 1 && (o.kernel === 3 || o.kernel === 5);
  const forwardTaps = inputTaps && conv2dForwardTapsFits(o.inChannels, o.kernel);
  return {
    forwardPair: forwardTaps ? "none" : pair(oh),
    inputPair: inputTaps ? "none" : pair(Math.ceil(o.height / s)),
    kernelTaps: o.kernel === 3 || o.kernel === 5,
    ...widths,
    subgroups,
    forwardTaps,
    inputTaps,
  };
}

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

/** Mirror of `struct Shape` in conv2d_forward{_taps,}.wgsl (a prefix). */
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

/**
 * The forward taps kernel reads one block of 16 output channels' packed weights, C K K 16
 * floats, as a uniform buffer: at most maxUniformBufferBindingSize (64 KiB in WebGPU's
 * defaults), so C K K <= 1024 (the course's layers: 25, 800 and 576).
 */
export const CONV2D_TAPS_UNIFORM_BYTES = 65536;

/** Whether conv2d_forward_taps.wgsl can take this layer: its weight blocks fit a uniform buffer. */
export function conv2dForwardTapsFits(inChannels: number, kernel: number): boolean {
  return inChannels * kernel * kernel * CHANNEL_BLOCK * 4 <= CONV2D_TAPS_UNIFORM_BYTES;
}

/** Mirror of `struct Shape` in conv2d_backward_input{_taps,}.wgsl (a prefix). */
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

/**
 * How conv2d_backward_input_taps.wgsl splits the sum over output channels so that each part's
 * weights for one block of 16 input channels, part K K 16 floats, fit one uniform buffer:
 * parts of a multiple of 4 channels (so each starts 256-byte aligned), as even as they come.
 */
export function conv2dInputTapsParts(outChannels: number, kernel: number): number[][] {
  const perChannel = kernel * kernel * CHANNEL_BLOCK * 4; // bytes
  const most = 4 * Math.floor(CONV2D_TAPS_UNIFORM_BYTES / perChannel / 4);
  const size = 4 * Math.ceil(outChannels / Math.ceil(outChannels / most) / 4);
  const parts: number[][] = [];
  for (let o = 0; o < outChannels; o += size) parts.push([o, Math.min(outChannels, o + size)]);
  return parts;
}

/** Mirror of `struct Shape` in conv2d_backward_weight.wgsl. */
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

const WG = 64;
/**
 * The taps kernels' workgroup: one subgroup. They run one dispatch per block of 16 channels (and
 * dX per part of its sum), and small workgroups keep lavapipe's threads busy to the end of each
 * (64-invocation workgroups made the 64->128 forward 0.94x the speed of one dispatch).
 */
const WG_TAPS = 8;
const WG_ELEMENTWISE = 256;
/** Channels per invocation block in the forward (output) and backward-input (input) kernels. */
const CHANNEL_BLOCK = 16;
/**
 * The weight gradient's N OH OW sum is split into image chunks until about this many
 * invocations run; fewer leave cores idle (conv1 has only 40 blocks), more only add partials.
 */
const WEIGHT_GRAD_INVOCATIONS = 4096;

/**
 * A 2-D convolution layer's kernels for fixed shapes: y = conv(x, w) + b forward, and the
 * gradients to x, w and b. x (N, IC, H, W), w (OC, IC, K, K), b (OC), y (N, OC, OH, OW).
 */
export class Conv2d {
  /** N, images per batch. */
  readonly batch: number;
  /** IC, input channels. */
  readonly inChannels: number;
  /** OC, output channels. */
  readonly outChannels: number;
  /** H, input rows. */
  readonly height: number;
  /** W, input columns. */
  readonly width: number;
  /** K, the kernel's height and width. */
  readonly kernel: number;
  /** Stride in both directions. */
  readonly stride: number;
  /** Zero padding on each side. */
  readonly pad: number;
  /** The register-block shapes in use (given, or picked by conv2dVariantFor). */
  readonly variant: Readonly<Conv2dVariant>;
  /** OH = floor((H + 2 pad - K) / stride) + 1. */
  readonly outHeight: number;
  /** OW = floor((W + 2 pad - K) / stride) + 1. */
  readonly outWidth: number;
  /** Image chunks of the weight-gradient sum (partials in a scratch buffer). */
  readonly weightGradChunks: number;
  readonly #gpu: Gpu;
  readonly #k: Conv2dKernels;
  readonly #u: {
    /** With forwardTaps: the forward's Shape once per block of 16 output channels. */
    forwardBlocks: GPUBuffer[];
    /** With inputTaps: dX's Shape per block of 16 input channels and part of the channels. */
    inputParts: GPUBuffer[];
    packForward: GPUBuffer;
    packInput: GPUBuffer;
    forward: GPUBuffer;
    backwardInput: GPUBuffer;
    backwardWeight: GPUBuffer;
    reduce: GPUBuffer;
  };
  readonly #packedForward: GPUBuffer;
  readonly #packedInput: GPUBuffer;
  /** With inputTaps: the output-channel ranges [begin, end) of dX's parts. */
  readonly #inputParts: number[][];
  readonly #partials: GPUBuffer;
  readonly #counts: {
    /** With forwardTaps: floats between two blocks' weights in the packed buffer. */
    forwardBlockStride: number;
    /** With inputTaps: the same for dX's blocks of 16 input channels. */
    inputBlockStride: number;
    /** Workgroups of one taps dispatch (one block of channels, or one part of dX's sum). */
    forwardPixGroups: number;
    inputPixGroups: number;
    packForward: number;
    packInput: number;
    forwardGroups: number;
    inputGroups: number;
    weightItems: number;
    reduceItems: number;
  };

  private constructor(gpu: Gpu, o: Required<Conv2dOptions>, kernels: Conv2dKernels) {
    this.variant = o.variant;
    this.#gpu = gpu;
    this.#k = kernels;
    this.batch = o.batch;
    this.inChannels = o.inChannels;
    this.outChannels = o.outChannels;
    this.height = o.height;
    this.width = o.width;
    this.kernel = o.kernel;
    this.stride = o.stride;
    this.pad = o.pad;
    this.outHeight = Math.floor((o.height + 2 * o.pad - o.kernel) / o.stride) + 1;
    this.outWidth = Math.floor((o.width + 2 * o.pad - o.kernel) / o.stride) + 1;
    const { batch: N, inChannels: C, height: H, width: W, outChannels: OC, kernel: K } = o;
    const [S, OH, OW, taps] = [o.stride, this.outHeight, this.outWidth, K * K];
    // The fields every kernel's Shape starts with.
    const dims = { n: N, c: C, h: H, w: W, oc: OC, oh: OH, ow: OW, kh: K, kw: K, pad: o.pad };

    const ocLanes = _roundUp(OC, CHANNEL_BLOCK), cLanes = _roundUp(C, CHANNEL_BLOCK);
    const cBlocks = cLanes / CHANNEL_BLOCK;
    // The taps dX reads each block of 16 input channels' weights in parts (conv2dInputTapsParts),
    // each a uniform buffer: blocks on 256-byte boundaries, the last part followed by 64 KiB.
    const inputParts = o.variant.inputTaps ? conv2dInputTapsParts(OC, K) : [];
    const inputStride = o.variant.inputTaps ? _roundUp(OC * taps * CHANNEL_BLOCK, 64) : 0;
    const packInput = o.variant.inputTaps ? cBlocks * inputStride : OC * taps * cLanes;
    // The taps forward reads each block of 16 output channels as a uniform buffer: blocks on
    // 256-byte boundaries (minUniformBufferOffsetAlignment), each followed by 64 KiB in bounds.
    const ocBlocks = ocLanes / CHANNEL_BLOCK;
    const blockStride = o.variant.forwardTaps
      ? _roundUp(C * taps * CHANNEL_BLOCK, 64)
      : C * taps * ocLanes;
    const packBlocks = o.variant.forwardTaps ? ocBlocks : 1;
    const packForward = packBlocks * blockStride;
    const pack = { oc: OC, c: C, kh: K, kw: K };

    const owBlocks = Math.ceil(OW / o.variant.forwardWidth),
      ohBlocks = Math.ceil(OH / (o.variant.forwardPair === "rows" ? 2 : 1));
    const pixBlocks = Math.ceil(N / (o.variant.forwardPair === "images" ? 2 : 1)) * ohBlocks *
      owBlocks;
    const fwd = {
      ...dims,
      ow_blocks: owBlocks,
      oh_blocks: ohBlocks,
      pix_blocks: pixBlocks,
      pix_groups: workgroupsFor(pixBlocks, o.variant.forwardTaps ? WG_TAPS : WG),
      oc_blocks: ocBlocks,
      ob: 0,
    };

    const qh = Math.ceil(H / S), qBlocks = Math.ceil(Math.ceil(W / S) / o.variant.inputWidth);
    const qhBlocks = Math.ceil(qh / (o.variant.inputPair === "rows" ? 2 : 1));
    const inPixBlocks = Math.ceil(N / (o.variant.inputPair === "images" ? 2 : 1)) * qhBlocks *
      qBlocks;
    const bwdIn = {
      ...dims,
      qh,
      qh_blocks: qhBlocks,
      q_blocks: qBlocks,
      pix_blocks: inPixBlocks,
      pix_groups: workgroupsFor(inPixBlocks, o.variant.inputTaps ? WG_TAPS : WG),
      c_blocks: cBlocks,
      ...{ cb: 0, o_begin: 0, o_end: OC, accumulate: 0 },
    };

    // Weight-gradient blocks: 8 output channels x 4 weight rows (c, kh) x 4 taps kw (all K
    // with kernelTaps).
    const kwBlocks = o.variant.kernelTaps ? 1 : Math.ceil(K / 4), rBlocks = Math.ceil((C * K) / 4);
    const blocks = Math.ceil(OC / 8) * rBlocks * kwBlocks;
    const wantChunks = Math.min(N, Math.ceil(WEIGHT_GRAD_INVOCATIONS / blocks));
    const chunk = Math.ceil(N / wantChunks);
    const chunks = Math.ceil(N / chunk);
    this.weightGradChunks = chunks;
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

    this.#u = {
      forwardBlocks: o.variant.forwardTaps
        ? Array.from(
          { length: ocBlocks },
          (_, ob) => gpu.uniform(Conv2dForwardShape, { ...fwd, ob }),
        )
        : [],
      packForward: gpu.uniform(Conv2dPackShape, {
        ...pack,
        lanes: o.variant.forwardTaps ? CHANNEL_BLOCK : ocLanes,
        by_input: 0,
        count: packForward,
        blocks: packBlocks,
        stride: blockStride,
      }),
      packInput: gpu.uniform(Conv2dPackShape, {
        ...pack,
        lanes: o.variant.inputTaps ? CHANNEL_BLOCK : cLanes,
        by_input: 1,
        count: packInput,
        blocks: o.variant.inputTaps ? cBlocks : 1,
        stride: o.variant.inputTaps ? inputStride : packInput,
      }),
      inputParts: Array.from(
        { length: cBlocks },
        (_, cb) =>
          inputParts.map(([begin, end]) =>
            gpu.uniform(Conv2dBackwardInputShape, {
              ...bwdIn,
              cb,
              o_begin: begin,
              o_end: end,
              accumulate: Number(begin > 0),
            })
          ),
      ).flat(),
      forward: gpu.uniform(Conv2dForwardShape, fwd),
      backwardInput: gpu.uniform(Conv2dBackwardInputShape, bwdIn),
      backwardWeight: gpu.uniform(Conv2dBackwardWeightShape, bwdW),
      reduce: gpu.uniform(Conv2dReduceShape, { w_count: wCount, oc: OC, chunks }),
    };
    this.#packedForward = o.variant.forwardTaps
      ? gpu.uniformStorage(
        "conv2d packed weight (forward, uniform blocks)",
        (ocBlocks - 1) * blockStride * 4 + CONV2D_TAPS_UNIFORM_BYTES,
      )
      : gpu.storage("conv2d packed weight (forward)", packForward * 4);
    const lastPart = inputParts.length ? inputParts[inputParts.length - 1][0] : 0;
    this.#packedInput = o.variant.inputTaps
      ? gpu.uniformStorage(
        "conv2d packed weight (backward input, uniform blocks)",
        ((cBlocks - 1) * inputStride + lastPart * taps * CHANNEL_BLOCK) * 4 +
          CONV2D_TAPS_UNIFORM_BYTES,
      )
      : gpu.storage("conv2d packed weight (backward input)", packInput * 4);
    this.#inputParts = inputParts;
    this.#partials = gpu.storage("conv2d weight-gradient partials", chunks * (wCount + OC) * 4);
    this.#counts = {
      forwardBlockStride: blockStride,
      inputBlockStride: inputStride,
      forwardPixGroups: fwd.pix_groups,
      inputPixGroups: bwdIn.pix_groups,
      packForward,
      packInput,
      forwardGroups: fwd.oc_blocks * fwd.pix_groups,
      inputGroups: bwdIn.c_blocks * S * S * bwdIn.pix_groups,
      weightItems: bwdW.count,
      reduceItems: wCount + OC,
    };
  }

  /** A convolution layer's kernels, shape uniforms and scratch buffers for these sizes. */
  static async create(gpu: Gpu, opts: Conv2dOptions): Promise<Conv2d> {
    const o: Required<Conv2dOptions> = {
      ...opts,
      stride: opts.stride ?? 1,
      pad: opts.pad ?? 0,
      variant: opts.variant ?? conv2dVariantFor(gpu, opts),
    };
    for (
      const name of [
        "batch",
        "inChannels",
        "outChannels",
        "height",
        "width",
        "kernel",
        "stride",
      ] as const
    ) {
      if (!Number.isInteger(o[name]) || o[name] < 1) {
        throw new RangeError(
          `Cannot create Conv2d: ${name} must be a positive integer, got ${o[name]}`,
        );
      }
    }
    if (!Number.isInteger(o.pad) || o.pad < 0) {
      throw new RangeError(
        `Cannot create Conv2d: pad must be a non-negative integer, got ${o.pad}`,
      );
    }
    const v = o.variant;
    if (!CONV2D_PAIRS.includes(v.forwardPair) || !CONV2D_PAIRS.includes(v.inputPair)) {
      throw new RangeError(
        `Cannot create Conv2d: variant pairs must be among ${CONV2D_PAIRS.join(", ")}, got ` +
          `forwardPair ${v.forwardPair}, inputPair ${v.inputPair}`,
      );
    }
    if (![7, 8].includes(v.forwardWidth) || ![7, 8].includes(v.inputWidth)) {
      throw new RangeError(
        `Cannot create Conv2d: variant block widths must be 7 or 8, got forwardWidth ` +
          `${v.forwardWidth}, inputWidth ${v.inputWidth}`,
      );
    }
    if (v.kernelTaps && o.kernel !== 3 && o.kernel !== 5) {
      throw new RangeError(
        `Cannot create Conv2d: variant kernelTaps needs a 3 x 3 or 5 x 5 kernel, got ` +
          `${o.kernel} x ${o.kernel}`,
      );
    }
    if (o.height + 2 * o.pad < o.kernel || o.width + 2 * o.pad < o.kernel) {
      throw new RangeError(
        `Cannot create Conv2d: a ${o.kernel} x ${o.kernel} kernel does not fit the ` +
          `${o.height} x ${o.width} input padded by ${o.pad}`,
      );
    }
    if (v.subgroups) requireKernelSubgroups(gpu, "Conv2d: variant subgroups");
    // The taps kernels: stride 1, 3 x 3 or 5 x 5, subgroups and no pair in their pass.
    for (
      const [taps, pairName, pair] of [
        ["forwardTaps", "forwardPair", v.forwardPair],
        ["inputTaps", "inputPair", v.inputPair],
      ] as const
    ) {
      const ok = v.subgroups && o.stride === 1 && (o.kernel === 3 || o.kernel === 5) &&
        pair === "none";
      if (v[taps] && !ok) {
        throw new RangeError(
          `Cannot create Conv2d: variant ${taps} needs subgroups, stride 1, a 3 x 3 or 5 x 5 ` +
            `kernel and ${pairName} "none", got subgroups ${v.subgroups}, stride ${o.stride}, ` +
            `kernel ${o.kernel}, ${pairName} ${pair}`,
        );
      }
    }
    if (v.forwardTaps && !conv2dForwardTapsFits(o.inChannels, o.kernel)) {
      throw new RangeError(
        `Cannot create Conv2d: variant forwardTaps reads a block of 16 output channels' ` +
          `weights (C K K 16 floats) as one uniform buffer of at most ` +
          `${CONV2D_TAPS_UNIFORM_BYTES} bytes, so it needs C K K <= 1024, got ` +
          `${o.inChannels} x ${o.kernel} x ${o.kernel}; use forwardTaps false`,
      );
    }
    const weightSubgroups = v.subgroups &&
      conv2dWeightBlocksShareChannels(o.inChannels, o.kernel, v);
    const strided = { WG, STRIDE: o.stride };
    // One at a time: Gpu.kernel's error scopes are a device-wide stack, so concurrent
    // compiles would report a failing kernel's error under another kernel's name.
    const kernels: Conv2dKernels = {
      packWeight: await gpu.kernel("conv2d_pack_weight", { WG: WG_ELEMENTWISE }),
      forward: v.forwardTaps
        ? await gpu.kernel("conv2d_forward_taps", {
          WG: WG_TAPS,
          K: o.kernel,
          BW: v.forwardWidth,
        })
        : await gpu.kernel(_named("conv2d_forward", v.subgroups), {
          ...strided,
          PAIR: CONV2D_PAIRS.indexOf(o.variant.forwardPair),
          BW: o.variant.forwardWidth,
        }),
      backwardInput: v.inputTaps
        ? await gpu.kernel("conv2d_backward_input_taps", {
          WG: WG_TAPS,
          K: o.kernel,
          BW: v.inputWidth,
        })
        : await gpu.kernel(_named("conv2d_backward_input", v.subgroups), {
          ...strided,
          PAIR: CONV2D_PAIRS.indexOf(o.variant.inputPair),
          BW: o.variant.inputWidth,
        }),
      backwardWeight: await gpu.kernel(_named("conv2d_backward_weight", weightSubgroups), {
        ...strided,
        // The subgroup kernel's workgroup is its subgroup, whose 8 blocks share their channels.
        WG: weightSubgroups ? CONV2D_SUBGROUP_LANES : WG,
        TAPS: o.variant.kernelTaps ? o.kernel : 4,
      }),
      reduce: await gpu.kernel("conv2d_backward_weight_reduce", { WG: WG_ELEMENTWISE }),
    };
    return new Conv2d(gpu, o, kernels);
  }

  /**
   * y = conv(x, w) + b. y: (N, OC, OH, OW); x: (N, C, H, W); w: (OC, C, K, K); b: (OC).
   * y must not share a buffer with x, w or b.
   */
  forward(rec: Recorder, y: Tensor, x: Tensor, w: Tensor, b: Tensor): void {
    const gpu = this.#gpu, k = this.#k;
    rec.dispatchItems(
      k.packWeight,
      gpu.bind(k.packWeight, [this.#u.packForward, w, this.#packedForward]),
      this.#counts.packForward,
    );
    if (this.variant.forwardTaps) {
      // One dispatch per block of 16 output channels, each with its weights as a uniform buffer.
      const stride = this.#counts.forwardBlockStride * 4;
      for (const [ob, shape] of this.#u.forwardBlocks.entries()) {
        const weights = {
          buffer: this.#packedForward,
          offset: ob * stride,
          size: CONV2D_TAPS_UNIFORM_BYTES,
        };
        rec.dispatch(
          k.forward,
          gpu.bind(k.forward, [shape, x, weights, b, y]),
          this.#counts.forwardPixGroups,
        );
      }
      return;
    }
    rec.dispatch(
      k.forward,
      gpu.bind(k.forward, [this.#u.forward, x, this.#packedForward, b, y]),
      this.#counts.forwardGroups,
    );
  }

  /**
   * Gradients from dY, overwriting dX, dW and dB. dX: (N, C, H, W) or null to skip it (a first
   * layer); dW: (OC, C, K, K); dB: (OC); dY: (N, OC, OH, OW); x: the forward's input
   * (N, C, H, W); w: (OC, C, K, K).
   */
  backward(
    rec: Recorder,
    dX: Tensor | null,
    dW: Tensor,
    dB: Tensor,
    dY: Tensor,
    x: Tensor,
    w: Tensor,
  ): void {
    if (dX !== null) this.backwardInput(rec, dX, dY, w);
    this.backwardWeight(rec, dW, dB, dY, x);
  }

  /**
   * dX = the gradient to the input, overwritten. dX: (N, C, H, W), not sharing a buffer with
   * dY; dY: (N, OC, OH, OW); w: (OC, C, K, K).
   */
  backwardInput(rec: Recorder, dX: Tensor, dY: Tensor, w: Tensor): void {
    const gpu = this.#gpu, k = this.#k;
    rec.dispatchItems(
      k.packWeight,
      gpu.bind(k.packWeight, [this.#u.packInput, w, this.#packedInput]),
      this.#counts.packInput,
    );
    if (this.variant.inputTaps) {
      // Per block of 16 input channels, the parts of the sum over output channels in order,
      // each with its weights as a uniform buffer; the first overwrites dX, the others add.
      const parts = this.#inputParts, taps = this.kernel * this.kernel;
      for (const [i, shape] of this.#u.inputParts.entries()) {
        const cb = Math.floor(i / parts.length), [begin] = parts[i % parts.length];
        const weights = {
          buffer: this.#packedInput,
          offset: (cb * this.#counts.inputBlockStride + begin * taps * CHANNEL_BLOCK) * 4,
          size: CONV2D_TAPS_UNIFORM_BYTES,
        };
        rec.dispatch(
          k.backwardInput,
          gpu.bind(k.backwardInput, [shape, dY, weights, dX]),
          this.#counts.inputPixGroups,
        );
      }
      return;
    }
    rec.dispatch(
      k.backwardInput,
      gpu.bind(k.backwardInput, [this.#u.backwardInput, dY, this.#packedInput, dX]),
      this.#counts.inputGroups,
    );
  }

  /**
   * dW and dB = the gradients to the weight and bias, overwritten. dW: (OC, C, K, K); dB: (OC)
   * (they may be ranges of one buffer); dY: (N, OC, OH, OW); x: the forward's input (N, C, H, W).
   */
  backwardWeight(rec: Recorder, dW: Tensor, dB: Tensor, dY: Tensor, x: Tensor): void {
    const gpu = this.#gpu, k = this.#k;
    rec.dispatchItems(
      k.backwardWeight,
      gpu.bind(k.backwardWeight, [this.#u.backwardWeight, dY, x, this.#partials]),
      this.#counts.weightItems,
    );
    rec.dispatchItems(
      k.reduce,
      gpu.bind(k.reduce, [this.#u.reduce, this.#partials, dW, dB]),
      this.#counts.reduceItems,
    );
  }

  /** Frees the scratch and uniform buffers; the layer is unusable afterwards. */
  destroy(): void {
    for (const b of [this.#packedForward, this.#packedInput, this.#partials]) b.destroy();
    for (const b of Object.values(this.#u).flat()) b.destroy();
  }

  /** Multiply-adds times two of one pass (forward, backward to the input, or to the weight). */
  get flopsPerPass(): number {
    return 2 * this.batch * this.outChannels * this.outHeight * this.outWidth * this.inChannels *
      this.kernel * this.kernel;
  }
}

/** kernels/<name>_subgroup.wgsl where `subgroups`, else kernels/<name>.wgsl. */
function _named(name: string, subgroups: boolean): string {
  return subgroups ? `${name}_subgroup` : name;
}

/**
 * Whether every 8 consecutive weight-gradient blocks have the same 8 output channels (and
 * chunk), as conv2d_backward_weight_subgroup.wgsl needs: the blocks of one channel group,
 * ceil(C K / 4) weight rows x kw blocks, come in multiples of 8 (32 -> 64 5 x 5: 40; 64 -> 128
 * 3 x 3: 48; 1 -> 32 5 x 5: 2, which keeps the plain kernel).
 */
export function conv2dWeightBlocksShareChannels(
  inChannels: number,
  kernel: number,
  v: Pick<Conv2dVariant, "kernelTaps">,
): boolean {
  const kwBlocks = v.kernelTaps ? 1 : Math.ceil(kernel / 4);
  return (Math.ceil((inChannels * kernel) / 4) * kwBlocks) % CONV2D_SUBGROUP_LANES === 0;
}

interface Conv2dKernels {
  packWeight: Kernel;
  forward: Kernel;
  backwardInput: Kernel;
  backwardWeight: Kernel;
  reduce: Kernel;
}

function _roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}
