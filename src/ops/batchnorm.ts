/**
 * 2-D batch normalization on the GPU with PyTorch BatchNorm2d semantics: statistics per
 * channel over (N, H, W); training normalizes by the batch's mean and biased variance and
 * moves the running statistics by `momentum` toward the batch mean and the unbiased batch
 * variance; evaluation normalizes by the running statistics.
 * Kernels: batchnorm_moments, batchnorm_stats, batchnorm_forward, batchnorm_backward_reduce,
 * batchnorm_backward (kernels/*.wgsl).
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import type { Grid } from "../gpu/grid.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in kernels/batchnorm_*.wgsl. */
export const BatchNormShape = struct({
  batch: "u32",
  channels: "u32",
  hw: "u32",
  m: "u32",
  chunks: "u32",
  momentum: "f32",
  eps: "f32",
});

/**
 * Work split of the per-channel kernels (moments, forward, backward): a workgroup of WG
 * invocations takes a chunk of WG * ITEMS consecutive elements of one channel. Chosen on
 * lavapipe at batch 256: 64 x 64 ran 2-3x faster than 256 x 16 (workgroup barriers and
 * per-invocation overhead dominate on a CPU) and within noise of 32 x 128; 64 also suits a
 * discrete GPU, and the C = 1 layer still gets 61 workgroups.
 */
const WG = 64;
const ITEMS = 64;

/** The shape of a BatchNorm2d's input x (N, C, H, W), and its PyTorch-style constants. */
export interface BatchNorm2dOptions {
  /** N, images per batch. */
  batch: number;
  /** C, channels (one mean, variance, scale and shift each). */
  channels: number;
  /** H, rows per image. */
  height: number;
  /** W, columns per image. */
  width: number;
  /** Weight of the batch statistic in the running average (PyTorch's default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (PyTorch's default 1e-5). */
  eps?: number;
  /**
   * Batch norm then ReLU (default false): y = max(0, batch norm of x), and backward takes the
   * gradient of that, in the same passes (the conv decoder's layers; one full-size pass fewer
   * each way).
   */
  relu?: boolean;
}

interface Kernels {
  moments: Kernel;
  statsTrain: Kernel;
  statsEval: Kernel;
  forward: Kernel;
  reduce: Kernel;
  backwardTrain: Kernel;
  backwardEval: Kernel;
}

/**
 * Batch normalization over (N, H, W) per channel of x (N, C, H, W), as PyTorch's BatchNorm2d:
 * batch statistics (and running averages of them) in train mode, the running ones in eval mode.
 */
export class BatchNorm2d {
  /** N, images per batch. */
  readonly batch: number;
  /** C, channels. */
  readonly channels: number;
  /** H, rows per image. */
  readonly height: number;
  /** W, columns per image. */
  readonly width: number;
  /** Weight of the batch statistic in the running average. */
  readonly momentum: number;
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** Elements per channel, N * H * W. */
  readonly count: number;
  /** Chunks per channel in the two-pass reductions. */
  readonly chunks: number;
  /**
   * (2, C) f32: [mean (C), inv_std (C)] of the last recorded forward, batch statistics after
   * forwardTrain, running ones after forwardEval; backward reads them.
   */
  readonly saved: GPUBuffer;
  readonly #gpu: Gpu;
  readonly #k: Kernels;
  readonly #shape: GPUBuffer;
  /** (C, chunks) of (count, mean, M2), 3 f32 each. */
  readonly #moments: GPUBuffer;
  /** (C, chunks) of (sum dy, sum dy * xhat), 2 f32 each. */
  readonly #partials: GPUBuffer;
  /** One workgroup per (chunk, channel). */
  readonly #grid: Grid;
  #lastForward: "train" | "eval" | null = null;

  private constructor(gpu: Gpu, o: Required<BatchNorm2dOptions>, k: Kernels) {
    this.#gpu = gpu;
    this.#k = k;
    this.batch = o.batch;
    this.channels = o.channels;
    this.height = o.height;
    this.width = o.width;
    this.momentum = o.momentum;
    this.eps = o.eps;
    this.count = o.batch * o.height * o.width;
    this.chunks = Math.ceil(this.count / (WG * ITEMS));
    this.#grid = [this.chunks, o.channels, 1];
    const C = o.channels;
    this.#shape = gpu.uniform(BatchNormShape, {
      batch: o.batch,
      channels: C,
      hw: o.height * o.width,
      m: this.count,
      chunks: this.chunks,
      momentum: o.momentum,
      eps: o.eps,
    });
    this.saved = gpu.storage("batchnorm saved mean, inv_std", 2 * C * 4);
    this.#moments = gpu.storage("batchnorm moments", C * this.chunks * 3 * 4);
    this.#partials = gpu.storage("batchnorm backward partials", C * this.chunks * 2 * 4);
  }

  /** Compiles the kernels and allocates the statistics for these shapes; RangeError if bad. */
  static async create(gpu: Gpu, opts: BatchNorm2dOptions): Promise<BatchNorm2d> {
    const o = { momentum: 0.1, eps: 1e-5, relu: false, ...opts };
    for (const key of ["batch", "channels", "height", "width"] as const) {
      if (!Number.isInteger(o[key]) || o[key] < 1) {
        throw new RangeError(
          `Cannot create BatchNorm2d: ${key} must be a positive integer, got ${o[key]}`,
        );
      }
    }
    const elems = o.batch * o.channels * o.height * o.width;
    // f32 counts are exact to 2^24 and u32 indices end at 2^32.
    if (o.batch * o.height * o.width > 2 ** 24 || elems >= 2 ** 32) {
      throw new RangeError(
        `Cannot create BatchNorm2d: (${o.batch}, ${o.channels}, ${o.height}, ${o.width}) ` +
          `exceeds the kernels' f32 counts (2^24 per channel) or u32 indices (2^32)`,
      );
    }
    if (!(o.momentum >= 0 && o.momentum <= 1) || !(o.eps > 0)) {
      throw new RangeError(
        `Cannot create BatchNorm2d: need 0 <= momentum <= 1 and eps > 0, ` +
          `got momentum ${o.momentum}, eps ${o.eps}`,
      );
    }
    const chunked = { WG, ITEMS }, relu = Number(o.relu);
    const [moments, statsTrain, statsEval, forward, reduce, backwardTrain, backwardEval] =
      await Promise.all([
        gpu.kernel("batchnorm_moments", chunked),
        gpu.kernel("batchnorm_stats", { WG: 64, EVAL: 0 }),
        gpu.kernel("batchnorm_stats", { WG: 64, EVAL: 1 }),
        gpu.kernel("batchnorm_forward", { ...chunked, RELU: relu }),
        gpu.kernel("batchnorm_backward_reduce", { ...chunked, RELU: relu }),
        gpu.kernel("batchnorm_backward", { ...chunked, EVAL: 0, RELU: relu }),
        gpu.kernel("batchnorm_backward", { ...chunked, EVAL: 1, RELU: relu }),
      ]);
    return new BatchNorm2d(gpu, o, {
      moments,
      statsTrain,
      statsEval,
      forward,
      reduce,
      backwardTrain,
      backwardEval,
    });
  }

  /**
   * Training forward: y from the batch's statistics, which are kept in `saved` for backward;
   * runningMean and runningVar are read and updated in place.
   * y, x: (N, C, H, W); gamma, beta, runningMean, runningVar: (C). y must not alias x.
   */
  forwardTrain(
    rec: Recorder,
    y: Tensor,
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    runningMean: Tensor,
    runningVar: Tensor,
  ): void {
    if (this.count < 2) {
      throw new RangeError(
        `Cannot run BatchNorm2d.forwardTrain: the unbiased variance needs more than one ` +
          `value per channel, got N*H*W = ${this.count}`,
      );
    }
    const g = this.#gpu, k = this.#k;
    rec.dispatch(k.moments, g.bind(k.moments, [this.#shape, x, this.#moments]), this.#grid);
    const stats = [this.#shape, this.#moments, runningMean, runningVar, this.saved];
    rec.dispatchItems(k.statsTrain, g.bind(k.statsTrain, stats), this.channels);
    this.#normalize(rec, y, x, gamma, beta);
    this.#lastForward = "train";
  }

  /**
   * Evaluation forward: y from the running statistics (not updated).
   * y, x: (N, C, H, W); gamma, beta, runningMean, runningVar: (C). y must not alias x.
   */
  forwardEval(
    rec: Recorder,
    y: Tensor,
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    runningMean: Tensor,
    runningVar: Tensor,
  ): void {
    const g = this.#gpu, k = this.#k;
    const stats = [this.#shape, this.#moments, runningMean, runningVar, this.saved];
    rec.dispatchItems(k.statsEval, g.bind(k.statsEval, stats), this.channels);
    this.#normalize(rec, y, x, gamma, beta);
    this.#lastForward = "eval";
  }

  /**
   * Gradients of the last recorded forward, whose mode it follows: after forwardTrain the
   * gradient runs through the batch mean and variance, after forwardEval the statistics are
   * constants (as when a frozen decoder is differentiated with respect to its input).
   * dGamma and dBeta are overwritten, not accumulated. With relu, dY is the gradient of the
   * ReLU's output (the forward's y), and gamma and beta give back the values before it.
   * dX, dY, x: (N, C, H, W) with x the forward's input; dGamma, dBeta, gamma, beta: (C).
   */
  backward(
    rec: Recorder,
    dX: Tensor,
    dGamma: Tensor,
    dBeta: Tensor,
    dY: Tensor,
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
  ): void {
    if (this.#lastForward === null) {
      throw new Error("Cannot run BatchNorm2d.backward: no forward was recorded before it");
    }
    const g = this.#gpu, k = this.#k;
    const reduce = [this.#shape, x, dY, this.saved, this.#partials, gamma, beta];
    rec.dispatch(k.reduce, g.bind(k.reduce, reduce), this.#grid);
    const bwd = this.#lastForward === "train" ? k.backwardTrain : k.backwardEval;
    const bindings = [
      ...[this.#shape, this.#partials, x, dY, gamma, this.saved, dGamma, dBeta, dX],
      beta,
    ];
    rec.dispatch(bwd, g.bind(bwd, bindings), this.#grid);
  }

  #normalize(rec: Recorder, y: Tensor, x: Tensor, gamma: Tensor, beta: Tensor): void {
    const k = this.#k.forward;
    const bindings = [this.#shape, x, gamma, beta, this.saved, y];
    rec.dispatch(k, this.#gpu.bind(k, bindings), this.#grid);
  }
}
