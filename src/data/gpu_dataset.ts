/**
 * A set of 28x28 images kept on the GPU as packed bytes (4 pixels per u32:
 * 60,000 images take 47 MB, where f32 would take 188 MB and not fit one
 * binding), and the batch gather that turns rows of it into an f32 input.
 * Kernel: kernels/gather_batch.wgsl.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";
import { PIXELS } from "./image.ts";

/**
 * How pixels p become inputs: grey levels p/255; binarized by threshold or by sampling;
 * uniformly dequantized (p + u) / 256; or the centre (j + 0.5) / k of bin j = floor(p k / 256).
 */
export type GatherMode = "none" | "static" | "dynamic" | "dequantize" | "bins";
/** The binarization choices of the Bernoulli models (a subset of the gather modes). */
export type BinarizeMode = "none" | "static" | "dynamic";
const MODE_CODE: Record<GatherMode, number> = {
  none: 0,
  static: 1,
  dynamic: 2,
  dequantize: 3,
  bins: 4,
};
const NOISY: ReadonlySet<GatherMode> = new Set(["dynamic", "dequantize"]);

/** Pixels per image (28 x 28). */
export const IMAGE_PIXELS = PIXELS;
const WORDS_PER_IMAGE = IMAGE_PIXELS / 4;
/**
 * Distinct batch sizes whose uniforms are kept; training uses two or three
 * (batch, last partial batch, evaluation batch).
 */
const SHAPE_CACHE = 16;

/** Mirror of `struct Shape` in gather_batch.wgsl. */
export const GatherShape = struct({ n: "u32", k: "u32" });

/**
 * Images resident on the GPU, packed 4 pixels per u32, and the gather that turns a batch of
 * them into the (n, 784) f32 input of a model (scaled, binarized or dequantized on the way).
 */
export class GpuDataset {
  /** Number of images. */
  readonly count: number;
  /** (count, 196) u32: the images' bytes, image i's pixel j at byte i * 784 + j. */
  readonly pixels: GPUBuffer;
  readonly #gpu: Gpu;
  readonly #kernels: Record<GatherMode, Kernel>;
  readonly #noNoise: GPUBuffer;
  readonly #shapes = new Map<string, GPUBuffer>();

  private constructor(
    gpu: Gpu,
    count: number,
    pixels: GPUBuffer,
    kernels: Record<GatherMode, Kernel>,
  ) {
    this.#gpu = gpu;
    this.count = count;
    this.pixels = pixels;
    this.#kernels = kernels;
    // WebGPU wants every binding bound; the non-dynamic modes never read this one.
    this.#noNoise = gpu.storage("gather noise (unused)", 16);
  }

  /** Uploads `count` images of 784 bytes each (`images` is (count, 28, 28) row-major). */
  static async create(gpu: Gpu, images: Uint8Array, count: number): Promise<GpuDataset> {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`Cannot create a GPU dataset of ${count} images: need at least 1`);
    }
    if (images.length !== count * IMAGE_PIXELS) {
      throw new RangeError(
        `Cannot create a GPU dataset of ${count} images: expected ${count * IMAGE_PIXELS} ` +
          `bytes, got ${images.length}`,
      );
    }
    const modes = Object.keys(MODE_CODE) as GatherMode[];
    const compiled = await Promise.all(
      modes.map((m) => gpu.kernel("gather_batch", { WG: 256, MODE: MODE_CODE[m] })),
    );
    const kernels = Object.fromEntries(modes.map((m, i) => [m, compiled[i]])) as Record<
      GatherMode,
      Kernel
    >;
    // 784 bytes per image is a multiple of 4, so the u8 array is already the packed u32 layout.
    const pixels = gpu.storage(`dataset (${count} images)`, images);
    return new GpuDataset(gpu, count, pixels, kernels);
  }

  /**
   * Writes image numbers into an index buffer (at `byteOffset`), after checking
   * each is below `count`: the kernel trusts them. Like every queue write, it
   * lands before the next submit, so one buffer region holds one step's batch.
   */
  setIndices(buffer: GPUBuffer, indices: Uint32Array, byteOffset = 0): void {
    for (let i = 0; i < indices.length; i++) {
      if (indices[i] >= this.count) {
        throw new RangeError(
          `Cannot gather image ${indices[i]} (batch position ${i}): the dataset holds ` +
            `${this.count} images`,
        );
      }
    }
    if (byteOffset + indices.byteLength > buffer.size) {
      throw new RangeError(
        `Cannot write ${indices.length} indices at byte ${byteOffset}: buffer "${buffer.label}" ` +
          `holds ${buffer.size} bytes`,
      );
    }
    this.#gpu.write(buffer, indices, byteOffset);
  }

  /**
   * x[r, :] = the pixels of image indices[r], scaled (`none`: p/255), binarized (`static`:
   * p/255 > 0.5; `dynamic`: u < p/255 with u = noise[r, :]), dequantized (`dequantize`:
   * (p + u) / 256) or binned (`bins`: (floor(p bins / 256) + 0.5) / bins).
   * x: (n, 784) f32. indices: (n) u32. noise: (n, 784) f32 uniform in (0, 1), for dynamic
   * and dequantize only. bins: 2..256, for bins only.
   */
  gather(
    rec: Recorder,
    x: Tensor,
    indices: Tensor,
    n: number,
    mode: GatherMode,
    noise?: Tensor,
    bins = 0,
  ): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`Cannot gather a batch of ${n} images: need at least 1`);
    }
    _checkSize("x", x, n * IMAGE_PIXELS * 4);
    _checkSize("indices", indices, n * 4);
    if (NOISY.has(mode)) {
      if (!noise) throw new TypeError(`Cannot gather in mode ${mode}: no noise tensor was given`);
      _checkSize("noise", noise, n * IMAGE_PIXELS * 4);
    }
    if (mode === "bins" && (!Number.isInteger(bins) || bins < 2 || bins > 256)) {
      throw new RangeError(
        `Cannot gather into bins: bins must be an integer in [2, 256], got ${bins}`,
      );
    }
    const kernel = this.#kernels[mode];
    const group = this.#gpu.bind(kernel, [
      this.#shape(n, mode === "bins" ? bins : 0),
      this.pixels,
      indices,
      NOISY.has(mode) ? noise! : this.#noNoise,
      x,
    ]);
    rec.dispatchItems(kernel, group, n * WORDS_PER_IMAGE);
  }

  /** Frees the image buffer; the dataset cannot gather afterwards. */
  destroy(): void {
    this.pixels.destroy();
    this.#noNoise.destroy();
  }

  /**
   * One uniform per batch size rather than one rewritten per call: queue writes
   * land before the submit, so two gathers of different n recorded into one
   * step would otherwise both see the last n.
   */
  #shape(n: number, k: number): GPUBuffer {
    const key = `${n},${k}`;
    let buffer = this.#shapes.get(key);
    if (buffer) {
      this.#shapes.delete(key);
    } else {
      buffer = this.#gpu.uniform(GatherShape, { n, k });
      // Dropped, not destroyed: a recorded but unsubmitted step may still use it.
      if (this.#shapes.size >= SHAPE_CACHE) this.#shapes.delete(this.#shapes.keys().next().value!);
    }
    this.#shapes.set(key, buffer);
    return buffer;
  }
}

function _checkSize(name: string, t: Tensor, bytes: number): void {
  const size = t instanceof GPUBuffer ? t.size : t.size ?? t.buffer.size - (t.offset ?? 0);
  if (size < bytes) {
    throw new RangeError(`Cannot gather: ${name} needs ${bytes} bytes, its binding holds ${size}`);
  }
}
