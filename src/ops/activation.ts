/**
 * Elementwise activations on the GPU: tanh, ReLU, LeakyReLU(slope), sigmoid.
 * Kernels: kernels/activation_forward.wgsl, kernels/activation_backward.wgsl.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { vec4Tensor } from "../gpu/tensor.ts";
import { struct } from "../gpu/uniform.ts";

/** The activations the kernels implement, by the names configs and checkpoints use. */
export const ACTIVATIONS = ["tanh", "relu", "leaky_relu", "sigmoid"] as const;
/** One of ACTIVATIONS. */
export type ActivationKind = typeof ACTIVATIONS[number];
/** The ACT override of the activation kernels (and of the linear forward kernels' epilogue). */
export const ACTIVATION_CODE: Record<ActivationKind, number> = {
  tanh: 0,
  relu: 1,
  leaky_relu: 2,
  sigmoid: 3,
};

/** Mirror of `struct Shape` in activation_{forward,backward}.wgsl. */
export const ActivationShape = struct({ n: "u32", slope: "f32" });

/** One elementwise activation over n elements: y = f(x) forward, dX = f'(x) dY backward. */
export class Activation {
  /** Which function f is. */
  readonly kind: ActivationKind;
  /** Elements per call (the whole tensor, e.g. N * features). */
  readonly n: number;
  readonly #gpu: Gpu;
  readonly #fwd: Kernel;
  readonly #bwd: Kernel;
  readonly #shape: GPUBuffer;

  private constructor(
    gpu: Gpu,
    kind: ActivationKind,
    n: number,
    slope: number,
    fwd: Kernel,
    bwd: Kernel,
  ) {
    this.#gpu = gpu;
    this.kind = kind;
    this.n = n;
    this.#fwd = fwd;
    this.#bwd = bwd;
    this.#shape = gpu.uniform(ActivationShape, { n, slope });
  }

  /** An activation over `n` elements; `slope` is LeakyReLU's negative slope. */
  static async create(
    gpu: Gpu,
    kind: ActivationKind,
    n: number,
    slope = 0.01,
  ): Promise<Activation> {
    const constants = { WG: 256, ACT: ACTIVATION_CODE[kind] };
    const [fwd, bwd] = await Promise.all([
      gpu.kernel("activation_forward", constants),
      gpu.kernel("activation_backward", constants),
    ]);
    return new Activation(gpu, kind, n, slope, fwd, bwd);
  }

  /** y = act(x). x, y: (n). */
  forward(rec: Recorder, y: Tensor, x: Tensor): void {
    const group = this.#gpu.bind(this.#fwd, [this.#shape, this.#vec4("x", x), this.#vec4("y", y)]);
    rec.dispatchItems(this.#fwd, group, Math.ceil(this.n / 4));
  }

  /**
   * dX = dY * act'(.), from the forward's output y (tanh, sigmoid) or input x
   * (ReLU, LeakyReLU): pass whichever the forward saved as `saved`. dX must not alias dY
   * (WebGPU forbids a writable binding that overlaps another).
   */
  backward(rec: Recorder, dX: Tensor, dY: Tensor, saved: Tensor): void {
    const v = (what: string, t: Tensor) => this.#vec4(what, t);
    const group = this.#gpu.bind(this.#bwd, [
      this.#shape,
      v("saved", saved),
      v("dY", dY),
      v("dX", dX),
    ]);
    rec.dispatchItems(this.#bwd, group, Math.ceil(this.n / 4));
  }

  #vec4(what: string, t: Tensor): Tensor {
    return vec4Tensor("Activation", what, t, this.n);
  }
}
