/** What the conv planners' tests share: made-up adapters and the course's conv layers. */

import type { Conv2dOptions } from "../src/ops/conv2d_variant.ts";
import type {
  ConvTranspose2dOptions,
  ConvTransposeAdapter,
} from "../src/ops/conv_transpose2d_variant.ts";

export const BIG = 2 ** 31 - 4;
/** Made-up adapters: the traits the planners read, as a Gpu would report them. */
export const ADAPTERS = {
  lavapipe: { variants: "software", subgroupSize: 8, limits: { maxStorageBufferBindingSize: BIG } },
  cpuNoSubgroups: {
    variants: "software",
    subgroupSize: null,
    limits: { maxStorageBufferBindingSize: BIG },
  },
  cpuWideSubgroups: {
    variants: "software",
    subgroupSize: 16,
    limits: { maxStorageBufferBindingSize: BIG },
  },
  gpu: { variants: "hardware", subgroupSize: 32, limits: { maxStorageBufferBindingSize: BIG } },
  /** VAE_VARIANTS=hardware on lavapipe. */
  gpuPicksOnLavapipe: {
    variants: "hardware",
    subgroupSize: 8,
    limits: { maxStorageBufferBindingSize: BIG },
  },
} as const satisfies Record<string, ConvTransposeAdapter>;

/** The course's encoder (src/conv/conv_net.ts) at batch n. */
export const encoder = (n: number): Conv2dOptions[] => [
  { batch: n, inChannels: 1, outChannels: 32, height: 28, width: 28, kernel: 5, pad: 2 },
  { batch: n, inChannels: 32, outChannels: 64, height: 14, width: 14, kernel: 5, pad: 2 },
  { batch: n, inChannels: 64, outChannels: 128, height: 7, width: 7, kernel: 3, pad: 1 },
];
/** The course's decoder with a 16-wide latent at batch n: k5 s2 p1 from 1, 3, 7 and 15 wide. */
export const decoder = (n: number): ConvTranspose2dOptions[] =>
  ([[16, 128, 1], [128, 64, 3], [64, 32, 7], [32, 1, 15]] as const).map(([ic, oc, size]) => ({
    batch: n,
    inChannels: ic,
    outChannels: oc,
    height: size,
    width: size,
    kernel: 5,
    stride: 2,
    pad: 1,
  }));
