/**
 * The likelihood seam: everything a VAE needs to know about p(x | z) beyond its networks.
 * One file per likelihood under src/likelihood/ (bernoulli.ts, gaussian.ts, beta.ts,
 * categorical.ts) builds one of these; registry.ts finds them by name. The GPU pieces follow
 * one contract per direction (src/ops/likelihood_loss.ts, src/ops/likelihood_output.ts), so a
 * new likelihood is a TS file, its kernels (kernels/<name>_kl_forward.wgsl,
 * <name>_kl_backward.wgsl, <name>_output.wgsl), its f64 per-pixel reference and its tests.
 */

import type { GatherMode } from "../data/gpu_dataset.ts";
import type { PixelReference } from "../reference/likelihood_kl.ts";

/** The conv VAE's four likelihoods (the course's); the blog preset's "mse" is not one of them. */
export type LikelihoodName = "bernoulli" | "gaussian" | "beta" | "categorical";

/**
 * What the gather makes of the u8 pixels p, i.e. the data the loss and the encoder see:
 * binary x = [p > 127] (static) or x ~ Bernoulli(p / 255) (dynamic); dequantized
 * y = (p + u) / 256 with u ~ U(0, 1) fresh per use; bins, the bin centre (j + 0.5) / k of
 * j = floor(p k / 256); grey, the grey levels p / 255 themselves.
 */
export type DataMode = "binary" | "dequantized" | "bins" | "grey";

/**
 * A decoder's output distribution p(x | z): its name and constants, the decoder head's width,
 * the kernels that score and sample it, the data it models, and its f64 reference.
 */
export interface Likelihood {
  /** The name tasks, checkpoints and likelihoodByName use. */
  readonly name: LikelihoodName | "mse";
  /** Head numbers per pixel (W): the decoder's last layer has 784 W outputs. */
  readonly width: number;
  /** The integer constant the kernels read (bins k for Categorical; 0 for the others). */
  readonly k: number;
  /** Constants stored in checkpoints and metrics (e.g. { bins: 4 }); {} if none. */
  readonly constants: Record<string, number>;
  /** Kernel file prefix: kernels/<kernel>_kl_forward.wgsl and so on. */
  readonly kernel: string;
  /** What the gather makes of the pixels for this likelihood (see DataMode). */
  readonly data: DataMode;
  /** The data space in words, for tables ("binary pixels", "8-bit grey levels ..."). */
  readonly dataSpace: string;
  /** A density on (0, 1): its NLL also reads as bits per dimension of the 8-bit image. */
  readonly continuous: boolean;
  /** Random numbers one sample reads per pixel. */
  readonly noise: { normals: number; uniforms: number };
  /** The per-pixel f64 reference of the kernels. */
  readonly reference: PixelReference;
  /** Anything a reader of the metrics must know (e.g. a bound on the shapes), or "". */
  readonly note: string;
}

/** Bits per dimension of the 8-bit image from a continuous NLL in nats per image on (0, 1)^D. */
export function bitsPerDim(nll: number, pixels = 784): number {
  return (nll + pixels * Math.log(256)) / (pixels * Math.LN2);
}

/** How the trainer's gather makes this likelihood's data (Bernoulli: as `binarize` says). */
export function gatherModeFor(
  lik: Likelihood,
  binarize: "static" | "dynamic" | "none",
): { mode: GatherMode; bins: number } {
  switch (lik.data) {
    case "binary":
      return { mode: binarize, bins: 0 };
    case "dequantized":
      return { mode: "dequantize", bins: 0 };
    case "bins":
      return { mode: "bins", bins: lik.k };
    case "grey":
      return { mode: "none", bins: 0 };
  }
}

/** Whether gathering in `mode` reads fresh uniform noise. */
export function gatherNeedsNoise(mode: GatherMode): boolean {
  return mode === "dynamic" || mode === "dequantize";
}

/**
 * The binarization a run of this likelihood uses: the flag's (static by default; "none" for a
 * Bernoulli term on grey levels, the notebook preset's soft BCE) for binary data, "none" for the
 * others, whose data the likelihood itself decides.
 */
export function binarizeFor(
  lik: Pick<Likelihood, "data">,
  flag: "static" | "dynamic" | "none" | undefined,
): "static" | "dynamic" | "none" {
  return lik.data === "binary" ? flag ?? "static" : "none";
}
