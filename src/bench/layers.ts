/**
 * The bench's compute-bound groups, in GFLOP/s: matmul (Linear at 1024^3 per variant and at the
 * MLP VAE's shapes), conv (the conv VAE's encoder convs) and convt (its decoder's transposed
 * convs), each pass on its own at batch 256.
 */

import { LINEAR_SUBGROUP_LANES, LINEAR_VARIANTS, linearVariantFor } from "../ops/linear.ts";
import { benchLinear, type LinearPass } from "./matmul_bench.ts";
import { benchConv2d } from "./conv_bench.ts";
import { benchConvTranspose2d } from "./conv_transpose_bench.ts";
import { TORCH_WORKLOADS } from "./entry.ts";
import { addEntry } from "./table.ts";
import { type BenchContext, measure } from "./timing.ts";
import { remeasurePeak } from "./probe.ts";

/**
 * Linear at 1024^3 in every variant this device runs ("subgroup" needs 8-lane subgroups), then
 * the MLP VAE's own layer shapes in the variant it picks.
 */
export async function matmulGroup(c: BenchContext): Promise<void> {
  const picked = linearVariantFor(c.gpu);
  const variants = LINEAR_VARIANTS.filter((v) =>
    v !== "subgroup" || c.gpu.subgroupSize === LINEAR_SUBGROUP_LANES
  );
  for (const variant of variants) {
    const { r, iters } = await measure(
      c,
      (n) => benchLinear(c.gpu, 1024, 1024, 1024, variant, n),
      (r) => r.ms,
    );
    addEntry(c, {
      name: TORCH_WORKLOADS.matmul.name,
      group: "matmul",
      ...r,
      iters,
      shape: TORCH_WORKLOADS.matmul.shape,
      variant: variant === picked ? `${variant} (picked)` : variant,
      note: variant === picked ? "the variant linearVariantFor picks on this adapter" : undefined,
    });
  }
  const layers = [
    ["enc.fc1", 784, 500],
    ["enc.fc2", 500, 4],
    ["dec.fc1", 2, 500],
    ["dec.fc2", 500, 784],
  ] as const;
  for (const [layer, k, m] of layers) {
    for (const pass of ["forward", "backward_input", "backward_weight"] as LinearPass[]) {
      const { r, iters } = await measure(
        c,
        (n) => benchLinear(c.gpu, 200, k, m, picked, n, pass),
        (r) => r.ms,
      );
      addEntry(c, {
        name: `linear ${layer} ${pass}`,
        group: "matmul",
        ...r,
        iters,
        shape: `200x${k}->${m}`,
        variant: picked,
        note: layer === "enc.fc1" && pass === "backward_input"
          ? "not run in training (first layer)"
          : undefined,
      });
    }
  }
}

/**
 * The encoder's three convs at batch 256, each pass on its own; the second also as forward plus
 * a full backward, which is the sum of its separate passes.
 */
export async function convGroup(c: BenchContext): Promise<void> {
  await remeasurePeak(c, "conv");
  const layers = [[1, 32, 5, 2, 28], [32, 64, 5, 2, 14], [64, 128, 3, 1, 7]] as const;
  for (const [ci, co, k, pad, size] of layers) {
    const opts = {
      batch: 256,
      inChannels: ci,
      outChannels: co,
      height: size,
      width: size,
      kernel: k,
      pad,
    };
    // The full backward dispatches the same two kernels as the separate passes (timed alike
    // within noise on lavapipe), so timing it again would only add ~40% to the group's time.
    const { r, iters } = await measure(
      c,
      (n) => benchConv2d(c.gpu, opts, n, { full: false }),
      (r) => r.forwardMs + r.backwardInputMs + r.backwardWeightMs,
    );
    const label = `conv2d ${ci}->${co} ${k}x${k}`, shape = `256x${ci}x${size}x${size} pad ${pad}`;
    const passes = [
      ["forward", r.forwardMs, r.forwardGflops],
      ["backward_input", r.backwardInputMs, r.backwardInputGflops],
      ["backward_weight", r.backwardWeightMs, r.backwardWeightGflops],
    ] as const;
    for (const [pass, ms, gflops] of passes) {
      addEntry(c, {
        name: `${label} ${pass}`,
        group: "conv",
        ms,
        gflops,
        iters,
        shape,
        note: ci === 1 && pass === "backward_input"
          ? "not run in training (first layer)"
          : undefined,
      });
    }
    if (ci === 32) {
      addEntry(c, {
        name: `${label} forward+backward`,
        group: "conv",
        ms: r.forwardMs + r.backwardMs,
        gflops: r.gflops,
        iters,
        shape,
        note: "forward, then one backward giving dX, dW and db: the sum of the three passes " +
          "above",
      });
    }
  }
}

/** The decoder's four transposed convs (5x5, stride 2, pad 1) at batch 256, latent 16. */
export async function convTransposeGroup(c: BenchContext): Promise<void> {
  await remeasurePeak(c, "convt");
  const layers = [[16, 128, 1], [128, 64, 3], [64, 32, 7], [32, 1, 15]] as const;
  for (const [ci, co, size] of layers) {
    const opts = {
      batch: 256,
      inChannels: ci,
      outChannels: co,
      height: size,
      width: size,
      kernel: 5,
      stride: 2,
      pad: 1,
    };
    const { r, iters } = await measure(
      c,
      (n) => benchConvTranspose2d(c.gpu, opts, n),
      (r) => r.forwardMs + r.backwardMs,
    );
    const label = `conv_transpose2d ${ci}->${co} 5x5 s2`, shape = `256x${ci}x${size}x${size}`;
    addEntry(c, {
      name: `${label} forward`,
      group: "convt",
      ms: r.forwardMs,
      gflops: r.forwardGflops,
      iters,
      shape,
    });
    addEntry(c, {
      name: `${label} backward (dX, dW, db)`,
      group: "convt",
      ms: r.backwardMs,
      gflops: r.backwardGflops,
      iters,
      shape,
    });
  }
}
