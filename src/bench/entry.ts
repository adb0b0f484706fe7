/**
 * What one line of the bench's results holds (an entry of bench.json, a row of its table), and
 * the reference points from the issues that some entries are compared with.
 */

/** The bench's groups, in the order they run and print; --only picks some. */
export const GROUPS = ["matmul", "mlp", "conv", "convt", "kernels", "conv-vae"] as const;
export type Group = typeof GROUPS[number];

export interface Reference {
  what: string;
  source: string;
  value: number;
  unit: "images/s" | "GFLOP/s";
  /** Ours over theirs. */
  ratio: number;
}

export interface Entry {
  name: string;
  group: Group;
  adapter: string;
  /** The wgpu backend ("vulkan", "gl", "unknown") and the driver's release, e.g. "Mesa 25.0.7". */
  backend?: string;
  driver?: string | null;
  images_per_s?: number;
  gflops?: number;
  gbps?: number;
  /** Milliseconds per repetition (per training step for the training entries). */
  ms?: number;
  /** Timed repetitions (training steps). */
  iters: number;
  shape?: string;
  variant?: string;
  /**
   * On a software adapter, this process's share of all CPUs while the entry ran (warm-up
   * included): well below 1 means other processes took CPU time, or the kernel did not fill
   * the cores.
   */
  cpu_share?: number;
  note?: string;
  refs?: Reference[];
}

/**
 * The issues' measurements (#2, #3) on the 2-core machine where the lavapipe numbers come from:
 * a ratio to them means something only there.
 */
export const REFS = {
  torchMlp: { what: "MLP VAE training", source: "PyTorch CPU, OpenBLAS, 2 threads", value: 21_000 },
  tfjsMlp: { what: "MLP VAE training (similar)", source: "tfjs WebGPU, lavapipe", value: 270 },
  torchConv: { what: "conv VAE training", source: "PyTorch CPU, OpenBLAS, 2 threads", value: 700 },
  tfjsConv: { what: "conv 32->64 5x5 fwd+bwd", source: "tfjs WebGPU, lavapipe", value: 1.2 },
};

/** One of REFS with our number's ratio to it. */
export function reference(
  r: { what: string; source: string; value: number },
  unit: Reference["unit"],
  ours: number,
): Reference {
  return { ...r, unit, ratio: ours / r.value };
}
