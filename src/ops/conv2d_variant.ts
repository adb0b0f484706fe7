/**
 * Conv2d's variants: the register-block shapes its kernels come in, the one picker that chooses
 * them for an adapter and a layer, and the checks that an explicitly requested one can run.
 * Pure functions of shapes and adapter traits (tests/conv2d_plan_test.ts runs them without a GPU).
 * The measurements behind the choices: docs/performance.md, "conv2d variants".
 */

import { type Gpu, KERNEL_SUBGROUP_LANES, requireKernelSubgroups } from "../gpu/gpu.ts";

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

/** What the planners read of an adapter: a Gpu has it, and a test can make one up. */
export type AdapterTraits = Pick<Gpu, "variants" | "subgroupSize">;

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
 * kernels win, and for stride-1 3 x 3 and 5 x 5 layers the taps kernels (the forward's while
 * C K K <= 1024, conv2dForwardTapsFits). Hardware adapters (not measured: no GPU where this was
 * built) keep single blocks and the 5 x 5 kernel's 4-tap blocks.
 * Measurements: docs/performance.md, "conv2d variants".
 */
export function conv2dVariantFor(gpu: AdapterTraits, o: Conv2dOptions): Conv2dVariant {
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

/**
 * The forward taps kernel reads one block of 16 output channels' packed weights, C K K 16
 * floats, as a uniform buffer: at most maxUniformBufferBindingSize (64 KiB in WebGPU's
 * defaults), so C K K <= 1024 (the course's layers: 25, 800 and 576).
 */
export const CONV2D_TAPS_UNIFORM_BYTES = 65536;

/** Channels per invocation block in the forward (output) and backward-input (input) kernels. */
export const CONV2D_CHANNEL_BLOCK = 16;

/** Whether conv2d_forward_taps.wgsl can take this layer: its weight blocks fit a uniform buffer. */
export function conv2dForwardTapsFits(inChannels: number, kernel: number): boolean {
  return inChannels * kernel * kernel * CONV2D_CHANNEL_BLOCK * 4 <= CONV2D_TAPS_UNIFORM_BYTES;
}

/**
 * How conv2d_backward_input_taps.wgsl splits the sum over output channels so that each part's
 * weights for one block of 16 input channels, part K K 16 floats, fit one uniform buffer:
 * parts of a multiple of 4 channels (so each starts 256-byte aligned), as even as they come.
 */
export function conv2dInputTapsParts(outChannels: number, kernel: number): number[][] {
  const perChannel = kernel * kernel * CONV2D_CHANNEL_BLOCK * 4; // bytes
  const most = 4 * Math.floor(CONV2D_TAPS_UNIFORM_BYTES / perChannel / 4);
  const size = 4 * Math.ceil(outChannels / Math.ceil(outChannels / most) / 4);
  const parts: number[][] = [];
  for (let o = 0; o < outChannels; o += size) parts.push([o, Math.min(outChannels, o + size)]);
  return parts;
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

/**
 * Throws a RangeError, saying what to change, unless these options (defaults filled in) and
 * their variant can run on this adapter.
 */
export function validateConv2d(adapter: AdapterTraits, o: Required<Conv2dOptions>): void {
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
  if (v.subgroups) requireKernelSubgroups(adapter, "Conv2d: variant subgroups");
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
}
