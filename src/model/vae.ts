/**
 * A VAE on the GPU: an architecture's networks (conv or MLP) under one likelihood. `Vae` owns
 * the flat parameters, gradients, Adam moments and non-trained state; `graph(batch)` gives the
 * ops and activations of one batch size (src/model/vae_graph.ts), built once per size.
 */

import { BufferTooLargeError, type Gpu, type Tensor } from "../gpu/gpu.ts";
import type { Likelihood } from "../likelihood/likelihood.ts";
import type { Architecture, ParamAccess } from "./network.ts";
import type { ParamLayout } from "./params.ts";
import { VaeGraph } from "./vae_graph.ts";

/**
 * A VAE's buffers on one device: parameters, gradients and Adam moments in one layout, and the
 * non-trained state. MlpVae and ConvVae are Vaes with their architecture filled in.
 */
export class Vae implements ParamAccess {
  /** The device all buffers live on. */
  readonly gpu: Gpu;
  /** The networks' kind, layouts and builder. */
  readonly arch: Architecture;
  /** The decoder's output distribution p(x | z). */
  readonly likelihood: Likelihood;
  /** The layout of `params`, `grads`, `m` and `v` (the architecture's `params`). */
  readonly layout: ParamLayout;
  /** Parameters, gradients, Adam's first and second moments: one layout each. */
  readonly params: GPUBuffer;
  /** Gradients of the loss with respect to `params` (same layout). */
  readonly grads: GPUBuffer;
  /** Adam's first moment (same layout). */
  readonly m: GPUBuffer;
  /** Adam's second moment (same layout). */
  readonly v: GPUBuffer;
  /** Non-trained state (batch norm running statistics) and its layout, or null where none. */
  readonly state: { layout: ParamLayout; buffer: GPUBuffer } | null;
  readonly #graphs = new Map<number, Promise<VaeGraph>>();

  /**
   * Uploads `initial.params` (arch.params.total floats) and `initial.state` (arch.state's
   * total, or null) and allocates zeroed gradients and moments. Throws a RangeError on a size
   * mismatch.
   */
  constructor(
    gpu: Gpu,
    arch: Architecture,
    likelihood: Likelihood,
    initial: { params: Float32Array; state: Float32Array | null },
  ) {
    const want = arch.state?.total ?? 0, got = initial.state?.length ?? 0;
    if (initial.params.length !== arch.params.total || got !== want) {
      throw new RangeError(
        `Cannot build the ${arch.kind} VAE: ${initial.params.length} parameters and ${got} ` +
          `state values given, its layout needs ${arch.params.total} and ${want}`,
      );
    }
    this.gpu = gpu;
    this.arch = arch;
    this.likelihood = likelihood;
    this.layout = arch.params;
    const bytes = arch.params.total * 4, limit = gpu.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      // The batch has nothing to do with it: the model itself is too large for one buffer.
      const [big] = [...arch.params.specs].sort((a, b) => b.size - a.size);
      throw new BufferTooLargeError(
        `${arch.kind}.params`,
        bytes,
        limit,
        `The model's parameters are too large for one buffer (the largest, ${big.name}, holds ` +
          `${big.size} numbers${likelihood.k > 1 ? `, ${likelihood.k} per pixel output` : ""}): ` +
          (likelihood.name === "categorical"
            ? `use fewer --bins (at most about ${
              Math.floor(likelihood.k * limit / bytes) - 1
            } fit this device)`
            : "make the model smaller"),
      );
    }
    this.params = gpu.storage(`${arch.kind}.params`, initial.params);
    this.grads = arch.params.allocate(gpu, `${arch.kind}.grads`);
    this.m = arch.params.allocate(gpu, `${arch.kind}.adam_m`);
    this.v = arch.params.allocate(gpu, `${arch.kind}.adam_v`);
    this.state = arch.state && initial.state
      ? { layout: arch.state, buffer: gpu.storage(`${arch.kind}.state`, initial.state) }
      : null;
  }

  /** The architecture's kind ("mlp", "conv"). */
  get kind(): string {
    return this.arch.kind;
  }

  /** L, the latent dimension. */
  get latent(): number {
    return this.arch.latent;
  }

  /** The config stored in and checked against checkpoints: architecture and likelihood. */
  describe(): Record<string, unknown> {
    return {
      ...this.arch.describe(),
      likelihood: this.likelihood.name,
      ...this.likelihood.constants,
    };
  }

  /** The range of `params` holding tensor `name`. */
  p(name: string): Tensor {
    return this.layout.binding(this.params, name);
  }

  /** The range of `grads` holding tensor `name`'s gradient. */
  g(name: string): Tensor {
    return this.layout.binding(this.grads, name);
  }

  /** The range of the state buffer holding `name`; throws where the model has no state. */
  s(name: string): Tensor {
    if (!this.state) throw new Error(`Cannot bind state ${name}: the ${this.kind} VAE has none`);
    return this.state.layout.binding(this.state.buffer, name);
  }

  /** The ops and buffers for batches of `batch` images (built once per size). */
  graph(batch: number): Promise<VaeGraph> {
    let g = this.#graphs.get(batch);
    if (!g) {
      g = VaeGraph.create(this, batch);
      this.#graphs.set(batch, g);
      g.catch(() => this.#graphs.delete(batch));
    }
    return g;
  }
}
