/**
 * Batched matrix transposes on the GPU (kernels/transpose.wgsl), for the layers that reshape a
 * tensor to run it through Linear's matrix products: ConvTranspose2d's GEMM path and Linear's
 * transposed weight gradient.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in transpose.wgsl. */
export const TransposeShape = struct({ batch: "u32", rows: "u32", cols: "u32", count: "u32" });

/** The transpose kernel's workgroup size (one invocation per row of the result). */
const TRANSPOSE_WG = 64;

/** One transpose of fixed shape: dst (B, C, R) from src (B, R, C), both row-major f32. */
export class Transpose {
  readonly #gpu: Gpu;
  readonly #kernel: Kernel;
  readonly #shape: GPUBuffer;
  readonly #rows: number;

  private constructor(gpu: Gpu, kernel: Kernel, batch: number, rows: number, cols: number) {
    this.#gpu = gpu;
    this.#kernel = kernel;
    this.#rows = batch * cols;
    this.#shape = gpu.uniform(TransposeShape, { batch, rows, cols, count: batch * cols });
  }

  static async create(gpu: Gpu, batch: number, rows: number, cols: number): Promise<Transpose> {
    for (const [key, v] of [["batch", batch], ["rows", rows], ["cols", cols]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(
          `Cannot create Transpose: ${key} must be a positive integer, got ${v}`,
        );
      }
    }
    const kernel = await gpu.kernel("transpose", { WG: TRANSPOSE_WG });
    return new Transpose(gpu, kernel, batch, rows, cols);
  }

  /** dst = src with each of its batch matrices transposed. */
  run(rec: Recorder, dst: Tensor, src: Tensor): void {
    const k = this.#kernel;
    rec.dispatchItems(k, this.#gpu.bind(k, [this.#shape, src, dst]), this.#rows);
  }

  destroy(): void {
    this.#shape.destroy();
  }
}
