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
 * fastest; see the kernels' headers for why. Which kernels, constants and grids a layer gets is
 * decided in conv2d_variant.ts and conv2d_plan.ts; this class compiles and allocates them.
 * Measurements: docs/performance.md, "conv2d variants".
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import {
  Conv2dBackwardInputShape,
  Conv2dBackwardWeightShape,
  Conv2dForwardShape,
  Conv2dPackShape,
  Conv2dReduceShape,
} from "./conv_shapes.ts";
import { type Conv2dPlan, conv2dPlan } from "./conv2d_plan.ts";
import type { Conv2dOptions, Conv2dVariant } from "./conv2d_variant.ts";

export {
  Conv2dBackwardInputShape,
  Conv2dBackwardWeightShape,
  Conv2dForwardShape,
  Conv2dPackShape,
  Conv2dReduceShape,
} from "./conv_shapes.ts";
export {
  CONV2D_PAIRS,
  CONV2D_SUBGROUP_LANES,
  CONV2D_TAPS_UNIFORM_BYTES,
  conv2dForwardTapsFits,
  conv2dInputTapsParts,
  type Conv2dOptions,
  type Conv2dPair,
  type Conv2dVariant,
  conv2dVariantFor,
  conv2dWeightBlocksShareChannels,
} from "./conv2d_variant.ts";

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
  readonly #plan: Conv2dPlan;
  /** The Shape uniforms; forward and backwardInput one per dispatch of the plan's. */
  readonly #u: {
    packForward: GPUBuffer;
    packInput: GPUBuffer;
    forward: GPUBuffer[];
    backwardInput: GPUBuffer[];
    backwardWeight: GPUBuffer;
    reduce: GPUBuffer;
  };
  readonly #packedForward: GPUBuffer;
  readonly #packedInput: GPUBuffer;
  readonly #partials: GPUBuffer;

  private constructor(gpu: Gpu, plan: Conv2dPlan, kernels: Conv2dKernels) {
    const o = plan.options;
    this.variant = o.variant;
    this.#gpu = gpu;
    this.#k = kernels;
    this.#plan = plan;
    this.batch = o.batch;
    this.inChannels = o.inChannels;
    this.outChannels = o.outChannels;
    this.height = o.height;
    this.width = o.width;
    this.kernel = o.kernel;
    this.stride = o.stride;
    this.pad = o.pad;
    this.outHeight = plan.outHeight;
    this.outWidth = plan.outWidth;
    this.weightGradChunks = plan.weightGradChunks;
    this.#u = {
      packForward: gpu.uniform(Conv2dPackShape, plan.packForward.shape),
      packInput: gpu.uniform(Conv2dPackShape, plan.packInput.shape),
      forward: plan.forward.map((d) => gpu.uniform(Conv2dForwardShape, d.shape)),
      backwardInput: plan.backwardInput.map((d) => gpu.uniform(Conv2dBackwardInputShape, d.shape)),
      backwardWeight: gpu.uniform(Conv2dBackwardWeightShape, plan.backwardWeight.shape),
      reduce: gpu.uniform(Conv2dReduceShape, plan.reduce.shape),
    };
    this.#packedForward = _packed(gpu, "forward", plan.packedForward);
    this.#packedInput = _packed(gpu, "backward input", plan.packedInput);
    this.#partials = gpu.storage("conv2d weight-gradient partials", plan.partialsBytes);
  }

  /** A convolution layer's kernels, shape uniforms and scratch buffers for these sizes. */
  static async create(gpu: Gpu, opts: Conv2dOptions): Promise<Conv2d> {
    // Throws, saying what to change, where the shapes or an explicit variant cannot run.
    const plan = conv2dPlan(gpu, opts);
    const spec = plan.kernels;
    // One at a time: Gpu.kernel's error scopes are a device-wide stack, so concurrent
    // compiles would report a failing kernel's error under another kernel's name.
    const kernels: Conv2dKernels = {
      packWeight: await gpu.kernel(spec.packWeight.name, spec.packWeight.constants),
      forward: await gpu.kernel(spec.forward.name, spec.forward.constants),
      backwardInput: await gpu.kernel(spec.backwardInput.name, spec.backwardInput.constants),
      backwardWeight: await gpu.kernel(spec.backwardWeight.name, spec.backwardWeight.constants),
      reduce: await gpu.kernel(spec.reduce.name, spec.reduce.constants),
    };
    return new Conv2d(gpu, plan, kernels);
  }

  /**
   * y = conv(x, w) + b. y: (N, OC, OH, OW); x: (N, C, H, W); w: (OC, C, K, K); b: (OC).
   * y must not share a buffer with x, w or b.
   */
  forward(rec: Recorder, y: Tensor, x: Tensor, w: Tensor, b: Tensor): void {
    const gpu = this.#gpu, k = this.#k, plan = this.#plan;
    rec.dispatchItems(
      k.packWeight,
      gpu.bind(k.packWeight, [this.#u.packForward, w, this.#packedForward]),
      plan.packForward.items,
    );
    // With forwardTaps one dispatch per block of 16 output channels, each with its weights as a
    // uniform buffer.
    for (const [i, d] of plan.forward.entries()) {
      const weights = d.weights
        ? { buffer: this.#packedForward, ...d.weights }
        : this.#packedForward;
      rec.dispatch(
        k.forward,
        gpu.bind(k.forward, [this.#u.forward[i], x, weights, b, y]),
        d.workgroups,
      );
    }
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
    const gpu = this.#gpu, k = this.#k, plan = this.#plan;
    rec.dispatchItems(
      k.packWeight,
      gpu.bind(k.packWeight, [this.#u.packInput, w, this.#packedInput]),
      plan.packInput.items,
    );
    // With inputTaps, per block of 16 input channels, the parts of the sum over output channels
    // in order, each with its weights as a uniform buffer; the first overwrites dX, the others add.
    for (const [i, d] of plan.backwardInput.entries()) {
      const weights = d.weights ? { buffer: this.#packedInput, ...d.weights } : this.#packedInput;
      rec.dispatch(
        k.backwardInput,
        gpu.bind(k.backwardInput, [this.#u.backwardInput[i], dY, weights, dX]),
        d.workgroups,
      );
    }
  }

  /**
   * dW and dB = the gradients to the weight and bias, overwritten. dW: (OC, C, K, K); dB: (OC)
   * (they may be ranges of one buffer); dY: (N, OC, OH, OW); x: the forward's input (N, C, H, W).
   */
  backwardWeight(rec: Recorder, dW: Tensor, dB: Tensor, dY: Tensor, x: Tensor): void {
    const gpu = this.#gpu, k = this.#k, plan = this.#plan;
    rec.dispatchItems(
      k.backwardWeight,
      gpu.bind(k.backwardWeight, [this.#u.backwardWeight, dY, x, this.#partials]),
      plan.backwardWeight.items,
    );
    rec.dispatchItems(
      k.reduce,
      gpu.bind(k.reduce, [this.#u.reduce, this.#partials, dW, dB]),
      plan.reduce.items,
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

/** A packed weight: a storage buffer, which the taps kernels bind in uniform blocks. */
function _packed(gpu: Gpu, pass: string, p: Conv2dPlan["packedForward"]): GPUBuffer {
  return p.uniform
    ? gpu.uniformStorage(`conv2d packed weight (${pass}, uniform blocks)`, p.bytes)
    : gpu.storage(`conv2d packed weight (${pass})`, p.bytes);
}

interface Conv2dKernels {
  packWeight: Kernel;
  forward: Kernel;
  backwardInput: Kernel;
  backwardWeight: Kernel;
  reduce: Kernel;
}
