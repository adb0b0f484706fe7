/**
 * The optimizer over one flat parameter buffer (with its flat gradient and moment buffers), one
 * dispatch per step: Adam as in PyTorch. (Inference without the encoder has its own per-image
 * step, src/ops/psi_step.ts; gradients are cleared by the recorder's buffer clear.)
 * Kernel: kernels/adam.wgsl.
 */

import type { Gpu, Kernel, Recorder, Tensor } from "../gpu/gpu.ts";
import { struct } from "../gpu/uniform.ts";
import { vec4Tensor } from "../gpu/tensor.ts";

/** Mirror of `struct Hyper` in adam.wgsl. */
export const AdamHyper = struct({
  n: "u32",
  lr: "f32",
  beta1: "f32",
  beta2: "f32",
  eps: "f32",
  bias1: "f32",
  bias2: "f32",
  one_minus_beta1: "f32",
  one_minus_beta2: "f32",
});

/** Adam's hyperparameters (PyTorch's names and defaults). */
export interface AdamOptions {
  /** Learning rate (step size), > 0. */
  lr: number;
  /** Decay of the first moment, in [0, 1); default 0.9. */
  beta1?: number;
  /** Decay of the second moment, in [0, 1); default 0.999. */
  beta2?: number;
  /** Added to sqrt(v hat) in the denominator, > 0; default 1e-8. */
  eps?: number;
}

/**
 * Adam with bias correction: m and v are the caller's buffers (a checkpoint saves them with
 * `t`). Each step() records with its own uniform buffer (t, lr and the bias corrections),
 * written once and never again, so several steps may be recorded before one submit: a shared
 * uniform rewritten with queue.writeBuffer would land before the whole submit and give every
 * recorded step the last step's t. Old uniforms are dropped, not destroyed (an unsubmitted
 * recorder may still use one); WebGPU frees them once no command does. Making one costs
 * ~60 us per step on lavapipe. `t` advances when step() records, so a recorder that is
 * dropped unsubmitted leaves `t` one step ahead of the buffers.
 */
export class Adam {
  /** Parameters per step (the length of params, grads, m and v). */
  readonly n: number;
  /** Decay of the first moment. */
  readonly beta1: number;
  /** Decay of the second moment. */
  readonly beta2: number;
  /** Added to sqrt(v hat) in the denominator. */
  readonly eps: number;
  readonly #gpu: Gpu;
  readonly #kernel: Kernel;
  #lr: number;
  #t = 0;

  private constructor(gpu: Gpu, kernel: Kernel, n: number, options: Required<AdamOptions>) {
    this.#gpu = gpu;
    this.#kernel = kernel;
    this.n = n;
    this.#lr = options.lr;
    this.beta1 = options.beta1;
    this.beta2 = options.beta2;
    this.eps = options.eps;
  }

  /** Adam over `n` parameters (PyTorch's defaults: beta1 0.9, beta2 0.999, eps 1e-8). */
  static async create(
    gpu: Gpu,
    n: number,
    { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 }: AdamOptions,
  ): Promise<Adam> {
    _checkCount("Adam", n);
    _checkLr("Adam", lr);
    for (const [name, beta] of [["beta1", beta1], ["beta2", beta2]] as const) {
      if (!(beta >= 0 && beta < 1)) {
        throw new RangeError(`Cannot create Adam: ${name} must be in [0, 1), got ${beta}`);
      }
    }
    if (!(eps > 0 && Number.isFinite(eps))) {
      throw new RangeError(`Cannot create Adam: eps must be positive, got ${eps}`);
    }
    const kernel = await gpu.kernel("adam", { WG: 256 });
    return new Adam(gpu, kernel, n, { lr, beta1, beta2, eps });
  }

  /** Steps taken so far; the next step() uses t + 1 in its bias corrections. */
  get t(): number {
    return this.#t;
  }

  /** Restores the step count from a checkpoint. */
  set t(value: number) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot set Adam step count: expected an integer >= 0, got ${value}`);
    }
    this.#t = value;
  }

  /** The learning rate the next step() uses. */
  get lr(): number {
    return this.#lr;
  }

  /** Takes effect from the next step() recorded. */
  set lr(value: number) {
    _checkLr("Adam", value);
    this.#lr = value;
  }

  /**
   * One Adam step: m, v updated from grads, params moved. params, m, v: (n), read and written;
   * grads: (n), in a buffer other than theirs (a buffer bound writable may not also be bound
   * read-only in the same dispatch).
   */
  step(rec: Recorder, params: Tensor, grads: Tensor, m: Tensor, v: Tensor): void {
    const t = this.#t + 1;
    const hyper = this.#gpu.uniform(AdamHyper, {
      n: this.n,
      lr: this.#lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      bias1: 1 - this.beta1 ** t,
      bias2: 1 - this.beta2 ** t,
      one_minus_beta1: 1 - this.beta1,
      one_minus_beta2: 1 - this.beta2,
    });
    const n = this.n, vec4 = (what: string, x: Tensor) => vec4Tensor("Adam", what, x, n);
    const group = this.#gpu.bind(this.#kernel, [
      hyper,
      vec4("params", params),
      vec4("grads", grads),
      vec4("m", m),
      vec4("v", v),
    ]);
    rec.dispatchItems(this.#kernel, group, Math.ceil(n / 4));
    this.#t = t;
  }
}

function _checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) {
    throw new RangeError(`Cannot create ${what}: n must be a positive u32, got ${n}`);
  }
}

function _checkLr(what: string, lr: number): void {
  if (!(lr > 0 && Number.isFinite(lr))) {
    throw new RangeError(`Cannot use ${what}: lr must be a positive number, got ${lr}`);
  }
}
