/**
 * The bench's peak probes: what the adapter can do at best, so that every kernel's GFLOP/s can
 * be read as a share of it. FmaProbe runs chains of vec4 FMAs in registers
 * (kernels/probe_fma.wgsl); LoadProbe sums storage-buffer loads from a buffer that stays in L1
 * (kernels/probe_load.wgsl, and kernels/probe_load_vec4.wgsl for 16-byte loads).
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";

/** Mirror of `struct Shape` in probe_fma.wgsl. */
export const FmaProbeShape = struct({ count: "u32", iters: "u32", a: "f32", b: "f32" });

/** Mirror of `struct Shape` in probe_load.wgsl and probe_load_vec4.wgsl. */
export const LoadProbeShape = struct({ count: "u32", iters: "u32", mask: "u32" });

/** Independent vec4 accumulators per invocation in probe_fma.wgsl. */
export const FMA_CHAINS = 8;

export interface FmaProbeOptions {
  /** Invocations, each writing one vec4f. */
  count: number;
  /** FMAs per chain. */
  iters: number;
  /** Each step is acc = acc * a + b. */
  a: number;
  b: number;
}

export class FmaProbe {
  readonly options: Readonly<FmaProbeOptions>;
  /** FLOPs of one dispatch: 2 per lane of each vec4 FMA. */
  readonly flops: number;
  readonly #gpu: Gpu;
  readonly #kernel: Kernel;
  readonly #shape: GPUBuffer;

  private constructor(gpu: Gpu, kernel: Kernel, o: FmaProbeOptions) {
    this.#gpu = gpu;
    this.#kernel = kernel;
    this.options = { ...o };
    this.flops = o.count * o.iters * FMA_CHAINS * 4 * 2;
    this.#shape = gpu.uniform(FmaProbeShape, o);
  }

  static async create(gpu: Gpu, o: FmaProbeOptions): Promise<FmaProbe> {
    _positive("FmaProbe", "count", o.count);
    _positive("FmaProbe", "iters", o.iters);
    return new FmaProbe(gpu, await gpu.kernel("probe_fma", { WG: 64 }), o);
  }

  /** out (count) vec4f: each invocation's sum of its chains; init (8) vec4f: their starts. */
  run(rec: Recorder, out: Tensor, init: Tensor): void {
    const group = this.#gpu.bind(this.#kernel, [this.#shape, init, out]);
    rec.dispatchItems(this.#kernel, group, this.options.count);
  }

  destroy(): void {
    this.#shape.destroy();
  }
}

export interface LoadProbeOptions {
  /** Invocations, each writing one f32 (vec4f when `vec4`). */
  count: number;
  /** Loads per invocation, a multiple of 4. */
  iters: number;
  /** Elements of the source buffer (f32 or vec4f), a power of two. */
  length: number;
  vec4: boolean;
}

export class LoadProbe {
  readonly options: Readonly<LoadProbeOptions>;
  /** Loads of one dispatch, and the bytes they read. */
  readonly loads: number;
  readonly bytes: number;
  readonly #gpu: Gpu;
  readonly #kernel: Kernel;
  readonly #shape: GPUBuffer;

  private constructor(gpu: Gpu, kernel: Kernel, o: LoadProbeOptions) {
    this.#gpu = gpu;
    this.#kernel = kernel;
    this.options = { ...o };
    this.loads = o.count * o.iters;
    this.bytes = this.loads * (o.vec4 ? 16 : 4);
    this.#shape = gpu.uniform(LoadProbeShape, {
      count: o.count,
      iters: o.iters,
      mask: o.length - 1,
    });
  }

  static async create(gpu: Gpu, o: LoadProbeOptions): Promise<LoadProbe> {
    _positive("LoadProbe", "count", o.count);
    _positive("LoadProbe", "iters", o.iters);
    if (o.iters % 4 !== 0) {
      throw new RangeError(
        `Cannot create LoadProbe: iters must be a multiple of 4, got ${o.iters}`,
      );
    }
    if (!Number.isInteger(Math.log2(o.length))) {
      throw new RangeError(`Cannot create LoadProbe: length must be a power of 2, got ${o.length}`);
    }
    const name = o.vec4 ? "probe_load_vec4" : "probe_load";
    return new LoadProbe(gpu, await gpu.kernel(name, { WG: 64 }), o);
  }

  /** out (count) f32 or vec4f: each invocation's sum; src (length) f32 or vec4f. */
  run(rec: Recorder, out: Tensor, src: Tensor): void {
    const group = this.#gpu.bind(this.#kernel, [this.#shape, src, out]);
    rec.dispatchItems(this.#kernel, group, this.options.count);
  }

  destroy(): void {
    this.#shape.destroy();
  }
}

function _positive(what: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`Cannot create ${what}: ${name} must be a positive integer, got ${v}`);
  }
}
