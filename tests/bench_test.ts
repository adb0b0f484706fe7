import {
  LINEAR_TRANSPOSED_GRAD_MIN_K,
  LINEAR_TRANSPOSED_GRAD_MIN_M,
  linearVariantFor,
} from "../src/ops/linear.ts";
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Entry } from "../src/bench/entry.ts";
import { addEntry, formatTable } from "../src/bench/table.ts";
import type { BenchContext } from "../src/bench/timing.ts";
import { notQuiet, othersShare } from "../src/bench/quiet.ts";
import {
  blasBuilds,
  findTorchPython,
  parseTorchJson,
  pickFastest,
  runTorchBench,
  torchFields,
  torchNotes,
  type TorchResult,
} from "../src/bench/torch.ts";
import { kernelShares } from "../src/gpu/profile.ts";
import { gpuTest } from "./helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function bench(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/bench.ts", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test("bench rejects an unknown --only group with exit code 2 and the usage", async () => {
  const r = await bench(["--only", "matmul,convs"]);
  assertEquals(r.code, 2);
  assert(r.stderr.includes("--only takes groups among"), r.stderr);
  assert(r.stderr.includes("'convs'"), r.stderr);
  assert(r.stderr.includes("Usage: deno task bench"), r.stderr);
});

gpuTest(
  "bench --only kernels writes one JSON entry per kernel and prints each in the table",
  async () => {
    const out = await Deno.makeTempDir({ prefix: "bench_test" });
    try {
      const r = await bench(["--only", "kernels", "--iters", "1", "--out", out]);
      assertEquals(r.code, 0, r.stderr);
      const entries = JSON.parse(await Deno.readTextFile(join(out, "bench.json")));
      // Adam, each of the four likelihoods' loss both ways, batch norm and max pool both ways
      // per layer, gather twice.
      assertEquals(entries.length, 1 + 4 * 2 + 2 * 4 + 2 * 3 + 2);
      const adapter = r.stdout.split("\n")[0].replace(/^adapter: /, "").replace(
        / \(software\)(; \w+ variants \(VAE_VARIANTS\))?$/,
        "",
      );
      for (const e of entries) {
        assertEquals(e.group, "kernels");
        assertEquals(e.adapter, adapter);
        assertEquals(e.iters, 1);
        assert(Number.isFinite(e.gbps) && e.gbps > 0, `${e.name}: gbps ${e.gbps}`);
        assert(Number.isFinite(e.ms) && e.ms > 0, `${e.name}: ms ${e.ms}`);
        const row = r.stdout.split("\n").find((l) => l.includes(e.name) && l.includes(e.shape));
        assert(row, `no table row for ${e.name} ${e.shape}`);
      }
      assert(r.stdout.includes(`wrote ${join(out, "bench.json")}`), r.stdout);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
);

gpuTest(
  "bench --only probe gives the FMA peak, both load rates and 100% for the probe itself",
  async () => {
    const out = await Deno.makeTempDir({ prefix: "bench_test" });
    try {
      const r = await bench(["--only", "probe", "--iters", "1", "--out", out]);
      assertEquals(r.code, 0, r.stderr);
      const entries: Entry[] = JSON.parse(await Deno.readTextFile(join(out, "bench.json")));
      assertEquals(entries.map((e) => e.name), ["probe fma", "probe load f32", "probe load vec4"]);
      const [fma, f32, vec4] = entries;
      assert(fma.gflops! > 0 && fma.peak_fraction === 1, JSON.stringify(fma));
      for (const e of [f32, vec4]) {
        assert(e.gloads_per_s! > 0 && e.gbps! > 0, JSON.stringify(e));
        assertEquals(e.peak_fraction, undefined);
      }
      assert(Math.abs(vec4.gbps! / vec4.gloads_per_s! - 16) < 0.1, JSON.stringify(vec4));
      assert(r.stdout.includes("peak probe: FMA "), r.stdout);
      assert(r.stdout.includes("% peak"), r.stdout);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
);

gpuTest(
  "bench --profile times every dispatch of an MLP step and sums them by kernel",
  async (gpu) => {
    if (!gpu.hasTimestamps) return; // the task refuses --profile there (exit 2)
    const out = await Deno.makeTempDir({ prefix: "bench_test" });
    try {
      const r = await bench(["--only", "mlp", "--iters", "1", "--profile", "--out", out]);
      assertEquals(r.code, 0, r.stderr);
      const [p, ...rest] = JSON.parse(await Deno.readTextFile(join(out, "profile.json")));
      assertEquals(rest.length, 0);
      assertEquals([p.name, p.batch], ["MLP VAE train step", 200]);
      // Encoder, reparameterization, decoder, loss, backward and Adam: 19 dispatches (the
      // hidden layers' tanh and its derivative run in the linear kernels), and 3 more (two
      // transposes and the bias sum) per layer whose weight gradient the subgroup variant takes
      // transposed: (K, M) = (784, 500), (500, 4), (2, 500) and (500, 784).
      const layers = [[784, 500], [500, 4], [2, 500], [500, 784]];
      const transposed = linearVariantFor(gpu) === "subgroup"
        ? layers.filter(([k, m]) =>
          k >= LINEAR_TRANSPOSED_GRAD_MIN_K && m >= LINEAR_TRANSPOSED_GRAD_MIN_M
        ).length
        : 0;
      const dispatches = 19 + 3 * transposed;
      assertEquals(p.dispatches.length, dispatches);
      for (const d of p.dispatches) {
        assert(d.ms >= 0 && d.workgroups >= 1, JSON.stringify(d));
      }
      const names = p.kernels.map((k: { kernel: string }) => k.kernel);
      // The linear kernels carry their variant's suffix (_subgroup, _tiled or none).
      for (const k of ["linear_forward", "linear_backward_weight", "adam"]) {
        assert(
          names.some((n: string) => n === k || n.startsWith(`${k}_`)),
          `${k} missing from ${names}`,
        );
      }
      const count = p.kernels.reduce((s: number, k: { dispatches: number }) => s + k.dispatches, 0);
      assertEquals(count, p.dispatches.length);
      const share = p.kernels.reduce((s: number, k: { share: number }) => s + k.share, 0);
      assert(Math.abs(share - 1) < 1e-9, `shares sum to ${share}`);
      assert(p.gpu_ms > 0 && p.gpu_ms <= p.wall_ms * 1.01, `${p.gpu_ms} ms of ${p.wall_ms}`);
      assert(
        r.stdout.includes(`profile: MLP VAE train step, batch 200: ${dispatches} dispatches`),
        r.stdout,
      );
      assert(r.stdout.includes(`wrote ${join(out, "profile.json")}`), r.stdout);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
);

Deno.test("bench --profile needs a training group", async () => {
  const out = await Deno.makeTempDir({ prefix: "bench_test" });
  try {
    const r = await bench(["--only", "kernels", "--profile", "--out", out]);
    assertEquals(r.code, 2);
    assert(r.stderr.includes("--only must include mlp or conv-vae"), r.stderr);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("kernelShares sums dispatches by kernel, the costliest first", () => {
  const shares = kernelShares([
    { kernel: "a", workgroups: 1, ms: 1 },
    { kernel: "b", workgroups: 2, ms: 5 },
    { kernel: "a", workgroups: 1, ms: 2 },
  ]);
  assertEquals(shares, [
    { kernel: "b", dispatches: 1, ms: 5, share: 5 / 8 },
    { kernel: "a", dispatches: 2, ms: 3, share: 3 / 8 },
  ]);
  assertEquals(kernelShares([]), []);
});

Deno.test("bench --torch without a Python that has torch exits 2 and says how to get it", async () => {
  const out = await Deno.makeTempDir({ prefix: "bench_test" });
  try {
    const r = await bench(["--only", "matmul", "--torch", "--out", out], {
      PYTHON: "/nonexistent/python3",
    });
    assertEquals(r.code, 2, r.stderr);
    assert(r.stderr.includes("/nonexistent/python3: not found"), r.stderr);
    assert(r.stderr.includes("sudo apt-get install python3-torch"), r.stderr);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** What torch_bench.py prints, with one workload's field replaced. */
function torchJson(patch: Record<string, unknown> = {}): string {
  return JSON.stringify({
    torch: "1.13.0",
    python: "3.11.2",
    threads: 2,
    blas: ["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"],
    workloads: {
      matmul: { shape: "1024x1024->1024", ms: 40, iters: 25, gflops: 50 },
      mlp: { shape: "batch 200", ms: 10, iters: 200, images_per_s: 20_000, ...patch },
      conv: { shape: "batch 256", ms: 2000, iters: 4, images_per_s: 128 },
    },
  });
}

Deno.test("parseTorchJson reads every workload and names the first bad field", () => {
  const t = parseTorchJson(torchJson(), "/usr/bin/python3");
  assertEquals(t.interpreter, "/usr/bin/python3");
  assertEquals(t.threads, 2);
  assertEquals(t.blas, ["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"]);
  assert(torchNotes(t, []).some((l) => l.includes("reference BLAS")));
  assertEquals(t.workloads.matmul, { shape: "1024x1024->1024", ms: 40, iters: 25, value: 50 });
  assertEquals(t.workloads.mlp!.value, 20_000);
  assertEquals(t.workloads.conv!.value, 128);
  throws(() => parseTorchJson("torch: oops", "py"), TypeError);
  throws(
    () => parseTorchJson(torchJson({ images_per_s: undefined }), "py"),
    /workloads\.mlp\.images_per_s should be a positive number, got undefined/,
  );
  throws(
    () => parseTorchJson(torchJson({ ms: -1 }), "py"),
    /workloads\.mlp\.ms should be a positive number, got -1/,
  );
  const blasNotList = torchJson().replace(/"blas":\[[^\]]*\]/, '"blas":3');
  throws(() => parseTorchJson(blasNotList, "py"), /blas should be a list of paths or null, got 3/);
  throws(
    () => parseTorchJson(`{"torch": "1", "workloads": []}`, "py"),
    /workloads should be an object/,
  );
});

Deno.test("torchFields gives matching entries PyTorch's number and ours / PyTorch, others none", () => {
  const t = parseTorchJson(torchJson(), "py");
  const matmul = { group: "matmul", name: "linear forward", shape: "1024x1024->1024", gflops: 20 };
  assertEquals(torchFields(matmul as Entry, t), { torch_gflops: 50, ratio_torch: 0.4 });
  const mlp = { group: "mlp", name: "MLP VAE train step", shape: "784-500-2", images_per_s: 5000 };
  assertEquals(torchFields(mlp as Entry, t), { torch_images_per_s: 20_000, ratio_torch: 0.25 });
  const conv = { group: "conv-vae", name: "conv VAE train step", images_per_s: 64 };
  assertEquals(torchFields(conv as Entry, t), { torch_images_per_s: 128, ratio_torch: 0.5 });
  // Another shape, another likelihood, or no PyTorch run: nothing to compare.
  assertEquals(torchFields({ ...matmul, shape: "200x784->500" } as Entry, t), {});
  assertEquals(torchFields({ ...conv, name: "conv VAE train step (beta)" } as Entry, t), {});
  assertEquals(torchFields(matmul as Entry, null), {});
  const noMlp: TorchResult = { ...t, workloads: { matmul: t.workloads.matmul } };
  assertEquals(torchFields(mlp as Entry, noMlp), {});
});

Deno.test("addEntry gives GFLOP/s entries their share of the peak; the table shows it and PyTorch", () => {
  const gpu = {
    adapterName: "test adapter",
    backend: "vulkan",
    driver: null,
    subgroupSize: 8,
    isSoftware: false,
  };
  const c = {
    gpu,
    entries: [],
    cpuShare: undefined,
    peakGflops: 40,
    torch: parseTorchJson(torchJson(), "py"),
  } as unknown as BenchContext;
  const log = console.error;
  console.error = () => {};
  try {
    addEntry(c, {
      name: "linear forward",
      group: "matmul",
      gflops: 10,
      iters: 3,
      shape: "1024x1024->1024",
    });
    addEntry(c, { name: "adam", group: "kernels", gbps: 5, ms: 1, iters: 3 });
  } finally {
    console.error = log;
  }
  const [mm, adam] = c.entries;
  assertEquals(mm.peak_fraction, 0.25);
  assertEquals([mm.torch_gflops, mm.ratio_torch], [50, 0.2]);
  assertEquals(Object.keys(mm).slice(0, 6), [
    "name",
    "group",
    "adapter",
    "backend",
    "driver",
    "subgroup_size",
  ]);
  assertEquals(mm.subgroup_size, 8);
  assertEquals(adam.peak_fraction, undefined);
  assertEquals(adam.ratio_torch, undefined);
  const table = formatTable(c.entries).split("\n");
  for (const title of ["% peak", "PyTorch", "ours/PyTorch"]) {
    assert(table[0].includes(title), table[0]);
  }
  assert(/25\.0%.*50\.00.*0\.200x/.test(table[2]), table[2]);
  // Without a peak or PyTorch, their columns are left out.
  const plain = formatTable([adam]).split("\n")[0];
  for (const title of ["% peak", "PyTorch", "Gload/s"]) assert(!plain.includes(title), plain);
});

const torchPython = await findTorchPython().catch((e: Error) => {
  console.warn(`%cPyTorch test ignored: ${e.message}`, "color: yellow");
  return null;
});

Deno.test({
  name: "torch_bench.py --tiny prints JSON that parseTorchJson reads, for every workload",
  ignore: torchPython === null,
  async fn() {
    const t = await runTorchBench(torchPython!, {
      threads: 1,
      seconds: 0,
      only: ["matmul", "mlp", "conv"],
      tiny: true,
      stderr: "piped",
    });
    assertEquals(Object.keys(t.workloads), ["matmul", "mlp", "conv"]);
    assertEquals(t.workloads.matmul!.shape, "64x64->64");
    assertEquals(t.workloads.mlp!.shape, "batch 8");
    assertEquals(t.threads, 1);
    for (const w of Object.values(t.workloads)) assert(w.iters >= 1 && w.ms > 0, JSON.stringify(w));
  },
});

Deno.test("pickFastest keeps each workload's fastest BLAS build and names it", () => {
  const a = parseTorchJson(torchJson(), "py");
  const b = {
    ...parseTorchJson(torchJson({ images_per_s: 30_000 }), "py"),
    blas: ["/x/libblas.so.3"],
  };
  b.workloads.matmul = { ...b.workloads.matmul!, value: 40 };
  const best = pickFastest([{ build: "openblas-openmp", result: a }, {
    build: "openblas-pthread",
    result: b,
  }]);
  assertEquals(best.workloads.matmul?.value, 50);
  assertEquals(best.workloads.mlp?.value, 30_000);
  assert(best.blasByWorkload?.matmul?.startsWith("openblas-openmp"));
  assertEquals(best.blasByWorkload?.mlp, "openblas-pthread (/x/libblas.so.3)");
  assert(
    torchNotes(best, []).some((l) =>
      l.includes("mlp: the fastest BLAS build was openblas-pthread")
    ),
  );
});

Deno.test("blasBuilds finds Debian's OpenBLAS builds by their libblas.so.3", async () => {
  const lib = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(lib, "openblas-openmp"));
    await Deno.writeTextFile(join(lib, "openblas-openmp", "libblas.so.3"), "");
    await Deno.mkdir(join(lib, "openblas-pthread")); // empty: not installed
    assertEquals(blasBuilds([lib]), [{
      name: "openblas-openmp",
      dir: join(lib, "openblas-openmp"),
    }]);
  } finally {
    await Deno.remove(lib, { recursive: true });
  }
});

Deno.test("a bench is quiet only with a low start load and no other jobs during it", () => {
  const a = { at: 0, machine: 100, ours: 10 }, b = { at: 10, machine: 118, ours: 27 };
  // 18 CPU-seconds in 10 s on 2 CPUs, 17 of them ours: others used 1 / 20 = 5%.
  assert(Math.abs(othersShare(a, b, 2) - 0.05) < 1e-9);
  assertEquals(notQuiet(0.1, 0.05, 2), null);
  assert(notQuiet(0.1, 0.3, 2)?.includes("other processes used 30% of the CPUs"));
  assert(notQuiet(1.5, 0.05, 2)?.includes("load average at the start was 1.50 on 2 CPUs"));
  assertEquals(othersShare(a, { ...b, machine: 120, ours: 40 }, 2), 0, "never below 0");
});
