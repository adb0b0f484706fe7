/**
 * Per-dispatch GPU time from timestamp queries, for the bench's --profile: while a
 * DispatchProfile is attached to a Gpu, every dispatch that a Recorder records runs in a compute
 * pass of its own whose start and end are timestamped, labelled with its kernel's name. One
 * pass per dispatch adds a little time of its own, so a profiled step runs somewhat slower than
 * an unprofiled one; the shares between kernels are what the profile is for.
 */

/** Timestamps a query set holds; two per dispatch. WebGPU caps a query set at 4096. */
const CAPACITY = 4096;

export interface DispatchTiming {
  /** The kernel's name (its file in kernels/, without .wgsl). */
  kernel: string;
  /** Workgroups dispatched. */
  workgroups: number;
  /** GPU time of the dispatch's pass, in milliseconds. */
  ms: number;
}

export interface KernelShare {
  kernel: string;
  dispatches: number;
  ms: number;
  /** Of the profiled dispatches' total time. */
  share: number;
}

export class DispatchProfile {
  readonly #device: GPUDevice;
  readonly #set: GPUQuerySet;
  readonly #resolve: GPUBuffer;
  readonly #labels: { kernel: string; workgroups: number }[] = [];

  constructor(device: GPUDevice) {
    if (!device.features.has("timestamp-query")) {
      throw new Error(
        "Cannot profile dispatches: this device has no timestamp-query feature " +
          "(run the bench without --profile)",
      );
    }
    this.#device = device;
    this.#set = device.createQuerySet({ type: "timestamp", count: CAPACITY });
    this.#resolve = device.createBuffer({
      size: CAPACITY * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** The timestampWrites for the next dispatch's pass, which is labelled `kernel`. */
  nextPass(kernel: string, workgroups: number): GPUComputePassTimestampWrites {
    const i = this.#labels.length;
    if (2 * i + 2 > CAPACITY) {
      throw new Error(
        `Cannot profile more than ${CAPACITY / 2} dispatches at once: read the profile sooner`,
      );
    }
    this.#labels.push({ kernel, workgroups });
    return {
      querySet: this.#set,
      beginningOfPassWriteIndex: 2 * i,
      endOfPassWriteIndex: 2 * i + 1,
    };
  }

  /** Waits for the GPU, reads every timestamp recorded since the last read, and starts over. */
  async read(): Promise<DispatchTiming[]> {
    const n = this.#labels.length;
    if (n === 0) return [];
    const bytes = n * 16;
    const staging = this.#device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.#device.createCommandEncoder({ label: "profile readback" });
    enc.resolveQuerySet(this.#set, 0, 2 * n, this.#resolve, 0);
    enc.copyBufferToBuffer(this.#resolve, 0, staging, 0, bytes);
    this.#device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    const out = this.#labels.map((l, i) => ({
      ...l,
      ms: t[2 * i + 1] >= t[2 * i] ? Number(t[2 * i + 1] - t[2 * i]) / 1e6 : 0,
    }));
    this.#labels.length = 0;
    return out;
  }

  destroy(): void {
    this.#set.destroy();
    this.#resolve.destroy();
  }
}

/** Dispatch timings summed by kernel, the costliest first. */
export function kernelShares(timings: readonly DispatchTiming[]): KernelShare[] {
  const by = new Map<string, { dispatches: number; ms: number }>();
  for (const t of timings) {
    const e = by.get(t.kernel) ?? { dispatches: 0, ms: 0 };
    e.dispatches++;
    e.ms += t.ms;
    by.set(t.kernel, e);
  }
  const total = timings.reduce((s, t) => s + t.ms, 0);
  return [...by.entries()]
    .map(([kernel, e]) => ({ kernel, ...e, share: total > 0 ? e.ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
}
