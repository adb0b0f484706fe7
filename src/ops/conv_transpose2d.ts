/**
 * Transposed 2-D convolution on the GPU (PyTorch's ConvTranspose2d without
 * output_padding, square kernel): the conv VAE decoder's upsampling layers.
 * Kernels: kernels/conv_transpose2d_forward.wgsl (gather form),
 * conv_transpose2d_backward_input.wgsl, conv_transpose2d_backward_weight.wgsl and
 * conv_transpose2d_backward_bias.wgsl (partial sums per batch chunk),
 * conv_transpose2d_backward_reduce.wgsl (sums the chunks); on adapters with 8-lane subgroups
 * (lavapipe on AVX2) the forward's and input gradient's `_subgroup` versions, which share weight
 * loads across the subgroup (see ConvTransposeVariant.subgroups); on layers where those kernels
 * are slow, a GEMM path (ConvTransposeVariant.gemm): kernels/transpose.wgsl,
 * conv_transpose2d_col2im.wgsl and conv_transpose2d_im2col.wgsl around Linear's matrix products.
 */

import {
  type Gpu,
  type Kernel,
  KERNEL_SUBGROUP_LANES,
  type Recorder,
  requireKernelSubgroups,
  type Tensor,
} from "../gpu/gpu.ts";
import { struct, type StructValues } from "../gpu/uniform.ts";
import { Conv2d, Conv2dPackShape } from "./conv2d.ts";
import { Linear } from "./linear.ts";
import { Transpose } from "./transpose.ts";

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
 * Why: every storage load on llvmpipe is a per-lane gather (about 30 cycles per 8 lanes,
 * measured), so the largest register block that the layer's channels and row fill wins,
 * and a quad past the end of a short row or channel list is wasted work. OQ = 0 (one
 * output channel, four images) removes the wasted three quarters of a channel quad.
 * With 8-lane subgroups the subgroup forward and input-gradient kernels take 0.6-0.8x the
 * time; inputs 7 or more wide take dW through conv2d's kernel (weightGradViaConv2d), whose
 * sliding window pays off along rows that long. The measurements: docs/performance.md,
 * "conv_transpose2d variants".
 * Hardware adapters: not measured (no GPU where this was built). The choice keeps
 * smaller blocks, for more invocations in flight, and splits the reductions wider.
 */
export function convTransposeVariantFor(gpu: Gpu, o: ConvTranspose2dOptions): ConvTransposeVariant {
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
 * kernels: not measured there). 2-core EPYC (Zen 4), Mesa 25.0.7, batch 256, k5 s2 p1, ms per
 * pass, direct | GEMM, medians of 5 alternating rounds in one process (2026-12-04):
 *   forward   16->128 1x1 9.9 | 10.1   128->64 3x3 68.9 | 55.3   64->32 7x7 63.4 | 86.0
 *             32->1 15x15 61.8 | 22.9
 *   backward  16->128 12.5 | 12.0      128->64 168.1 | 92.6      64->32 140.8 | 105.7
 *             32->1 24.4 | 36.4
 * The GEMM's own share (128->64): the forward's product 35 ms and col2im 11; the backward's
 * im2col 5, dX product 30, dW product 46; the transposes under 1 ms each.
 */
function _gemmFor(gpu: Gpu, o: ConvTranspose2dOptions): { forward: boolean; backward: boolean } {
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

const geometry = {
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

/** Mirror of `struct Shape` in conv_transpose2d_forward.wgsl. */
export const ConvTransposeForwardShape = struct({
  ...geometry,
  batch_blocks: "u32",
  oc_blocks: "u32",
  col_groups: "u32",
  items: "u32",
});
/** Mirror of `struct Shape` in conv_transpose2d_backward_input.wgsl. */
export const ConvTransposeBackwardInputShape = struct({
  ...geometry,
  ic_blocks: "u32",
  col_groups: "u32",
  items: "u32",
});
/** Mirror of `struct Shape` in conv_transpose2d_backward_weight.wgsl. */
export const ConvTransposeBackwardWeightShape = struct({
  ...geometry,
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
export const ConvTransposeColsShape = struct({ ...geometry, rows: "u32" });
/** Mirror of `struct Shape` in conv_transpose2d_backward_reduce.wgsl. */
export const ConvTransposeReduceShape = struct({ len: "u32", chunks: "u32" });

/** A batch split into `chunks` runs of `chunk` images, enough for `lanes` invocations. */
function _split(batch: number, blocks: number, lanes: number): { chunks: number; chunk: number } {
  const wanted = Math.min(batch, Math.max(1, Math.ceil(lanes / blocks)));
  const chunk = Math.ceil(batch / wanted);
  return { chunks: Math.ceil(batch / chunk), chunk };
}

interface Dispatch {
  kernel: Kernel;
  shape: GPUBuffer;
  items: number;
}

interface GemmKernels {
  /** (N H W, IC) x (IC, OC K K): forward, and the two products of the backward. */
  linear: Linear;
  /** x (N, IC, H W) -> rows (N, H W, IC) and back; w (IC, OC K K) -> (OC K K, IC) and back. */
  xToRows: Transpose;
  rowsToX: Transpose;
  wToRows: Transpose;
  rowsToW: Transpose;
  col2im: Kernel;
  im2col: Kernel;
}

/** The GEMM path's dispatches and scratch tensors (ConvTransposeVariant.gemm). */
interface Gemm extends Omit<GemmKernels, "col2im" | "im2col"> {
  col2im: Dispatch;
  im2col: Dispatch;
  xRows: GPUBuffer;
  wt: GPUBuffer;
  cols: GPUBuffer;
  /** Linear's bias (zeros: col2im adds b). */
  zeros: GPUBuffer;
  dxRows: GPUBuffer;
  dwt: GPUBuffer;
}

/**
 * A transposed 2-D convolution layer's kernels for fixed shapes (the conv decoder's
 * upsampling): y = conv_transpose(x, w) + b forward, and the gradients to x, w and b.
 */
export class ConvTranspose2d {
  /** The shapes it was created for. */
  readonly opts: Readonly<ConvTranspose2dOptions>;
  /** The block sizes in use (given, or picked by convTransposeVariantFor). */
  readonly variant: Readonly<ConvTransposeVariant>;
  /** OH = (H - 1) stride - 2 pad + K. */
  readonly outHeight: number;
  /** OW = (W - 1) stride - 2 pad + K. */
  readonly outWidth: number;
  readonly #gpu: Gpu;
  readonly #pack: Dispatch;
  /** The weight packed for the forward kernel: (IC, K, K, OC rounded up to 16). */
  readonly #packed: GPUBuffer;
  readonly #packInput: Dispatch;
  /** The weight packed for the input-gradient kernel: (OC, K, K, IC rounded up to 16). */
  readonly #packedInput: GPUBuffer;
  readonly #fwd: Dispatch;
  readonly #bwdInput: Dispatch;
  readonly #bwdWeight: Dispatch;
  readonly #bwdBias: Dispatch;
  readonly #reduceWeight: Dispatch;
  readonly #reduceBias: Dispatch;
  /** With weightGradViaConv2d: the conv2d whose weight gradient is dW, and its unused db. */
  readonly #conv2d: Conv2d | null;
  readonly #conv2dBias: GPUBuffer | null;
  /** Per-chunk partial sums of dW and db; null when the batch is not split. */
  readonly #partWeight: GPUBuffer | null;
  readonly #partBias: GPUBuffer | null;
  readonly #gemm: Gemm | null;

  private constructor(
    gpu: Gpu,
    opts: ConvTranspose2dOptions,
    variant: ConvTransposeVariant,
    kernels: Kernel[],
    conv2d: Conv2d | null,
    gemm: GemmKernels | null,
  ) {
    this.#conv2d = conv2d;
    this.#conv2dBias = conv2d
      ? gpu.storage("conv_transpose2d unused conv2d db", opts.inChannels * 4)
      : null;
    this.#gpu = gpu;
    this.opts = { ...opts };
    this.variant = variant;
    const { batch: N, inChannels: IC, outChannels: OC, height: H, width: W } = opts;
    const { kernel: K, stride: S, pad: P } = opts;
    const OH = (H - 1) * S - 2 * P + K, OW = (W - 1) * S - 2 * P + K;
    this.outHeight = OH;
    this.outWidth = OW;
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
    const [pack, fwd, bwdInput, bwdWeight, bwdBias, reduce] = kernels;
    // conv2d_pack_weight.wgsl reads w (IC, OC, K, K) as a conv2d weight with IC outputs and OC
    // inputs. By input, for the forward: wp[((ic K + ky) K + kx) OCP + oc] = w[ic, oc, ky, kx];
    // by output, for dX: wpi[((oc K + ky) K + kx) ICP + ic] = w[ic, oc, ky, kx]. The lanes are
    // the channel count rounded up to 16, zeros past it.
    const packing = (byInput: boolean): Dispatch => {
      const lanes = Math.ceil((byInput ? OC : IC) / 16) * 16;
      const count = (byInput ? IC : OC) * K * K * lanes;
      const shape = {
        ...{ oc: IC, c: OC, kh: K, kw: K, lanes, by_input: Number(byInput), count },
        ...{ blocks: 1, stride: count },
      };
      return { kernel: pack, items: count, shape: gpu.uniform(Conv2dPackShape, shape) };
    };
    this.#pack = packing(true);
    this.#packInput = packing(false);
    this.#packed = gpu.storage("conv_transpose2d packed weight", this.#pack.items * 4);
    this.#packedInput = gpu.storage(
      "conv_transpose2d packed weight (dX)",
      this.#packInput.items * 4,
    );
    const f = variant.forward, bi = variant.backwardInput, bw = variant.backwardWeight;

    // OQ = 0 blocks 4 images of one channel instead of 4 channels of one image.
    const batchBlocks = f.OQ === 0 ? Math.ceil(N / 4) : N;
    const ocBlocks = f.OQ === 0 ? OC : Math.ceil(OC / (4 * f.OQ));
    const colGroups = Math.ceil(Math.ceil(OW / S) / (4 * f.PQ));
    const fwdItems = batchBlocks * ocBlocks * OH * S * colGroups;
    this.#fwd = {
      kernel: fwd,
      items: fwdItems,
      shape: gpu.uniform(ConvTransposeForwardShape, {
        ...geo,
        batch_blocks: batchBlocks,
        oc_blocks: ocBlocks,
        col_groups: colGroups,
        items: fwdItems,
      }),
    };

    const icBlocks = Math.ceil(IC / (4 * bi.IQ));
    const inGroups = Math.ceil(W / (4 * bi.PQ));
    const inItems = N * icBlocks * H * inGroups;
    this.#bwdInput = {
      kernel: bwdInput,
      items: inItems,
      shape: gpu.uniform(ConvTransposeBackwardInputShape, {
        ...geo,
        ic_blocks: icBlocks,
        col_groups: inGroups,
        items: inItems,
      }),
    };

    const wIcBlocks = Math.ceil(IC / (4 * bw.IQ));
    const wOcBlocks = bw.OQ === 0 ? OC : Math.ceil(OC / (4 * bw.OQ));
    const ws = _split(N, K * K * wIcBlocks * wOcBlocks, variant.reduceLanes);
    const wItems = K * K * wIcBlocks * wOcBlocks * ws.chunks;
    this.#bwdWeight = {
      kernel: bwdWeight,
      items: wItems,
      shape: gpu.uniform(ConvTransposeBackwardWeightShape, {
        ...geo,
        ic_blocks: wIcBlocks,
        oc_blocks: wOcBlocks,
        chunks: ws.chunks,
        chunk: ws.chunk,
        items: wItems,
      }),
    };
    const wLen = IC * OC * K * K;
    this.#partWeight = ws.chunks > 1 && !conv2d
      ? gpu.storage("conv_transpose2d dW partial sums", ws.chunks * wLen * 4)
      : null;
    this.#reduceWeight = {
      kernel: reduce,
      items: wLen,
      shape: gpu.uniform(ConvTransposeReduceShape, { len: wLen, chunks: ws.chunks }),
    };

    const bs = _split(N, OC, variant.reduceLanes);
    this.#bwdBias = {
      kernel: bwdBias,
      items: OC * bs.chunks,
      shape: gpu.uniform(ConvTransposeBackwardBiasShape, {
        batch: N,
        out_ch: OC,
        pixels: OH * OW,
        chunks: bs.chunks,
        chunk: bs.chunk,
        items: OC * bs.chunks,
      }),
    };
    this.#partBias = bs.chunks > 1
      ? gpu.storage("conv_transpose2d db partial sums", bs.chunks * OC * 4)
      : null;
    this.#reduceBias = {
      kernel: reduce,
      items: OC,
      shape: gpu.uniform(ConvTransposeReduceShape, { len: OC, chunks: bs.chunks }),
    };
    this.#gemm = gemm ? _gemm(gpu, opts, geo, gemm) : null;
  }

  /**
   * A transposed convolution for these shapes; `variant` overrides the block sizes that
   * `convTransposeVariantFor` would pick (tests use it to cover every code path).
   */
  static async create(
    gpu: Gpu,
    opts: ConvTranspose2dOptions,
    variant?: ConvTransposeVariant,
  ): Promise<ConvTranspose2d> {
    _validate(opts);
    variant ??= convTransposeVariantFor(gpu, opts);
    _validateVariant(variant);
    if (variant.subgroups) requireKernelSubgroups(gpu, "ConvTranspose2d: variant subgroups");
    const wg = { WG: variant.wg };
    // A subgroup kernel's workgroup is one subgroup.
    const sub = convTransposeSubgroupKernels(opts.batch, variant);
    const subWg = { WG: CONV_TRANSPOSE_SUBGROUP_LANES };
    const kernels = await Promise.all([
      gpu.kernel("conv2d_pack_weight", { WG: 256 }),
      sub.forward
        ? gpu.kernel("conv_transpose2d_forward_subgroup", { ...subWg, ...variant.forward })
        : gpu.kernel("conv_transpose2d_forward", { ...wg, ...variant.forward }),
      sub.backwardInput
        ? gpu.kernel("conv_transpose2d_backward_input_subgroup", {
          ...subWg,
          ...variant.backwardInput,
        })
        : gpu.kernel("conv_transpose2d_backward_input", { ...wg, ...variant.backwardInput }),
      gpu.kernel("conv_transpose2d_backward_weight", { ...wg, ...variant.backwardWeight }),
      gpu.kernel("conv_transpose2d_backward_bias", wg),
      gpu.kernel("conv_transpose2d_backward_reduce", wg),
    ]);
    const { inChannels: IC, outChannels: OC, kernel: K, stride: S, pad: P } = opts;
    const wantsGemm = variant.gemm.forward || variant.gemm.backward;
    const colsBytes = convTransposeColsBytes(opts), limit = gpu.limits.maxStorageBufferBindingSize;
    if (wantsGemm && colsBytes > limit) {
      throw new RangeError(
        `Cannot create ConvTranspose2d: variant gemm needs a ${colsBytes}-byte buffer ` +
          `(N H W x OC K K floats), more than this device's maxStorageBufferBindingSize ` +
          `${limit}; use a smaller batch or the direct kernels (gemm forward and backward false)`,
      );
    }
    const hw = opts.height * opts.width, taps = opts.outChannels * opts.kernel * opts.kernel;
    const gemm = wantsGemm
      ? {
        linear: await Linear.create(gpu, {
          batch: opts.batch * hw,
          inFeatures: opts.inChannels,
          outFeatures: taps,
        }),
        xToRows: await Transpose.create(gpu, opts.batch, opts.inChannels, hw),
        rowsToX: await Transpose.create(gpu, opts.batch, hw, opts.inChannels),
        wToRows: await Transpose.create(gpu, 1, opts.inChannels, taps),
        rowsToW: await Transpose.create(gpu, 1, taps, opts.inChannels),
        col2im: await gpu.kernel("conv_transpose2d_col2im", wg),
        im2col: await gpu.kernel("conv_transpose2d_im2col", wg),
      }
      : null;
    const conv2d = variant.weightGradViaConv2d && !variant.gemm.backward
      ? await Conv2d.create(gpu, {
        batch: opts.batch,
        inChannels: OC,
        outChannels: IC,
        height: (opts.height - 1) * S - 2 * P + K,
        width: (opts.width - 1) * S - 2 * P + K,
        kernel: K,
        stride: S,
        pad: P,
      })
      : null;
    return new ConvTranspose2d(gpu, opts, variant, kernels, conv2d, gemm);
  }

  /** y = convT(x, w) + b. x: (N, IC, H, W), w: (IC, OC, K, K), b: (OC), y: (N, OC, OH, OW). */
  forward(rec: Recorder, y: Tensor, x: Tensor, w: Tensor, b: Tensor): void {
    const g = this.#gemm;
    if (g && this.variant.gemm.forward) {
      g.xToRows.run(rec, g.xRows, x);
      g.wToRows.run(rec, g.wt, w);
      g.linear.forward(rec, g.cols, g.xRows, g.wt, g.zeros);
      this.#run(rec, g.col2im, [g.cols, b, y]);
      return;
    }
    this.#run(rec, this.#pack, [w, this.#packed]);
    this.#run(rec, this.#fwd, [x, this.#packed, b, y]);
  }

  /**
   * Overwrites dX (skipped when null, e.g. for a first layer fed by data), dW and dB from
   * dY and the forward's x and w. dX: (N, IC, H, W), dW: (IC, OC, K, K), dB: (OC),
   * dY: (N, OC, OH, OW). Outputs must be buffers other than the inputs' (WebGPU forbids a
   * writable binding that shares its buffer with another binding).
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
    const g = this.#gemm;
    if (g && this.variant.gemm.backward) {
      // backwardInput left dY's cols in g.cols (or, without dX, they are made here).
      if (dX === null) this.#run(rec, g.im2col, [dY, g.cols]);
      g.xToRows.run(rec, g.xRows, x);
      g.linear.backwardWeight(rec, g.dwt, null, g.cols, g.xRows);
      g.rowsToW.run(rec, dW, g.dwt);
    } else if (this.#conv2d) {
      // conv2d's dY is our x and its x our dY; its db (a sum of x) is not ours.
      this.#conv2d.backwardWeight(rec, dW, this.#conv2dBias!, x, dY);
    } else if (this.#partWeight) {
      this.#run(rec, this.#bwdWeight, [x, dY, this.#partWeight]);
      this.#run(rec, this.#reduceWeight, [this.#partWeight, dW]);
    } else {
      this.#run(rec, this.#bwdWeight, [x, dY, dW]);
    }
    if (this.#partBias) {
      this.#run(rec, this.#bwdBias, [dY, this.#partBias]);
      this.#run(rec, this.#reduceBias, [this.#partBias, dB]);
    } else {
      this.#run(rec, this.#bwdBias, [dY, dB]);
    }
  }

  /** dX = the input gradient alone, for a frozen layer. dX: (N, IC, H, W), dY, w as above. */
  backwardInput(rec: Recorder, dX: Tensor, dY: Tensor, w: Tensor): void {
    const g = this.#gemm;
    if (g && this.variant.gemm.backward) {
      this.#run(rec, g.im2col, [dY, g.cols]);
      g.wToRows.run(rec, g.wt, w);
      g.linear.backwardInput(rec, g.dxRows, g.cols, g.wt);
      g.rowsToX.run(rec, dX, g.dxRows);
      return;
    }
    this.#run(rec, this.#packInput, [w, this.#packedInput]);
    this.#run(rec, this.#bwdInput, [dY, this.#packedInput, dX]);
  }

  /** Frees the uniform and scratch buffers. */
  destroy(): void {
    const dispatches = [this.#pack, this.#packInput, this.#fwd, this.#bwdInput, this.#bwdWeight];
    for (const d of [...dispatches, this.#bwdBias]) d.shape.destroy();
    this.#packed.destroy();
    this.#packedInput.destroy();
    this.#conv2d?.destroy();
    this.#conv2dBias?.destroy();
    this.#reduceWeight.shape.destroy();
    this.#reduceBias.shape.destroy();
    this.#partWeight?.destroy();
    this.#partBias?.destroy();
    const g = this.#gemm;
    if (g) {
      g.linear.destroy();
      for (const t of [g.xToRows, g.rowsToX, g.wToRows, g.rowsToW]) t.destroy();
      for (const d of [g.col2im, g.im2col]) d.shape.destroy();
      for (const b of [g.xRows, g.wt, g.cols, g.zeros, g.dxRows, g.dwt]) b.destroy();
    }
  }

  #run(rec: Recorder, d: Dispatch, tensors: Tensor[]): void {
    rec.dispatchItems(d.kernel, this.#gpu.bind(d.kernel, [d.shape, ...tensors]), d.items);
  }
}

/** The GEMM path's dispatches and buffers for these shapes. */
function _gemm(
  gpu: Gpu,
  o: ConvTranspose2dOptions,
  geo: StructValues<typeof geometry>,
  k: GemmKernels,
): Gemm {
  const { batch: N, inChannels: IC, outChannels: OC, height: H, width: W, kernel: K } = o;
  const HW = H * W, taps = OC * K * K;
  const cols = (rows: number, kernel: Kernel): Dispatch => ({
    kernel,
    items: rows,
    shape: gpu.uniform(ConvTransposeColsShape, { ...geo, rows }),
  });
  return {
    ...k,
    col2im: cols(N * OC * geo.out_h, k.col2im),
    im2col: cols(N * HW, k.im2col),
    xRows: gpu.storage("conv_transpose2d x as rows", N * HW * IC * 4),
    wt: gpu.storage("conv_transpose2d w as rows", taps * IC * 4),
    cols: gpu.storage("conv_transpose2d cols", N * HW * taps * 4),
    zeros: gpu.storage("conv_transpose2d zero bias", taps * 4),
    dxRows: gpu.storage("conv_transpose2d dX as rows", N * HW * IC * 4),
    dwt: gpu.storage("conv_transpose2d dW as rows", taps * IC * 4),
  };
}

function _validate(o: ConvTranspose2dOptions): void {
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

function _validateVariant(v: ConvTransposeVariant): void {
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
}
