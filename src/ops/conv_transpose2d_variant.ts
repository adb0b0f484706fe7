/**
 * ConvTranspose2d's variants: the register-block sizes, subgroup kernels and GEMM paths its
 * passes come in, the one picker that chooses them for an adapter and a layer, and the checks
 * that the shapes and an explicitly requested variant can run. Pure functions of shapes and
 * adapter traits (tests/conv_transpose2d_plan_test.ts runs them without a GPU).
 * The measurements behind the choices: docs/performance.md, "conv_transpose2d variants".
 */

import { KERNEL_SUBGROUP_LANES, requireKernelSubgroups } from "../gpu/gpu.ts";
import type { AdapterTraits } from "./conv2d_variant.ts";

/**
 * The shapes of a ConvTranspose2d: x (N, IC, H, W), w (IC, OC, K, K) as PyTorch stores it,
 * y (N, OC, OH, OW) with OH = (H - 1) stride - 2 pad + K.
 */
export interface ConvTranspose2dOptions {
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
  /** K, the kernel's height and width. */
  kernel: number;
  /** Stride in both directions (the upsampling factor). */
  stride: number;
  /** Rows and columns cropped from each side of the full output. */
  pad: number;
}

/** Register-block sizes (in quads of 4) and workgroup size of each kernel. */
export interface ConvTransposeVariant {
  /** Invocations per workgroup, every kernel. */
  wg: number;
  /**
   * Forward: output-channel quads (1, 2, 4; 0 for one channel of four images) x output-pixel
   * quads (1, 2) per invocation.
   */
  forward: { OQ: number; PQ: number };
  /** Input gradient: input-channel quads (1, 2, 4) x input-pixel quads (1, 2). */
  backwardInput: { IQ: number; PQ: number };
  /** Weight gradient: input-channel quads (1, 2) x output-channel quads (1, 2; 0 for one). */
  backwardWeight: { IQ: number; OQ: number };
  /** Invocations the chunked dW and db reductions aim for; the batch is split to reach it. */
  reduceLanes: number;
  /**
   * dW by conv2d's weight-gradient kernel instead (src/ops/conv2d.ts): the same sums, since
   * dW[ic, oc, ky, kx] is the weight gradient of the conv2d (stride S, pad P) that takes dy,
   * OC channels, to x, IC channels, and that kernel reuses each loaded value more.
   */
  weightGradViaConv2d: boolean;
  /**
   * Forward and input-gradient kernels that share weight loads across an 8-lane subgroup
   * (lavapipe on AVX2): each lane loads one of a tap's 4 OQ (or 4 IQ) channels' vec4s and takes
   * the others with subgroupBroadcast. Each kernel takes them where its lanes share their
   * channels and taps: the forward where its image blocks (N, or N / 4 with OQ = 0) and the
   * input gradient where N are multiples of 8 (convTransposeSubgroupKernels).
   */
  subgroups: boolean;
  /**
   * The pass as matrix products (src/ops/linear.ts) instead of its direct kernels. Forward: x as
   * rows of channels (N H W, IC) times the weight as (IC, OC K K) gives every input pixel's
   * contribution to every tap, cols (N H W, OC K K), which conv_transpose2d_col2im.wgsl sums
   * into y. Backward (dX, dW; db keeps its kernel): the output gradient gathered the same way,
   * cols (conv_transpose2d_im2col.wgsl), times the weight gives dX as rows, and cols^T times x
   * as rows gives dW; kernels/transpose.wgsl turns tensors into rows and back. Worth it where
   * the direct kernels waste their blocks (inputs 3 x 3 or smaller, one output channel) and the
   * matrix products are long enough; cols must fit in one storage buffer.
   */
  gemm: { forward: boolean; backward: boolean };
}

/** What the transposed conv's planner reads of an adapter: AdapterTraits and a storage limit. */
export type ConvTransposeAdapter = AdapterTraits & {
  readonly limits: { readonly maxStorageBufferBindingSize: number };
};

/** Bytes of the GEMM path's cols buffer: N H W x OC K K floats. */
export function convTransposeColsBytes(o: ConvTranspose2dOptions): number {
  return o.batch * o.height * o.width * o.outChannels * o.kernel * o.kernel * 4;
}

/** The subgroup kernels are written for subgroups of exactly this many lanes. */
export const CONV_TRANSPOSE_SUBGROUP_LANES = KERNEL_SUBGROUP_LANES;

/**
 * Which of the forward and input-gradient kernels run their subgroup versions: those whose
 * 8 neighbouring invocations differ only in their image, so that they share channels and taps.
 */
export function convTransposeSubgroupKernels(
  batch: number,
  v: Pick<ConvTransposeVariant, "subgroups" | "forward">,
): { forward: boolean; backwardInput: boolean } {
  const lanes = CONV_TRANSPOSE_SUBGROUP_LANES;
  const blocks = v.forward.OQ === 0 ? Math.ceil(batch / 4) : batch;
  return {
    forward: v.subgroups && blocks % lanes === 0 && v.forward.OQ > 1,
    backwardInput: v.subgroups && batch % lanes === 0,
  };
}

/**
 * The one place where block sizes are chosen, for an adapter and a layer shape.
 *
 * Why: every storage load on llvmpipe is a per-lane gather, so the largest register block that
 * the layer's channels and row fill wins, and a quad past the end of a short row or channel list
 * is wasted work. OQ = 0 (one output channel, four images) removes the wasted three quarters of
 * a channel quad. With 8-lane subgroups the subgroup forward and input-gradient kernels win;
 * inputs 7 or more wide take dW through conv2d's kernel (weightGradViaConv2d), whose sliding
 * window pays off along rows that long; the GEMM path where the direct kernels waste their
 * blocks (_gemmFor). Hardware adapters: not measured (no GPU where this was built). The choice
 * keeps smaller blocks, for more invocations in flight, and splits the reductions wider.
 * Measurements: docs/performance.md, "conv_transpose2d variants".
 */
export function convTransposeVariantFor(
  gpu: ConvTransposeAdapter,
  o: ConvTranspose2dOptions,
): ConvTransposeVariant {
  const outW = (o.width - 1) * o.stride - 2 * o.pad + o.kernel;
  const PQ = Math.ceil(outW / o.stride) > 4 ? 2 : 1; // forward pixels: one residue class
  const inPQ = o.width > 4 ? 2 : 1;
  const quads = (channels: number, max: number) => (channels >= 16 ? max : channels >= 8 ? 2 : 1);
  const oneOc = o.outChannels < 4;
  if (gpu.variants === "hardware") {
    return {
      wg: 64,
      forward: { OQ: oneOc ? 0 : quads(o.outChannels, 2), PQ },
      backwardInput: { IQ: quads(o.inChannels, 2), PQ: inPQ },
      backwardWeight: { IQ: 1, OQ: oneOc ? 0 : 1 },
      reduceLanes: 65536,
      weightGradViaConv2d: false,
      subgroups: false,
      gemm: { forward: false, backward: false },
    };
  }
  return {
    wg: 64,
    forward: { OQ: oneOc ? 0 : quads(o.outChannels, 4), PQ },
    backwardInput: { IQ: quads(o.inChannels, 4), PQ: inPQ },
    backwardWeight: { IQ: o.inChannels > 4 ? 2 : 1, OQ: oneOc ? 0 : o.outChannels > 4 ? 2 : 1 },
    reduceLanes: 2048,
    weightGradViaConv2d: o.width >= 7,
    subgroups: gpu.subgroupSize === CONV_TRANSPOSE_SUBGROUP_LANES,
    gemm: _gemmFor(gpu, o),
  };
}

/**
 * Where the GEMM path wins, on lavapipe with 8-lane subgroups only (a GPU keeps the direct
 * kernels: not measured there): inputs of 2 x 2 to 3 x 3 and single output channels forward,
 * inputs of 2 x 2 to 7 x 7 with 4 or more output channels backward, where cols fit.
 * Measurements: docs/performance.md, "conv_transpose2d variants", "The GEMM path".
 */
function _gemmFor(
  gpu: ConvTransposeAdapter,
  o: ConvTranspose2dOptions,
): { forward: boolean; backward: boolean } {
  const colsFit = convTransposeColsBytes(o) <=
    Math.min(gpu.limits.maxStorageBufferBindingSize, GEMM_COLS_BUDGET);
  if (!colsFit || gpu.subgroupSize !== CONV_TRANSPOSE_SUBGROUP_LANES) {
    return { forward: false, backward: false };
  }
  const pixels = o.height * o.width;
  return {
    forward: (o.height > 1 && pixels <= 9) || o.outChannels < 4,
    backward: o.height > 1 && pixels <= 49 && o.outChannels >= 4,
  };
}

/** The most memory the GEMM path's cols may take (the 64 -> 32 layer at batch 256 needs 40 MB). */
const GEMM_COLS_BUDGET = 64 * 1024 * 1024;

/** Throws a RangeError, saying what to change, unless a ConvTranspose2d can take these shapes. */
export function validateConvTranspose2d(o: ConvTranspose2dOptions): void {
  const positive = ["batch", "inChannels", "outChannels", "height", "width", "kernel", "stride"];
  for (const key of positive) {
    const v = o[key as keyof ConvTranspose2dOptions];
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(
        `Cannot create ConvTranspose2d: ${key} must be a positive integer, got ${v}`,
      );
    }
  }
  if (!Number.isInteger(o.pad) || o.pad < 0) {
    throw new RangeError(
      `Cannot create ConvTranspose2d: pad must be a non-negative integer, got ${o.pad}`,
    );
  }
  const outH = (o.height - 1) * o.stride - 2 * o.pad + o.kernel;
  const outW = (o.width - 1) * o.stride - 2 * o.pad + o.kernel;
  if (outH < 1 || outW < 1) {
    throw new RangeError(
      `Cannot create ConvTranspose2d: output would be ${outH} x ${outW} ` +
        `(input ${o.height} x ${o.width}, kernel ${o.kernel}, stride ${o.stride}, pad ${o.pad})`,
    );
  }
}

/**
 * Throws a RangeError, saying what to change, unless this variant can run for these (valid)
 * shapes on this adapter.
 */
export function validateConvTransposeVariant(
  adapter: ConvTransposeAdapter,
  o: ConvTranspose2dOptions,
  v: ConvTransposeVariant,
): void {
  const allowed: [string, number, number[]][] = [
    ["forward.OQ", v.forward.OQ, [0, 1, 2, 4]],
    ["forward.PQ", v.forward.PQ, [1, 2]],
    ["backwardInput.IQ", v.backwardInput.IQ, [1, 2, 4]],
    ["backwardInput.PQ", v.backwardInput.PQ, [1, 2]],
    ["backwardWeight.IQ", v.backwardWeight.IQ, [1, 2]],
    ["backwardWeight.OQ", v.backwardWeight.OQ, [0, 1, 2]],
  ];
  for (const [key, value, values] of allowed) {
    if (!values.includes(value)) {
      throw new RangeError(
        `Cannot create ConvTranspose2d: variant ${key} must be one of ${values.join(", ")}, ` +
          `got ${value}`,
      );
    }
  }
  if (!Number.isInteger(v.wg) || v.wg < 1 || !(v.reduceLanes >= 1)) {
    throw new RangeError(
      `Cannot create ConvTranspose2d: variant wg and reduceLanes must be positive, ` +
        `got ${v.wg} and ${v.reduceLanes}`,
    );
  }
  if (v.subgroups) requireKernelSubgroups(adapter, "ConvTranspose2d: variant subgroups");
  const colsBytes = convTransposeColsBytes(o), limit = adapter.limits.maxStorageBufferBindingSize;
  if ((v.gemm.forward || v.gemm.backward) && colsBytes > limit) {
    throw new RangeError(
      `Cannot create ConvTranspose2d: variant gemm needs a ${colsBytes}-byte buffer ` +
        `(N H W x OC K K floats), more than this device's maxStorageBufferBindingSize ` +
        `${limit}; use a smaller batch or the direct kernels (gemm forward and backward false)`,
    );
  }
}
