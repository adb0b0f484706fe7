/**
 * The GPU runtime: kernels compiled once from kernels/*.wgsl and cached by
 * name, storage and uniform buffers, bind groups, a recorder that puts a
 * whole step's dispatches into one compute pass and one submit, and readback.
 */

import { debugEnabled } from "../debug.ts";
import { type DeviceInfo, requestDevice } from "./device.ts";
import { adapterSummary, type Backend } from "./backend.ts";
import { type Grid, grid1d, workgroupsFor } from "./grid.ts";
import type { StructLayout, StructValues, UniformStruct } from "./uniform.ts";
import type { DispatchProfile } from "./profile.ts";
import {
  type AssembledKernel,
  assembleKernel,
  type KernelFiles,
  kernelFilesFromDisk,
} from "./kernel_source.ts";

/** kernels/ beside src/, where `Gpu` reads kernel files unless GpuOptions.files says otherwise. */
export const KERNEL_DIR: URL = new URL("../../kernels/", import.meta.url);
const DEBUG = debugEnabled();
const BIND_GROUP_CACHE = 4096;

/**
 * Said once per run on the GL backend: its shader compiler takes minutes over our kernels and
 * then they run ~100x slower than through Vulkan (~3 conv images/s on a 2-core CPU).
 */
const GL_WARNING = "warning: WebGPU runs on the GL backend here (DENO_WEBGPU_BACKEND or " +
  "no Vulkan driver): the first run compiles for minutes and trains ~100x slower than Vulkan; " +
  "unset DENO_WEBGPU_BACKEND (or install mesa-vulkan-drivers) to use Vulkan";

/** A compile or validation error in a kernel, with file, line:column and source line. */
export class KernelError extends Error {
  /** `message` names the kernel file and says what failed (see `_describe`). */
  constructor(message: string) {
    super(message);
    this.name = "KernelError";
  }
}

/** A bad setting in the environment (VAE_VARIANTS): the task exits 2 with the message. */
export class EnvError extends Error {
  /** `message` names the variable, the values it may take, and the value it had. */
  constructor(message: string) {
    super(message);
    this.name = "EnvError";
  }
}

/**
 * The kind of adapter whose kernel variants the pickers (linearVariantFor, conv2dVariantFor,
 * convTransposeVariantFor) choose: a GPU's (shared-memory tiles, single blocks, no subgroup
 * kernels) or a CPU adapter's (register blocks, 8-lane subgroup kernels, GEMM paths).
 */
export const VARIANT_TARGETS = ["hardware", "software"] as const;
/** One of VARIANT_TARGETS: whose kernel variants (a GPU's or a CPU adapter's) to pick. */
export type VariantTarget = typeof VARIANT_TARGETS[number];

/** Options of `Gpu.create`. */
export interface GpuOptions {
  /**
   * The variants to pick. Default: $VAE_VARIANTS when set, else the adapter's own kind.
   * "hardware" on lavapipe runs a GPU's picks end to end where there is no GPU (slowly: they are
   * shaped for a GPU).
   */
  variants?: VariantTarget;
  /**
   * Where kernel files come from. Default: kernels/ on disk (Deno). A browser passes the table
   * `fetchKernelFiles` returns.
   */
  files?: KernelFiles;
  /**
   * When pipelines are built. "eager" (default): when a kernel is asked for, so that every
   * error shows at once. "first-use": the WGSL is checked when asked for, the pipeline built
   * when first bound or dispatched (its errors reported by the next submit): for a page that
   * only decodes, whose training kernels a browser's software adapter would take minutes to build.
   */
  compile?: "eager" | "first-use";
}

/** opts.variants, else $VAE_VARIANTS, else undefined (the adapter's own kind). */
function _variantsWanted(opts: GpuOptions): VariantTarget | undefined {
  if (opts.variants !== undefined) return opts.variants;
  let env: string | undefined;
  try {
    env = Deno.env.get("VAE_VARIANTS");
  } catch {
    return undefined; // a browser, or no --allow-env
  }
  if (env === undefined || env === "") return undefined;
  if (!(VARIANT_TARGETS as readonly string[]).includes(env)) {
    throw new EnvError(
      `VAE_VARIANTS must be ${VARIANT_TARGETS.join(" or ")} (the kernel variants a GPU or a CPU ` +
        `adapter gets), got ${JSON.stringify(env)}; unset it to get this adapter's own`,
    );
  }
  return env as VariantTarget;
}

/** WGSL `override` constants by name (workgroup sizes, tile sizes, modes), all numbers. */
export type Constants = Record<string, number>;

/**
 * A tensor on the GPU: a whole buffer, or a range of one (parameters and
 * gradients live in flat buffers; each tensor's offset is 256-byte aligned,
 * WebGPU's largest minStorageBufferOffsetAlignment).
 */
export type Tensor = GPUBuffer | GPUBufferBinding;

/** A compiled compute pipeline and the override constants it was built with. */
export interface Kernel {
  /** The kernel's file in kernels/ without .wgsl (or the file name given to kernelFromSource). */
  readonly name: string;
  /** The pipeline; its bind group layout 0 is what `Gpu.bind` builds groups for. */
  readonly pipeline: GPUComputePipeline;
  /** The override constants it was compiled with (`WG` sizes `dispatchItems`). */
  readonly constants: Readonly<Constants>;
}

/**
 * The subgroup size the `_subgroup` and `_taps` kernels are written for: lavapipe's SIMD width on
 * AVX2 CPUs.
 */
export const KERNEL_SUBGROUP_LANES = 8;

/**
 * Throws a RangeError naming `who` unless the device has subgroups of KERNEL_SUBGROUP_LANES
 * lanes, which an explicitly requested subgroup variant needs.
 */
export function requireKernelSubgroups(gpu: Pick<Gpu, "subgroupSize">, who: string): void {
  if (gpu.subgroupSize === KERNEL_SUBGROUP_LANES) return;
  throw new RangeError(
    `Cannot create ${who} needs subgroups of ${KERNEL_SUBGROUP_LANES} lanes, and this device ` +
      `has ${gpu.subgroupSize === null ? "no subgroups" : `${gpu.subgroupSize}-lane ones`}; ` +
      "leave the variant out to get the one this adapter runs best",
  );
}

/**
 * One WebGPU device and everything the ops share on it: the kernel cache, buffer helpers,
 * bind groups, the recorder of a step's dispatches, and readback. Create it with `Gpu.create`.
 */
export class Gpu {
  /** The underlying WebGPU device, for what the helpers below do not cover. */
  readonly device: GPUDevice;
  /** The adapter's description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  readonly adapterName: string;
  /** True for a CPU adapter (lavapipe, llvmpipe, SwiftShader): it gets the "software" variants. */
  readonly isSoftware: boolean;
  /** Whether the device has the timestamp-query feature (needed for per-dispatch profiles). */
  readonly hasTimestamps: boolean;
  /** The wgpu backend ("vulkan", "gl" or "unknown") and how that is known. */
  readonly backend: Backend;
  /** How `backend` is known: "DENO_WEBGPU_BACKEND", or "inferred from ..." with the evidence. */
  readonly backendHow: string;
  /** The driver's release, e.g. "Mesa 25.0.7", or null where the system does not say. */
  readonly driver: string | null;
  /** The adapter's features, sorted (the device asks only for the ones it uses). */
  readonly features: readonly string[];
  /** The fixed subgroup size where the device has subgroup operations, else null. */
  readonly subgroupSize: number | null;
  /** lavapipe's worker threads and how they were chosen (see lavapipeThreads); else null. */
  readonly cpuThreads: string | null;
  /** Whose kernel variants the pickers choose (see VariantTarget): the adapter's kind by default. */
  readonly variants: VariantTarget;
  /** Whether `variants` was asked for (GpuOptions, VAE_VARIANTS) against the adapter's kind. */
  readonly variantsForced: boolean;
  /**
   * While set, every recorded dispatch is timed (the bench's --profile).
   * @internal
   */
  profile: DispatchProfile | null = null;
  readonly #kernels = new Map<string, Kernel>();
  readonly #sources = new Map<string, AssembledKernel>();
  readonly #files: KernelFiles;
  readonly #lazy: boolean;
  #late: Promise<KernelError | null>[] = [];
  readonly #bindGroups = new Map<string, GPUBindGroup>();
  readonly #bufferIds = new WeakMap<GPUBuffer, number>();
  #nextBufferId = 0;
  #compiling: Promise<unknown> = Promise.resolve();

  private constructor(info: DeviceInfo, variants: VariantTarget | undefined, opts: GpuOptions) {
    this.device = info.device;
    this.#files = opts.files ?? kernelFilesFromDisk(KERNEL_DIR);
    this.#lazy = opts.compile === "first-use";
    this.adapterName = info.adapterName;
    this.isSoftware = info.isSoftware;
    this.hasTimestamps = info.hasTimestamps;
    this.backend = info.backend;
    this.backendHow = info.backendHow;
    this.driver = info.driver;
    this.features = info.features;
    this.subgroupSize = info.subgroupSize;
    this.cpuThreads = info.cpuThreads;
    const own: VariantTarget = info.isSoftware ? "software" : "hardware";
    this.variants = variants ?? own;
    this.variantsForced = this.variants !== own;
    if (this.backend === "gl") console.warn(GL_WARNING);
  }

  /**
   * Adapter, backend and driver for logs: "llvmpipe (...); vulkan; Mesa 25.0.7 (software)", and
   * "; hardware variants" where those were asked for on a CPU adapter (or the reverse).
   */
  get adapterSummary(): string {
    return adapterSummary(this.adapterName, this.backend, this.driver, this.isSoftware) +
      (this.variantsForced ? `; ${this.variants} variants` : "");
  }

  /**
   * Requests an adapter and a device with the limits the kernels need.
   * Throws NoAdapterError where there is no adapter, EnvError on a bad $VAE_VARIANTS.
   */
  static async create(opts: GpuOptions = {}): Promise<Gpu> {
    const variants = _variantsWanted(opts);
    return new Gpu(await requestDevice(), variants, opts);
  }

  /** The device's limits (raised above WebGPU's defaults where the adapter allows). */
  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** kernels/<name>.wgsl with its includes spliced in (read once), and its line map. */
  source(name: string): AssembledKernel {
    let src = this.#sources.get(name);
    if (src === undefined) {
      try {
        src = assembleKernel(`${name}.wgsl`, this.#files);
      } catch (e) {
        throw new KernelError(`Cannot load kernel "${name}": ${(e as Error).message}`);
      }
      this.#sources.set(name, src);
    }
    return src;
  }

  /**
   * The pipeline for kernels/<name>.wgsl with these override constants,
   * compiled on first use and cached; the same (name, constants) never compiles twice.
   */
  kernel(name: string, constants: Constants = {}): Promise<Kernel> {
    const key = `${name}${JSON.stringify(constants)}`;
    const cached = this.#kernels.get(key);
    if (cached) return Promise.resolve(cached);
    // Error scopes are one stack per device: two compiles in flight at once would
    // pop each other's errors and blame the wrong file. So compiles run one at a time.
    const next = this.#compiling.then(() => {
      const hit = this.#kernels.get(key);
      return hit ?? this.#compile(name, this.source(name), constants, key);
    });
    this.#compiling = next.catch(() => {});
    return next;
  }

  /**
   * Compiles WGSL given as text (not cached), with the same includes and error reporting as
   * `kernel`; for tools and tests. `file` ("kernels/x.wgsl" or "x.wgsl") names it in messages.
   */
  kernelFromSource(file: string, code: string, constants: Constants = {}): Promise<Kernel> {
    const own = file.replace(/^kernels\//, "");
    const next = this.#compiling.then(() => {
      const read: KernelFiles = (f) => f === own ? code : this.#files(f);
      let src: AssembledKernel;
      try {
        src = assembleKernel(own, read);
      } catch (e) {
        throw new KernelError(`Cannot load kernel "${file}": ${(e as Error).message}`);
      }
      return this.#compile(own.replace(/\.wgsl$/, ""), src, constants, null);
    });
    this.#compiling = next.catch(() => {});
    return next;
  }

  async #compile(name: string, src: AssembledKernel, constants: Constants, key: string | null) {
    // deno-lint-ignore no-this-alias
    const self = this;
    const file = `kernels/${src.file}`, code = src.code;
    this.device.pushErrorScope("validation");
    const module = this.device.createShaderModule({ label: file, code });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) {
      await this.device.popErrorScope();
      throw new KernelError(errors.map((m) => _describe(src, m)).join("\n"));
    }
    const failed = (err: GPUError) =>
      new KernelError(
        `Cannot build pipeline ${file} with ${JSON.stringify(constants)}: ${err.message}`,
      );
    const build = () =>
      this.device.createComputePipeline({
        label: file,
        layout: "auto",
        compute: { module, entryPoint: "main", constants },
      });
    let kernel: Kernel;
    if (this.#lazy) {
      const err = await this.device.popErrorScope();
      if (err) throw failed(err);
      let pipeline: GPUComputePipeline | null = null;
      kernel = {
        name,
        constants: { ...constants },
        get pipeline() {
          if (pipeline === null) {
            // Push, build and pop in one synchronous run: nested in any scope a compile holds.
            self.device.pushErrorScope("validation");
            pipeline = build();
            self.#late.push(self.device.popErrorScope().then((e) => e ? failed(e) : null));
          }
          return pipeline;
        },
      };
    } else {
      const pipeline = build();
      const err = await this.device.popErrorScope();
      if (err) throw failed(err);
      kernel = { name, pipeline, constants: { ...constants } };
    }
    if (key !== null) this.#kernels.set(key, kernel);
    return kernel;
  }

  /**
   * Throws the first error of the pipelines built on first use since the last call.
   * @internal Recorder.submit calls it.
   */
  async lateErrors(): Promise<void> {
    if (this.#late.length === 0) return;
    const late = this.#late;
    this.#late = [];
    const first = (await Promise.all(late)).find((e) => e !== null);
    if (first) throw first;
  }

  /** A storage buffer (also copy source and destination), zeroed or filled from `data`. */
  storage(label: string, sizeOrData: number | ArrayBufferView): GPUBuffer {
    return this.#storage(label, sizeOrData, 0);
  }

  /**
   * A zeroed storage buffer that kernels may also bind, in ranges of at most
   * maxUniformBufferBindingSize, as a uniform buffer (on lavapipe a uniform load is a gather,
   * cheaper than a storage load's loop over the lanes).
   */
  uniformStorage(label: string, bytes: number): GPUBuffer {
    return this.#storage(label, bytes, GPUBufferUsage.UNIFORM);
  }

  #storage(label: string, sizeOrData: number | ArrayBufferView, usage: number): GPUBuffer {
    const bytes = typeof sizeOrData === "number" ? sizeOrData : sizeOrData.byteLength;
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > limit) throw new BufferTooLargeError(label, bytes, limit);
    const buffer = this.device.createBuffer({
      label,
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | usage,
    });
    if (typeof sizeOrData !== "number") this.write(buffer, sizeOrData);
    return buffer;
  }

  /** Writes `data` into `buffer` at `byteOffset` (queued before the next submit). */
  write(buffer: GPUBuffer, data: ArrayBufferView | ArrayBuffer, byteOffset = 0): void {
    const bytes = data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    // writeBuffer wants a multiple of 4 bytes.
    if (bytes.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      this.device.queue.writeBuffer(buffer, byteOffset, padded);
    } else {
      this.device.queue.writeBuffer(buffer, byteOffset, bytes);
    }
  }

  /** A uniform buffer holding one struct, rewritable with `setUniform`. */
  uniform<L extends StructLayout>(def: UniformStruct<L>, values: StructValues<L>): GPUBuffer {
    const buffer = this.device.createBuffer({
      size: def.byteSize,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.device.queue.writeBuffer(buffer, 0, def.bytes(values));
    return buffer;
  }

  /** Rewrites a buffer made by `uniform` (queued before the next submit). */
  setUniform<L extends StructLayout>(
    buffer: GPUBuffer,
    def: UniformStruct<L>,
    values: StructValues<L>,
  ): void {
    this.device.queue.writeBuffer(buffer, 0, def.bytes(values));
  }

  /**
   * A bind group for `kernel` with `resources[i]` at @group(0) @binding(i) (none where null).
   * Training binds the same buffers every step, so groups are cached (LRU, bounded).
   */
  bind(kernel: Kernel, resources: (Tensor | null)[]): GPUBindGroup {
    const key = kernel.name + JSON.stringify(kernel.constants) +
      resources.map((r) =>
        r === null
          ? "-"
          : r instanceof GPUBuffer
          ? this.#bufferId(r)
          : `${this.#bufferId(r.buffer)}@${r.offset ?? 0}+${r.size ?? "all"}`
      ).join(",");
    const hit = this.#bindGroups.get(key);
    if (hit) {
      this.#bindGroups.delete(key);
      this.#bindGroups.set(key, hit);
      return hit;
    }
    const group = this.device.createBindGroup({
      label: kernel.name,
      layout: kernel.pipeline.getBindGroupLayout(0),
      // A null leaves binding i out: the kernel declares no variable there.
      entries: resources.flatMap((r, i) =>
        r === null ? [] : [{ binding: i, resource: r instanceof GPUBuffer ? { buffer: r } : r }]
      ),
    });
    this.#bindGroups.set(key, group);
    if (this.#bindGroups.size > BIND_GROUP_CACHE) {
      this.#bindGroups.delete(this.#bindGroups.keys().next().value!);
    }
    return group;
  }

  #bufferId(buffer: GPUBuffer): number {
    let id = this.#bufferIds.get(buffer);
    if (id === undefined) {
      id = this.#nextBufferId++;
      this.#bufferIds.set(buffer, id);
    }
    return id;
  }

  /** Starts recording a step: dispatches into one compute pass, one submit. */
  record(label = "step"): Recorder {
    return new Recorder(this, label);
  }

  /** Copies `byteLength` bytes at `byteOffset` of `buffer` back to the CPU. Costs ~10 ms: use rarely. */
  async read(
    buffer: GPUBuffer,
    byteOffset = 0,
    byteLength = buffer.size - byteOffset,
  ): Promise<ArrayBuffer> {
    const size = Math.ceil(byteLength / 4) * 4;
    const staging = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = staging.getMappedRange().slice(0, byteLength);
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** `read` of `length` f32s (default: to the end) from f32 index `offset`. */
  async readF32(buffer: GPUBuffer, offset = 0, length?: number): Promise<Float32Array> {
    const bytes = await this.read(
      buffer,
      offset * 4,
      length === undefined ? undefined : length * 4,
    );
    return new Float32Array(bytes);
  }

  /** `read` of `length` u32s (default: to the end) from u32 index `offset`. */
  async readU32(buffer: GPUBuffer, offset = 0, length?: number): Promise<Uint32Array> {
    const bytes = await this.read(
      buffer,
      offset * 4,
      length === undefined ? undefined : length * 4,
    );
    return new Uint32Array(bytes);
  }

  /** Resolves when all submitted work is done. */
  finish(): Promise<void> {
    return this.device.queue.onSubmittedWorkDone();
  }

  /** Destroys the device and with it every buffer; the Gpu is unusable afterwards. */
  destroy(): void {
    this.device.destroy();
  }
}

/** Thrown when a buffer would exceed what the device allows. */
export class BufferTooLargeError extends RangeError {
  /** `what` names the buffer, `bytes` its size, `limit` the maxStorageBufferBindingSize. */
  constructor(what: string, bytes: number, limit: number, remedy?: string) {
    super(
      `Cannot allocate ${what}: it needs ${bytes} bytes, the device allows ${limit} per ` +
        `storage binding. ${remedy ?? "Use a smaller batch or --train-limit."}`,
    );
    this.name = "BufferTooLargeError";
  }
}

/** Collects one step's dispatches into a single compute pass, then submits once. */
export class Recorder {
  readonly #gpu: Gpu;
  readonly #encoder: GPUCommandEncoder;
  #pass: GPUComputePassEncoder | null;

  /** Opens a command encoder and a compute pass labelled `label`; `Gpu.record` calls this. */
  constructor(gpu: Gpu, label: string) {
    this.#gpu = gpu;
    this.#encoder = gpu.device.createCommandEncoder({ label });
    this.#pass = this.#encoder.beginComputePass({ label });
  }

  /** Dispatches `kernel` over an explicit grid of workgroups. */
  dispatch(kernel: Kernel, bindGroup: GPUBindGroup, grid: Grid | number): this {
    const [x, y, z] = typeof grid === "number" ? grid1d(grid) : grid;
    const profile = this.#gpu.profile;
    if (profile) {
      // A pass of its own, timestamped at both ends.
      this.#endPass();
      this.#pass = this.#encoder.beginComputePass({
        timestampWrites: profile.nextPass(kernel.name, x * y * z),
      });
    }
    const pass = this.#ensurePass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (profile) this.#endPass();
    return this;
  }

  /** Dispatches enough workgroups of `kernel.constants.WG` invocations to cover `count` items. */
  dispatchItems(kernel: Kernel, bindGroup: GPUBindGroup, count: number): this {
    const wg = kernel.constants.WG;
    if (!wg) {
      throw new KernelError(`Cannot size dispatch of ${kernel.name}: no WG constant was given`);
    }
    return this.dispatch(kernel, bindGroup, grid1d(workgroupsFor(count, wg)));
  }

  /** Buffer-to-buffer copy, between dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): this {
    this.#endPass();
    this.#encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    return this;
  }

  /** Zeroes `size` bytes (default: to the end) of `buffer` from `offset`, between dispatches. */
  clear(buffer: GPUBuffer, offset = 0, size?: number): this {
    this.#endPass();
    this.#encoder.clearBuffer(buffer, offset, size);
    return this;
  }

  /** Ends the pass and submits; with DEBUG set, waits and rethrows validation errors. */
  async submit(): Promise<void> {
    this.#endPass();
    const device = this.#gpu.device;
    if (DEBUG) device.pushErrorScope("validation");
    device.queue.submit([this.#encoder.finish()]);
    await this.#gpu.lateErrors();
    if (DEBUG) {
      const err = await device.popErrorScope();
      if (err) throw new KernelError(`Validation error in step: ${err.message}`);
    }
  }

  #ensurePass(): GPUComputePassEncoder {
    if (!this.#pass) this.#pass = this.#encoder.beginComputePass();
    return this.#pass;
  }

  #endPass(): void {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
  }
}

/**
 * "kernels/lib/x.wgsl:12:5: error: ..." with the source line and a caret: the line map turns the
 * assembled text's line into the real file's, and says which kernel included it.
 */
function _describe(src: AssembledKernel, m: GPUCompilationMessage): string {
  const line = src.code.split("\n")[m.lineNum - 1] ?? "";
  const at = src.lines[m.lineNum - 1] ?? { file: src.file, line: m.lineNum };
  const via = at.file === src.file ? "" : ` (included by kernels/${src.file})`;
  const caret = " ".repeat(Math.max(0, m.linePos - 1)) + "^";
  return `kernels/${at.file}:${at.line}:${m.linePos}: ${m.type}: ${m.message}${via}\n  ${line}\n  ${caret}`;
}
