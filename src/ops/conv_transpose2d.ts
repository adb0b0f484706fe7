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
 * Which kernels, constants and sizes a layer gets is decided in conv_transpose2d_variant.ts and
 * conv_transpose2d_plan.ts; this class compiles and allocates them.
 * Measurements: docs/performance.md, "conv_transpose2d variants".
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import type { StructLayout, StructValues, UniformStruct } from "../gpu/uniform.ts";
import {
  Conv2dPackShape,
  ConvTransposeBackwardBiasShape,
  ConvTransposeBackwardInputShape,
  ConvTransposeBackwardWeightShape,
  ConvTransposeColsShape,
  ConvTransposeForwardShape,
  ConvTransposeReduceShape,
} from "./conv_shapes.ts";
import { Conv2d } from "./conv2d.ts";
import type { PlannedItems } from "./conv2d_plan.ts";
import {
  type ConvTranspose2dPlan,
  convTranspose2dPlan,
  type ConvTransposeGemmPlan,
} from "./conv_transpose2d_plan.ts";
import type { ConvTranspose2dOptions, ConvTransposeVariant } from "./conv_transpose2d_variant.ts";
import { Linear } from "./linear.ts";
import { Transpose } from "./transpose.ts";

export {
  ConvTransposeBackwardBiasShape,
  ConvTransposeBackwardInputShape,
  ConvTransposeBackwardWeightShape,
  ConvTransposeColsShape,
  ConvTransposeForwardShape,
  ConvTransposeReduceShape,
} from "./conv_shapes.ts";
export {
  CONV_TRANSPOSE_SUBGROUP_LANES,
  type ConvTranspose2dOptions,
  convTransposeColsBytes,
  convTransposeSubgroupKernels,
  type ConvTransposeVariant,
  convTransposeVariantFor,
} from "./conv_transpose2d_variant.ts";

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
    plan: ConvTranspose2dPlan,
    kernels: Kernel[],
    conv2d: Conv2d | null,
    gemm: GemmKernels | null,
  ) {
    const opts = plan.options;
    this.#conv2d = conv2d;
    this.#conv2dBias = conv2d
      ? gpu.storage("conv_transpose2d unused conv2d db", opts.inChannels * 4)
      : null;
    this.#gpu = gpu;
    this.opts = { ...opts };
    this.variant = plan.variant;
    this.outHeight = plan.outHeight;
    this.outWidth = plan.outWidth;
    const [pack, fwd, bwdInput, bwdWeight, bwdBias, reduce] = kernels;
    this.#pack = _dispatch(gpu, pack, Conv2dPackShape, plan.pack);
    this.#packInput = _dispatch(gpu, pack, Conv2dPackShape, plan.packInput);
    this.#packed = gpu.storage("conv_transpose2d packed weight", plan.pack.items * 4);
    this.#packedInput = gpu.storage(
      "conv_transpose2d packed weight (dX)",
      plan.packInput.items * 4,
    );
    this.#fwd = _dispatch(gpu, fwd, ConvTransposeForwardShape, plan.forward);
    this.#bwdInput = _dispatch(gpu, bwdInput, ConvTransposeBackwardInputShape, plan.backwardInput);
    this.#bwdWeight = _dispatch(
      gpu,
      bwdWeight,
      ConvTransposeBackwardWeightShape,
      plan.backwardWeight,
    );
    this.#partWeight = plan.partWeightBytes === null
      ? null
      : gpu.storage("conv_transpose2d dW partial sums", plan.partWeightBytes);
    this.#reduceWeight = _dispatch(gpu, reduce, ConvTransposeReduceShape, plan.reduceWeight);
    this.#bwdBias = _dispatch(gpu, bwdBias, ConvTransposeBackwardBiasShape, plan.backwardBias);
    this.#partBias = plan.partBiasBytes === null
      ? null
      : gpu.storage("conv_transpose2d db partial sums", plan.partBiasBytes);
    this.#reduceBias = _dispatch(gpu, reduce, ConvTransposeReduceShape, plan.reduceBias);
    this.#gemm = gemm && plan.gemm ? _gemm(gpu, plan.gemm, gemm) : null;
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
    // Throws, saying what to change, where the shapes or an explicit variant cannot run.
    const plan = convTranspose2dPlan(gpu, opts, variant);
    const k = plan.kernels;
    const kernels = await Promise.all(
      [k.pack, k.forward, k.backwardInput, k.backwardWeight, k.backwardBias, k.reduce].map((s) =>
        gpu.kernel(s.name, s.constants)
      ),
    );
    const g = plan.gemm;
    const gemm = g
      ? {
        linear: await Linear.create(gpu, g.linear),
        xToRows: await Transpose.create(gpu, ...g.xToRows),
        rowsToX: await Transpose.create(gpu, ...g.rowsToX),
        wToRows: await Transpose.create(gpu, ...g.wToRows),
        rowsToW: await Transpose.create(gpu, ...g.rowsToW),
        col2im: await gpu.kernel(g.kernels.col2im.name, g.kernels.col2im.constants),
        im2col: await gpu.kernel(g.kernels.im2col.name, g.kernels.im2col.constants),
      }
      : null;
    const conv2d = plan.conv2d ? await Conv2d.create(gpu, plan.conv2d) : null;
    return new ConvTranspose2d(gpu, plan, kernels, conv2d, gemm);
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

/** A kernel, its Shape uniform written from the plan, and its invocation count. */
function _dispatch<L extends StructLayout>(
  gpu: Gpu,
  kernel: Kernel,
  def: UniformStruct<L>,
  p: PlannedItems<StructValues<L>>,
): Dispatch {
  return { kernel, items: p.items, shape: gpu.uniform(def, p.shape) };
}

/** The GEMM path's dispatches and buffers for these shapes. */
function _gemm(gpu: Gpu, g: ConvTransposeGemmPlan, k: GemmKernels): Gemm {
  return {
    ...k,
    col2im: _dispatch(gpu, k.col2im, ConvTransposeColsShape, g.col2im),
    im2col: _dispatch(gpu, k.im2col, ConvTransposeColsShape, g.im2col),
    xRows: gpu.storage("conv_transpose2d x as rows", g.bytes.xRows),
    wt: gpu.storage("conv_transpose2d w as rows", g.bytes.wt),
    cols: gpu.storage("conv_transpose2d cols", g.bytes.cols),
    zeros: gpu.storage("conv_transpose2d zero bias", g.bytes.zeros),
    dxRows: gpu.storage("conv_transpose2d dX as rows", g.bytes.dxRows),
    dwt: gpu.storage("conv_transpose2d dW as rows", g.bytes.dwt),
  };
}
