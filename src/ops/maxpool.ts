/**
 * Max pooling 2x2, stride 2, on the GPU (PyTorch's MaxPool2d(2): odd sizes are floored,
 * 7 -> 3; ties go to the first maximum in row-major window order), optionally of relu(x) in
 * the same pass (MaxPool2dOptions.relu).
 * Kernels: kernels/maxpool_forward.wgsl, kernels/maxpool_backward.wgsl.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in maxpool_{forward,backward}.wgsl. */
export const MaxPoolShape = struct({
  planes: "u32",
  height: "u32",
  width: "u32",
  out_height: "u32",
  out_width: "u32",
});

/** The shape of a MaxPool2d's input x (N, C, H, W). */
export interface MaxPool2dOptions {
  /** N, images per batch. */
  batch: number;
  /** C, channels. */
  channels: number;
  /** H, input rows. */
  height: number;
  /** W, input columns. */
  width: number;
  /**
   * Pool relu(x) instead of x, and pass the gradient back through both (default false): the
   * conv encoder's ReLU and pool in one pass each way, where they were two, each over the
   * whole unpooled tensor.
   */
  relu?: boolean;
}

/**
 * 2 x 2 max pooling with stride 2 of x (N, C, H, W) to y (N, C, floor(H / 2), floor(W / 2)),
 * remembering each window's winner for the backward pass.
 */
export class MaxPool2d {
  /** N, images per batch. */
  readonly batch: number;
  /** C, channels. */
  readonly channels: number;
  /** H, input rows. */
  readonly height: number;
  /** W, input columns. */
  readonly width: number;
  /** floor(H / 2). */
  readonly outHeight: number;
  /** floor(W / 2). */
  readonly outWidth: number;
  /** Whether it pools relu(x) (MaxPool2dOptions.relu). */
  readonly relu: boolean;
  /**
   * (N, C, OH, OW) u32: each window's winner as its place 0..3, row-major (0 top left,
   * 1 top right, 2 bottom left, 3 bottom right), from the last recorded forward; with relu,
   * 4 where the window's max is not above 0 (no winner: relu(x) is 0 there).
   */
  readonly argmax: GPUBuffer;
  readonly #gpu: Gpu;
  readonly #fwd: Kernel;
  readonly #bwd: Kernel;
  readonly #shape: GPUBuffer;
  readonly #outCount: number;
  /** Output rows, N C OH: one invocation each. */
  readonly #rows: number;

  private constructor(gpu: Gpu, o: MaxPool2dOptions, fwd: Kernel, bwd: Kernel) {
    this.#gpu = gpu;
    this.#fwd = fwd;
    this.#bwd = bwd;
    this.batch = o.batch;
    this.channels = o.channels;
    this.height = o.height;
    this.width = o.width;
    this.relu = o.relu ?? false;
    this.outHeight = Math.floor(o.height / 2);
    this.outWidth = Math.floor(o.width / 2);
    this.#shape = gpu.uniform(MaxPoolShape, {
      planes: o.batch * o.channels,
      height: o.height,
      width: o.width,
      out_height: this.outHeight,
      out_width: this.outWidth,
    });
    this.#outCount = o.batch * o.channels * this.outHeight * this.outWidth;
    this.#rows = o.batch * o.channels * this.outHeight;
    this.argmax = gpu.storage("maxpool argmax", this.#outCount * 4);
  }

  /** Compiles the kernels and allocates `argmax` for these shapes; RangeError on a bad one. */
  static async create(gpu: Gpu, opts: MaxPool2dOptions): Promise<MaxPool2d> {
    for (const key of ["batch", "channels", "height", "width"] as const) {
      if (!Number.isInteger(opts[key]) || opts[key] < 1) {
        throw new RangeError(
          `Cannot create MaxPool2d: ${key} must be a positive integer, got ${opts[key]}`,
        );
      }
    }
    if (opts.height < 2 || opts.width < 2) {
      throw new RangeError(
        `Cannot create MaxPool2d: a 2x2 window needs an input of at least 2x2, ` +
          `got ${opts.height}x${opts.width}`,
      );
    }
    if (opts.batch * opts.channels * opts.height * opts.width >= 2 ** 32) {
      throw new RangeError(
        `Cannot create MaxPool2d: (${opts.batch}, ${opts.channels}, ${opts.height}, ` +
          `${opts.width}) has more elements than u32 indices reach`,
      );
    }
    const [fwd, bwd] = await Promise.all([
      gpu.kernel("maxpool_forward", { WG: 256, RELU: Number(opts.relu ?? false) }),
      gpu.kernel("maxpool_backward", { WG: 256 }),
    ]);
    return new MaxPool2d(gpu, opts, fwd, bwd);
  }

  /**
   * y = max over each 2x2 window (of relu(x) with relu); records the winners in `argmax`.
   * y: (N, C, OH, OW); x: (N, C, H, W).
   */
  forward(rec: Recorder, y: Tensor, x: Tensor): void {
    const k = this.#fwd;
    rec.dispatchItems(k, this.#gpu.bind(k, [this.#shape, x, y, this.argmax]), this.#rows);
  }

  /**
   * dX = dY routed to each window's winner of the last recorded forward, 0 elsewhere (every
   * element of dX is written). dX: (N, C, H, W); dY: (N, C, OH, OW).
   */
  backward(rec: Recorder, dX: Tensor, dY: Tensor): void {
    const k = this.#bwd;
    rec.dispatchItems(k, this.#gpu.bind(k, [this.#shape, dY, this.argmax, dX]), this.#rows);
  }
}
