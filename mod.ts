/**
 * webgpu-vae: variational autoencoders on MNIST, every numerical step a
 * handwritten WGSL compute shader (kernels/) dispatched through Deno's WebGPU.
 *
 * Train the Kingma & Welling MLP VAE for one epoch and probe it with the
 * course's densities (f64, on the CPU) on a batch of test images:
 *
 * ```ts
 * import { elbo, Gpu, initMlpParams, KINGMA_WELLING, loadMnist, mlpLayout, MlpVae, train } from "./mod.ts";
 * import { GpuDataset, Rng, rngNormal } from "./mod.ts";
 *
 * const gpu = await Gpu.create();
 * const mnist = await loadMnist();
 * const vae = new MlpVae(gpu, KINGMA_WELLING, initMlpParams(mlpLayout(KINGMA_WELLING), 0));
 * const [trainSet, valSet] = await Promise.all([
 *   GpuDataset.create(gpu, mnist.train.images, mnist.train.count),
 *   GpuDataset.create(gpu, mnist.val.images, mnist.val.count),
 * ]);
 * await train({
 *   model: vae, train: trainSet, val: valSet, rng: await Rng.create(gpu),
 *   epochs: 1, batch: 200, lr: 1e-3, seed: 0, binarize: "static", patience: 5,
 *   bestPath: "out/example/model.safetensors", lastPath: "out/example/last.safetensors", resume: null,
 * });
 * const x = Float64Array.from(mnist.test.images.subarray(0, 10 * 784), (p) => (p > 127 ? 1 : 0));
 * console.log("ELBO of 10 test images:", elbo(await vae.parameters(), x, rngNormal(10 * 2, 1, 0), { ...KINGMA_WELLING }));
 * ```
 *
 * Both models take any of the four likelihoods (src/likelihood/), e.g. the course's conv VAE
 * with a Beta decoder: `ConvVae.init(gpu, { latent: 16 }, likelihoodByName("beta"), 0)`; its
 * `graph(batch)` also offers the decoder-only path (decodeMeans, decodeSamples,
 * decoderBackward) that inference without the encoder builds on: `PsiBatch` optimizes each
 * image's own q(z | psi) against the frozen decoder, masked for image completion:
 *
 * ```ts
 * const batch = await PsiBatch.create(vae, testSet, { images: 10, samples: 1 });
 * await batch.load([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * const run = await batch.optimize({ steps: 500, lr: 1e-3, patience: 50, optimizer: "sgd", seed: 0 });
 * const { negElbo } = await batch.estimate(run.psi, 100, 1);
 * ```
 *
 * @module
 */

export {
  BufferTooLargeError,
  EnvError,
  Gpu,
  type GpuOptions,
  KernelError,
  Recorder,
  type Tensor,
  type VariantTarget,
} from "./src/gpu/gpu.ts";
export { NoAdapterError } from "./src/gpu/device.ts";
export { grid1d, workgroupsFor } from "./src/gpu/grid.ts";
export { struct } from "./src/gpu/uniform.ts";

export { DataError, readIdxImages, readIdxLabels } from "./src/data/idx.ts";
export { loadMnist, type Mnist, type Split } from "./src/data/mnist.ts";
export { type BinarizeMode, GpuDataset } from "./src/data/gpu_dataset.ts";
export { permutation } from "./src/data/shuffle.ts";

export { Activation, type ActivationKind } from "./src/ops/activation.ts";
export { Linear, linearVariantFor } from "./src/ops/linear.ts";
export { Conv2d } from "./src/ops/conv2d.ts";
export { ConvTranspose2d } from "./src/ops/conv_transpose2d.ts";
export { BatchNorm2d } from "./src/ops/batchnorm.ts";
export { MaxPool2d } from "./src/ops/maxpool.ts";
export { Rng } from "./src/ops/rng.ts";
export { Reparam } from "./src/ops/reparam.ts";
export { LikelihoodLoss } from "./src/ops/likelihood_loss.ts";
export { LikelihoodOutput } from "./src/ops/likelihood_output.ts";
export { BernoulliSample } from "./src/ops/bernoulli_sample.ts";
export { Adam, Sgd, ZeroGrad } from "./src/ops/optim.ts";
export { PsiStep } from "./src/ops/psi_step.ts";
export { type Estimate, type OptimizeResult, PsiBatch } from "./src/study/psi.ts";

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
} from "./src/mlp/densities.ts";
export {
  initMlpParams,
  KINGMA_WELLING,
  type MlpConfig,
  mlpLayout,
  MlpVae,
} from "./src/mlp/mlp_vae.ts";
export { type ConvConfig, convLayout, ConvVae, initConvParams } from "./src/conv/conv_vae.ts";
export { ParamLayout } from "./src/model/params.ts";
export { Vae } from "./src/model/vae.ts";
export { VaeGraph } from "./src/model/vae_graph.ts";
export type { Architecture, Decoder, Encoder, Mode } from "./src/model/network.ts";
export { bitsPerDim, type Likelihood, type LikelihoodName } from "./src/likelihood/likelihood.ts";
export { likelihoodByName, LIKELIHOODS } from "./src/likelihood/registry.ts";

export { train, TrainingError, type TrainOptions } from "./src/train/trainer.ts";
export { evaluate, importanceNll } from "./src/train/evaluate.ts";
export { loadCheckpoint, loadVae, restore, saveModel } from "./src/train/checkpoint.ts";
export { CheckpointError, loadSafetensors, saveSafetensors } from "./src/safetensors.ts";
export { rngNormal, rngUniform } from "./src/reference/rng.ts";
