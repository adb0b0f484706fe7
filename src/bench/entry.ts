/**
 * What one line of the bench's results holds (an entry of bench.json, a row of its table), and
 * which entries the PyTorch workloads of --torch are compared with.
 */

/**
 * The bench's groups, in the order they run and print; --only picks some. The probe runs first:
 * its FMA peak is what every later GFLOP/s entry is a fraction of.
 */
export const GROUPS = ["probe", "matmul", "mlp", "conv", "convt", "kernels", "conv-vae"] as const;
export type Group = typeof GROUPS[number];

/** The workloads of src/bench/torch_bench.py, each with the entry it is timed against. */
export const TORCH_WORKLOADS = {
  matmul: { group: "matmul", name: "linear forward", shape: "1024x1024->1024", unit: "GFLOP/s" },
  mlp: { group: "mlp", name: "MLP VAE train step", shape: undefined, unit: "images/s" },
  conv: { group: "conv-vae", name: "conv VAE train step", shape: undefined, unit: "images/s" },
} as const;
export type TorchWorkload = keyof typeof TORCH_WORKLOADS;

export interface Entry {
  name: string;
  group: Group;
  adapter: string;
  /** The wgpu backend ("vulkan", "gl", "unknown") and the driver's release, e.g. "Mesa 25.0.7". */
  backend?: string;
  driver?: string | null;
  /** The device's fixed subgroup size (null: none); the CPU kernels are chosen by it. */
  subgroup_size?: number | null;
  /** Whose kernel variants ran: "hardware" (a GPU's) or "software" (a CPU adapter's). */
  variants?: string;
  images_per_s?: number;
  gflops?: number;
  /** gflops over the FMA probe's, when the probe ran. */
  peak_fraction?: number;
  gbps?: number;
  /** Billions of storage-buffer loads per second (the load probes). */
  gloads_per_s?: number;
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
  /** With --torch: PyTorch's number for the same workload on this machine's CPU, and ours / it. */
  torch_images_per_s?: number;
  torch_gflops?: number;
  ratio_torch?: number;
  note?: string;
}
