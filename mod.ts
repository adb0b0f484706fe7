/**
 * webgpu-vae: variational autoencoders on MNIST, every numerical step a
 * handwritten WGSL compute shader dispatched through Deno's WebGPU.
 *
 * @module
 */

export { BufferTooLargeError, Gpu, KernelError, Recorder, type Tensor } from "./src/gpu/gpu.ts";
export { NoAdapterError } from "./src/gpu/device.ts";
export { grid1d, workgroupsFor } from "./src/gpu/grid.ts";
export { struct } from "./src/gpu/uniform.ts";
export { Activation, type ActivationKind } from "./src/ops/activation.ts";
