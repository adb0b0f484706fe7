/**
 * A VAE on the GPU: an architecture's networks (conv or MLP) under one likelihood. `Vae` owns
 * the flat parameters, gradients, Adam moments and non-trained state; `graph(batch)` gives the
 * ops and activations of one batch size (src/model/vae_graph.ts), built once per size.
 */

import type { Gpu, Tensor } from "../gpu/gpu.ts";
import type { Likelihood } from "../likelihood/likelihood.ts";
import type { Architecture, ParamAccess } from "./network.ts";
import type { ParamLayout } from "./params.ts";
import { VaeGraph } from "./vae_graph.ts";

export class Vae implements ParamAccess {
  readonly gpu: Gpu;
  readonly arch: Architecture;
  readonly likelihood: Likelihood;
  readonly layout: ParamLayout;
  /** Parameters, gradients, Adam's first and second moments: one layout each. */
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  readonly state: { layout: ParamLayout; buffer: GPUBuffer } | null;
  readonly #graphs = new Map<number, Promise<VaeGraph>>();

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
    this.params = gpu.storage(`${arch.kind}.params`, initial.params);
    this.grads = arch.params.allocate(gpu, `${arch.kind}.grads`);
    this.m = arch.params.allocate(gpu, `${arch.kind}.adam_m`);
    this.v = arch.params.allocate(gpu, `${arch.kind}.adam_v`);
    this.state = arch.state && initial.state
      ? { layout: arch.state, buffer: gpu.storage(`${arch.kind}.state`, initial.state) }
      : null;
  }

  get kind(): string {
    return this.arch.kind;
  }

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

  p(name: string): Tensor {
    return this.layout.binding(this.params, name);
  }

  g(name: string): Tensor {
    return this.layout.binding(this.grads, name);
  }

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
