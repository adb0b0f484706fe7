/**
 * Fully connected layer on the GPU, PyTorch layout: y = x w^T + b and its gradients.
 * Kernels, one per direction in three variants:
 * - "subgroup" (the same names with `_subgroup`): a workgroup is one 8-lane subgroup and keeps
 *   a 32 x 32 block of outputs in registers, each lane loading its share of the rows every lane
 *   needs and taking the rest from the others with subgroupBroadcast. What lavapipe on an
 *   AVX2 CPU wants.
 * - "blocked" (kernels/linear_forward.wgsl, linear_backward_input.wgsl,
 *   linear_backward_weight.wgsl): each invocation keeps a 16 x 16 block of outputs in
 *   registers, no workgroup memory, no barriers. What a CPU adapter without subgroups wants.
 * - "tiled" (the same names with `_tiled`): 64 x 64 workgroup tiles staged in workgroup
 *   memory between barriers. What a discrete GPU wants.
 * The bias gradient is fused into the weight-gradient kernel in every variant: it sums the
 * dy values that kernel already reads, which is free there and saves a dispatch (about
 * 0.27 ms each on lavapipe). Except where the subgroup variant takes the weight gradient
 * transposed (LINEAR_TRANSPOSED_GRAD_MIN_K, _MIN_M): dW = dY^T x is then the forward kernel's product of
 * dY^T (M, N) and x^T (K, N), made by kernels/transpose.wgsl, and
 * kernels/conv_transpose2d_backward_reduce.wgsl sums dY's rows into dB.
 * Activations fuse in the same way (LinearOptions.activation, inputActivation): the forward
 * kernels' epilogue can apply one, and the input-gradient kernels' its derivative for the layer
 * below, which saves the MLP two separate elementwise dispatches per hidden layer.
 */

import {
  type Constants,
  type Gpu,
  type Kernel,
  KERNEL_SUBGROUP_LANES,
  type Recorder,
  requireKernelSubgroups,
  type Tensor,
} from "../gpu/gpu.ts";
import { tensorRange, vec4Tensor } from "../gpu/tensor.ts";
import { workgroupsFor } from "../gpu/grid.ts";
import { struct } from "../gpu/uniform.ts";
import { Transpose } from "./transpose.ts";
import { ACTIVATION_CODE, type ActivationKind } from "./activation.ts";

/**
 * The matrix-product kernels: 8-lane subgroup broadcasts (lavapipe on AVX2), register blocks
 * without barriers (other CPU adapters), or shared-memory tiles (GPUs); see linearVariantFor.
 */
export type LinearVariant = "subgroup" | "blocked" | "tiled";

/** Every LinearVariant, for tests and benches that cover them all. */
export const LINEAR_VARIANTS: readonly LinearVariant[] = ["subgroup", "blocked", "tiled"];

/** Mirror of `struct Shape` in linear_forward{,_tiled,_subgroup}.wgsl. */
export const LinearForwardShape = struct({ n: "u32", k: "u32", m: "u32", slope: "f32" });

/** Mirror of `struct Shape` in linear_backward_{input,weight}{,_tiled,_subgroup}.wgsl. */
export const LinearBackwardShape = struct({
  n: "u32",
  k: "u32",
  m: "u32",
  accumulate: "u32",
  slope: "f32",
});

/** Output block edge of the subgroup and blocked kernels, output tile edge of the tiled ones. */
const SUBGROUP_BLOCK = 32;
const BLOCK = 16;
const TILE = 64;

/**
 * The subgroup variant computes dW = dY^T x as a forward product of the transposed operands
 * (overwriting only) where the inner dimension K is at least this. Its own weight-gradient
 * kernel walks x and dY eight rows at a time, a page apart for wide rows, where the forward
 * kernel streams along rows. 2-core Zen 4 EPYC, Mesa 25.0.7, ms per backward_weight, own kernel
 * | transposes + forward (the transposes' share): 1024^3 70.3 | 53.1 (7.0); 200x784->500 10.5 |
 * 9.3 (4.2); 200x500->784 11.8 | 9.4 (4.2); 2304x128->1600 38.7 | 28.3 (8.4); but 12544x64->800
 * 39.9 | 43.7 (17.4).
 */
export const LINEAR_TRANSPOSED_GRAD_MIN_K = 128;

/**
 * ... and where the outputs M (the rows of dW) are at least this. A few rows leave the forward
 * kernel's 32-row blocks mostly empty, and the transposes and the bias sum are three dispatches
 * around little work: the MLP's 500 -> 4 head, batch 200, takes 0.33 ms with the own kernel
 * against 0.56 ms for the four dispatches (--profile of one training step, 2-core machine,
 * load average ~2.5), 1.5x in the standalone bench. For the MLP's wide layers (200x784->500,
 * 200x500->784) the measurements disagree within the noise of the shared machine: standalone
 * the own kernel took 4.6 ms against 5.0-5.5 and 4.3; inside a profiled step 8.5 ms against
 * 7.7 under a load of ~2.5; whole bench steps, 5 of 6 pairs favoured the own kernel by ~8%.
 * So they keep the transposed path, as the measurements above chose.
 */
export const LINEAR_TRANSPOSED_GRAD_MIN_M = 128;

/** The most memory each of the transposed weight gradient's two scratch tensors may take. */
const TRANSPOSED_GRAD_BUDGET = 64 * 1024 * 1024;

/**
 * Mirror of `struct Shape` in conv_transpose2d_backward_reduce.wgsl, whose sum over `chunks`
 * rows of `len` numbers is dB = the sum of dY's N rows in the transposed weight gradient.
 */
const RowSumShape = struct({ len: "u32", chunks: "u32" });

/** The subgroup kernels are written for subgroups of exactly this many lanes. */
export const LINEAR_SUBGROUP_LANES = KERNEL_SUBGROUP_LANES;
/**
 * Invocations per workgroup of the blocked kernels: one SIMD group of lavapipe (8 lanes). 8, 16
 * and 64 cost the same CPU time there, and small groups split the MLP's few hundred blocks
 * evenly over the worker threads; with 8, the MLP's 13-block layers (500 -> 4, 4 -> 500 and
 * their backward passes) run as 2 workgroups on 2 cores instead of 1 (measured in the bench's
 * --profile: 1.4 -> 0.8 ms and 1.6 -> 1.0 ms per dispatch on the 2-core EPYC).
 */
const BLOCKED_WG = 8;

/**
 * The variant to use on this adapter, chosen by measurement.
 *
 * lavapipe (llvmpipe, Mesa 22.3, LLVM 15, 256-bit SIMD; 2 cores shared with other jobs, so
 * GFLOP/s are FLOPs over the process's CPU time spread on 2 cores, i.e. the wall-clock rate
 * of an idle machine; idle wall-clock runs agreed within ~10%, e.g. 1024^3 forward 22.5):
 *
 *   N x K -> M            pass              blocked   tiled
 *   1024 x 1024 -> 1024   forward             23.9      5.5
 *                         backward_input      24.3      5.2
 *                         backward_weight     20.8      4.5
 *   200 x 784 -> 500      forward             25.5      4.3
 *                         backward_input      24.0      3.9
 *                         backward_weight     18.5      3.6
 *   200 x 500 -> 784      forward             25.5      3.8
 *                         backward_input      22.6      3.9
 *                         backward_weight     17.7      3.9
 *
 * So lavapipe gets "blocked" (or "subgroup", below). There every storage or workgroup load is a
 * scalar loop over the 8 SIMD lanes (a vec4 load costs about 2.7 cycles per float; an FMA over 8
 * lanes ~0.5 cycle) and a barrier is a coroutine switch, so staging tiles in workgroup memory only
 * adds loads; the speed is set by outputs per load. Forward block sizes (rows x columns per
 * invocation, same measure): 4x4 9.3, 8x8 15.7, 12x12 20.8, 16x16 23.9, 20x16 21.5, 24x16 22.6; the same
 * blocks written as loops over local arrays: 4x4 6.3, 8x8 5.7 (llvmpipe keeps such arrays in
 * memory). Each dispatch also costs ~0.27 ms there, whatever its size.
 *
 * Where lavapipe has 8-lane subgroups (AVX2; Deno grants the "subgroups" feature though the
 * adapter does not list it) it gets "subgroup": "blocked" has all 8 lanes of a SIMD register
 * load the same x rows, 8 loads for one useful value, where the subgroup kernels load each
 * row once and broadcast it. Forward, the standalone kernel at a time, on the 2-core AMD EPYC
 * (AVX2) with Mesa 25.0.7 lavapipe (Vulkan), wall clock, 10 dispatches per submit:
 *
 *   N x K -> M            blocked 16 x 16   subgroup 32 rows x 32 columns
 *   1024 x 1024 -> 1024      ~21 GFLOP/s      ~50 GFLOP/s
 *   200 x 784 -> 500         ~14              ~36 (11.1 -> 4.4 ms)
 *
 * with 32 x 32 the fastest of the shapes tried (rows x columns per lane: 16 x 16 33, 16 x 8 40,
 * 8 x 8 32, 24 x 4 47, 32 x 4 50, 48 x 4 44, 64 x 4 40, 32 x 2 41 GFLOP/s at 1024^3).
 *
 * Other adapters (discrete GPUs) get "tiled": it could not be measured here (no GPU on this
 * machine). It is the standard shared-memory layout GPUs reward (coalesced global reads,
 * each staged value reused 64 times from workgroup memory), while "blocked" would need 256
 * accumulators per invocation (more registers than a GPU thread has) and has neighbouring
 * invocations read rows far apart (uncoalesced).
 */
export function linearVariantFor(gpu: Gpu): LinearVariant {
  if (gpu.variants === "hardware") return "tiled";
  return gpu.subgroupSize === LINEAR_SUBGROUP_LANES ? "subgroup" : "blocked";
}

/** The shapes of a Linear: x (N, K), w (M, K), b (M), y (N, M). */
export interface LinearOptions {
  /** N, rows per batch. */
  batch: number;
  /** K, input features. */
  inFeatures: number;
  /** M, output features. */
  outFeatures: number;
  /** Kernel variant; `linearVariantFor(gpu)` when left out. */
  variant?: LinearVariant;
  /**
   * An activation the forward applies to its output, y = act(x w^T + b), in the same kernel:
   * one dispatch fewer than a separate Activation (0.25-1 ms each in the MLP's training step on
   * lavapipe). The backward still takes dY as the gradient of x w^T + b. Default: none.
   */
  activation?: ActivationKind;
  /**
   * The activation that made x (the previous layer's), whose derivative the input gradient
   * then applies in the same kernel: backwardInput writes dX = (dY w) * act'(x), the gradient
   * of that activation's input, from x itself (its output; ReLU-like activations from its
   * sign, so their slope must not be negative). Default: none.
   */
  inputActivation?: ActivationKind;
  /** LeakyReLU's negative slope, for both activations (default 0.01). */
  slope?: number;
}

/**
 * A fully connected layer's kernels for fixed shapes: y = x w^T + b forward, and the gradients
 * to x, w and b. x (N, K), w (M, K) as PyTorch stores it, b (M), y (N, M).
 */
export class Linear {
  /** N, K and M of the layout comments: x is (N, K), w is (M, K), y is (N, M). */
  readonly batch: number;
  /** K, input features. */
  readonly inFeatures: number;
  /** M, output features. */
  readonly outFeatures: number;
  /** The kernels in use (given, or picked by linearVariantFor). */
  readonly variant: LinearVariant;
  /** The activation fused into the forward, or null. */
  readonly activation: ActivationKind | null;
  /** The activation of x whose derivative backwardInput applies, or null. */
  readonly inputActivation: ActivationKind | null;
  readonly #gpu: Gpu;
  readonly #fwd: Kernel;
  readonly #bwdInput: Kernel;
  readonly #bwdWeight: Kernel;
  readonly #fwdShape: GPUBuffer;
  /** One uniform per accumulate flag: uniform writes land before the submit, so one step may
   * record both flags only if each has its own buffer. */
  readonly #bwdShape: [GPUBuffer, GPUBuffer];
  /**
   * Whether backwardWeight (overwriting) runs transposed, as the forward kernel's product
   * (LINEAR_TRANSPOSED_GRAD_MIN_K and _MIN_M; the subgroup variant, where its scratch fits).
   */
  readonly transposedWeightGrad: boolean;
  readonly #tgrad: TransposedGrad | null;
  /** Where the fused weight-gradient kernel writes dB when the caller wants none (dB null). */
  readonly #dbScratch: GPUBuffer;

  private constructor(
    gpu: Gpu,
    opts: Required<Omit<LinearOptions, "activation" | "inputActivation">> & {
      activation: ActivationKind | null;
      inputActivation: ActivationKind | null;
    },
    kernels: [Kernel, Kernel, Kernel],
    tgrad: TransposedGrad | null,
  ) {
    this.#tgrad = tgrad;
    this.transposedWeightGrad = tgrad !== null;
    this.#gpu = gpu;
    this.batch = opts.batch;
    this.inFeatures = opts.inFeatures;
    this.outFeatures = opts.outFeatures;
    this.variant = opts.variant;
    this.activation = opts.activation;
    this.inputActivation = opts.inputActivation;
    [this.#fwd, this.#bwdInput, this.#bwdWeight] = kernels;
    const [n, k, m] = [opts.batch, opts.inFeatures, opts.outFeatures];
    this.#fwdShape = gpu.uniform(LinearForwardShape, { n, k, m, slope: opts.slope });
    this.#bwdShape = [
      gpu.uniform(LinearBackwardShape, { n, k, m, accumulate: 0, slope: opts.slope }),
      gpu.uniform(LinearBackwardShape, { n, k, m, accumulate: 1, slope: opts.slope }),
    ];
    this.#dbScratch = gpu.storage("linear unwanted dB", m * 4);
  }

  /** Compiles the variant's kernels for these shapes; RangeError on a bad shape. */
  static async create(gpu: Gpu, opts: LinearOptions): Promise<Linear> {
    for (const key of ["batch", "inFeatures", "outFeatures"] as const) {
      const v = opts[key];
      if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) {
        throw new RangeError(`Cannot create Linear: ${key} must be a positive integer, got ${v}`);
      }
    }
    const variant = opts.variant ?? linearVariantFor(gpu);
    if (!LINEAR_VARIANTS.includes(variant)) {
      throw new RangeError(
        `Cannot create Linear: variant must be one of ${
          LINEAR_VARIANTS.map((v) => `"${v}"`).join(", ")
        }, got "${variant}"`,
      );
    }
    if (variant === "subgroup") requireKernelSubgroups(gpu, 'Linear: variant "subgroup"');
    const { inFeatures: k, outFeatures: m } = opts;
    // Every row of every vec4-read operand starts on a 16-byte boundary. The subgroup kernels
    // take a flag per operand (an odd K leaves dY's rows whole), the blocked ones one for all.
    const kRows = Number(k % 4 === 0), mRows = Number(m % 4 === 0);
    const pass = (name: string, vec4: Constants, more: Constants = {}): Promise<Kernel> =>
      variant === "tiled"
        ? gpu.kernel(`${name}_tiled`, more)
        : variant === "subgroup"
        ? gpu.kernel(`${name}_subgroup`, { ...vec4, ...more })
        : gpu.kernel(name, { WG: BLOCKED_WG, VEC4: Math.min(...Object.values(vec4)), ...more });
    const activation = opts.activation ?? null;
    const act: Constants = activation === null ? {} : { ACT: ACTIVATION_CODE[activation] };
    const inputActivation = opts.inputActivation ?? null;
    if (
      inputActivation !== null && (opts.slope ?? 0.01) < 0 && inputActivation !== "tanh" &&
      inputActivation !== "sigmoid"
    ) {
      throw new RangeError(
        `Cannot create Linear: inputActivation "${inputActivation}" is differentiated from its ` +
          `output's sign, which needs a slope >= 0, got ${opts.slope}`,
      );
    }
    const dact: Constants = inputActivation === null
      ? {}
      : { ACT: ACTIVATION_CODE[inputActivation] };
    const kernels = await Promise.all([
      pass("linear_forward", { VEC4: kRows }, act),
      pass("linear_backward_input", { DY_VEC4: mRows, W_VEC4: kRows }, dact),
      pass("linear_backward_weight", { DY_VEC4: mRows, X_VEC4: kRows }),
    ]);
    const { batch: n } = opts;
    // Its scratch holds dY and x transposed: only where both fit the budget.
    const scratch = Math.max(n * m, n * k) * 4;
    const tgrad = variant === "subgroup" && k >= LINEAR_TRANSPOSED_GRAD_MIN_K &&
        opts.outFeatures >= LINEAR_TRANSPOSED_GRAD_MIN_M &&
        scratch <= Math.min(gpu.limits.maxStorageBufferBindingSize, TRANSPOSED_GRAD_BUDGET)
      ? {
        forward: await pass("linear_forward", { VEC4: Number(n % 4 === 0) }),
        biasGrad: await gpu.kernel("conv_transpose2d_backward_reduce", { WG: 64 }),
        dyT: await Transpose.create(gpu, 1, n, m),
        xT: await Transpose.create(gpu, 1, n, k),
        fwdShape: gpu.uniform(LinearForwardShape, { n: m, k: n, m: k, slope: 0 }),
        biasShape: gpu.uniform(RowSumShape, { len: m, chunks: n }),
        dyTBuf: gpu.storage("linear dY transposed", n * m * 4),
        xTBuf: gpu.storage("linear x transposed", n * k * 4),
        zeros: gpu.storage("linear zero bias (transposed dW)", k * 4),
      }
      : null;
    const all = { ...opts, variant, activation, inputActivation, slope: opts.slope ?? 0.01 };
    return new Linear(gpu, all, kernels as [Kernel, Kernel, Kernel], tgrad);
  }

  /** y = x w^T + b, or act(x w^T + b) with an activation. y: (N, M), x: (N, K), w: (M, K), b: (M). */
  forward(rec: Recorder, y: Tensor, x: Tensor, w: Tensor, b: Tensor): void {
    const { batch: n, inFeatures: k, outFeatures: m } = this;
    const group = this.#gpu.bind(this.#fwd, [
      this.#fwdShape,
      _vec4("x", x, n * k),
      _vec4("w", w, m * k),
      _f32("b", b, m),
      _f32("y", y, n * m),
    ]);
    this.#dispatch(rec, this.#fwd, group, n, m);
  }

  /**
   * dX = dY w, dW = dY^T x, dB = sum over the batch of dY; with `accumulate` the gradients
   * are added into dX, dW and dB instead of overwriting them (for a tensor that feeds two
   * paths). dX null skips the input gradient (a first layer needs none). With an
   * inputActivation, dX is times its derivative (see backwardInput).
   * dX: (N, K) or null, dW: (M, K), dB: (M), dY: (N, M), x: (N, K), w: (M, K).
   * Outputs must live in other buffers than the inputs (WebGPU forbids a writable binding
   * of a buffer that is also bound read-only).
   */
  backward(
    rec: Recorder,
    dX: Tensor | null,
    dW: Tensor,
    dB: Tensor,
    dY: Tensor,
    x: Tensor,
    w: Tensor,
    opts: { accumulate?: boolean } = {},
  ): void {
    if (dX !== null) this.backwardInput(rec, dX, dY, w, { ...opts, x });
    this.backwardWeight(rec, dW, dB, dY, x, opts);
  }

  /**
   * dX = dY w (one dispatch), or with an inputActivation dX = (dY w) * act'(x), which needs
   * `opts.x`, the layer's input. dX: (N, K), dY: (N, M), w: (M, K), x: (N, K).
   */
  backwardInput(
    rec: Recorder,
    dX: Tensor,
    dY: Tensor,
    w: Tensor,
    opts: { accumulate?: boolean; x?: Tensor } = {},
  ): void {
    const { batch: n, inFeatures: k, outFeatures: m } = this;
    if (this.inputActivation !== null && opts.x === undefined) {
      throw new TypeError(
        `Cannot record Linear.backwardInput: its inputActivation "${this.inputActivation}" ` +
          "needs the layer's input x, and none was given",
      );
    }
    const group = this.#gpu.bind(this.#bwdInput, [
      this.#bwdShape[opts.accumulate ? 1 : 0],
      _vec4("dY", dY, n * m),
      _vec4("w", w, m * k),
      _f32("dX", dX, n * k),
      // Read only with an inputActivation; otherwise any buffer will do.
      this.inputActivation === null ? this.#dbScratch : _f32("x", opts.x!, n * k),
    ]);
    this.#dispatch(rec, this.#bwdInput, group, n, k);
  }

  /**
   * dW = dY^T x and dB = sum over the batch of dY (one dispatch).
   * dW: (M, K), dB: (M) or null where no bias gradient is wanted, dY: (N, M), x: (N, K).
   */
  backwardWeight(
    rec: Recorder,
    dW: Tensor,
    dB: Tensor | null,
    dY: Tensor,
    x: Tensor,
    opts: { accumulate?: boolean } = {},
  ): void {
    const { batch: n, inFeatures: k, outFeatures: m } = this;
    const t = this.#tgrad;
    if (t && !opts.accumulate) {
      // dW (M, K) = dY^T (M, N) times (x^T (K, N))^T: the forward kernel with N inner.
      _f32("dY", dY, n * m);
      _f32("x", x, n * k);
      _f32("dW", dW, m * k);
      if (dB !== null) _f32("dB", dB, m);
      t.dyT.run(rec, t.dyTBuf, dY);
      t.xT.run(rec, t.xTBuf, x);
      const gpu = this.#gpu;
      const group = gpu.bind(t.forward, [t.fwdShape, t.dyTBuf, t.xTBuf, t.zeros, dW]);
      this.#dispatch(rec, t.forward, group, m, k);
      if (dB !== null) {
        rec.dispatchItems(t.biasGrad, gpu.bind(t.biasGrad, [t.biasShape, dY, dB]), m);
      }
      return;
    }
    const group = this.#gpu.bind(this.#bwdWeight, [
      this.#bwdShape[opts.accumulate ? 1 : 0],
      _vec4("dY", dY, n * m),
      _vec4("x", x, n * k),
      _f32("dW", dW, m * k),
      _f32("dB", dB ?? this.#dbScratch, m),
    ]);
    this.#dispatch(rec, this.#bwdWeight, group, m, k);
  }

  /** Frees the uniform and scratch buffers; the kernels stay cached on the Gpu. */
  destroy(): void {
    for (const b of [this.#fwdShape, ...this.#bwdShape, this.#dbScratch]) b.destroy();
    const t = this.#tgrad;
    if (t) {
      t.dyT.destroy();
      t.xT.destroy();
      for (const b of [t.fwdShape, t.biasShape, t.dyTBuf, t.xTBuf, t.zeros]) b.destroy();
    }
  }

  /**
   * One dispatch covering a (rows, cols) output: a 32 x 32 block per subgroup workgroup, a
   * 16 x 16 block per blocked invocation or a 64 x 64 tile per tiled workgroup.
   */
  #dispatch(rec: Recorder, kernel: Kernel, group: GPUBindGroup, rows: number, cols: number) {
    if (this.variant === "blocked") {
      rec.dispatchItems(kernel, group, workgroupsFor(rows, BLOCK) * workgroupsFor(cols, BLOCK));
    } else {
      const edge = this.variant === "subgroup" ? SUBGROUP_BLOCK : TILE;
      rec.dispatch(kernel, group, workgroupsFor(rows, edge) * workgroupsFor(cols, edge));
    }
  }
}

/** The subgroup variant's transposed weight gradient: its kernels, shapes and scratch. */
interface TransposedGrad {
  forward: Kernel;
  biasGrad: Kernel;
  dyT: Transpose;
  xT: Transpose;
  fwdShape: GPUBuffer;
  biasShape: GPUBuffer;
  dyTBuf: GPUBuffer;
  xTBuf: GPUBuffer;
  zeros: GPUBuffer;
}

function _f32(what: string, t: Tensor, elems: number): Tensor {
  tensorRange("Linear", what, t, elems);
  return t;
}

function _vec4(what: string, t: Tensor, elems: number): Tensor {
  return vec4Tensor("Linear", what, t, elems);
}
