import assert from "node:assert/strict";
import { rejects } from "node:assert";
import { EnvError, Gpu, KernelError } from "../src/gpu/gpu.ts";
import { lavapipeThreads } from "../src/gpu/device.ts";
import { grid1d, workgroupsFor } from "../src/gpu/grid.ts";
import { struct } from "../src/gpu/uniform.ts";
import { gpuTest } from "./helpers.ts";

Deno.test("grid1d stays 1-D up to 65,535 workgroups and folds into 2-D past it", () => {
  const cases: [number, [number, number, number]][] = [[1, [1, 1, 1]], [65535, [65535, 1, 1]]];
  for (const [n, want] of cases) {
    if (JSON.stringify(grid1d(n)) !== JSON.stringify(want)) {
      throw new Error(`grid1d(${n}) = ${grid1d(n)}`);
    }
  }
  for (const n of [65536, 200_001, 6_422_528 / 64]) {
    const [x, y] = grid1d(n);
    if (x > 65535 || y > 65535 || x * y < n || x * (y - 1) >= n) {
      throw new Error(`grid1d(${n}) = ${[x, y]}`);
    }
  }
  if (workgroupsFor(257, 64) !== 5) throw new Error("workgroupsFor");
});

Deno.test("struct packs u32, i32 and f32 fields in order and rejects bad values", () => {
  const S = struct({ n: "u32", k: "i32", a: "f32" });
  const v = new DataView(S.bytes({ n: 7, k: -3, a: 0.5 }));
  if (
    S.byteSize !== 16 || v.getUint32(0, true) !== 7 || v.getInt32(4, true) !== -3 ||
    v.getFloat32(8, true) !== 0.5
  ) {
    throw new Error("bad packing");
  }
  for (const bad of [{ n: -1, k: 0, a: 0 }, { n: 1.5, k: 0, a: 0 }, { n: 1, k: 0, a: NaN }]) {
    let threw = false;
    try {
      S.bytes(bad);
    } catch (e) {
      threw = e instanceof RangeError || e instanceof TypeError;
    }
    if (!threw) throw new Error(`accepted ${JSON.stringify(bad)}`);
  }
});

gpuTest("a WGSL compile error names the file, line:column and the source line", async (gpu) => {
  const code = "@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_thing;\n}\n";
  try {
    await gpu.kernelFromSource("kernels/broken.wgsl", code);
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    const msg = (e as Error).message;
    if (!msg.includes("kernels/broken.wgsl:3:") || !msg.includes("undefined_thing")) {
      throw new Error(`message lacks file:line or source: ${msg}`);
    }
    return;
  }
  throw new Error("compiled a broken kernel");
});

gpuTest("kernels compile once: the same name and constants give the same pipeline", async (gpu) => {
  const [a, b] = await Promise.all([
    gpu.kernel("activation_forward", { WG: 64, ACT: 1 }),
    gpu.kernel("activation_forward", { WG: 64, ACT: 1 }),
  ]);
  if (a !== b) throw new Error("compiled twice");
});

Deno.test("VAE_VARIANTS: a bad value is refused by name, and a task exits 2 with the message", async () => {
  const old = Deno.env.get("VAE_VARIANTS");
  Deno.env.set("VAE_VARIANTS", "gpu");
  try {
    await rejects(Gpu.create(), (e: Error) => {
      assert(e instanceof EnvError, String(e));
      assert.match(e.message, /^VAE_VARIANTS must be hardware or software .*got "gpu"; unset it/);
      return true;
    });
  } finally {
    if (old === undefined) Deno.env.delete("VAE_VARIANTS");
    else Deno.env.set("VAE_VARIANTS", old);
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/doctor.ts"],
    cwd: new URL("../", import.meta.url),
    env: { VAE_VARIANTS: "gpu" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, stderr);
  assert.match(stderr, /^error: VAE_VARIANTS must be hardware or software/m);
  assert.doesNotMatch(stderr, /at .*\.ts:\d+/);
});

gpuTest(
  "VAE_VARIANTS=hardware gives any adapter a GPU's variants, and its summary says so",
  async () => {
    const old = Deno.env.get("VAE_VARIANTS");
    Deno.env.set("VAE_VARIANTS", "hardware");
    let hw: Gpu | undefined;
    try {
      hw = await Gpu.create();
    } finally {
      if (old === undefined) Deno.env.delete("VAE_VARIANTS");
      else Deno.env.set("VAE_VARIANTS", old);
    }
    try {
      assert.equal(hw.variants, "hardware");
      assert.equal(hw.variantsForced, hw.isSoftware);
      assert.equal(hw.adapterSummary.endsWith("; hardware variants"), hw.isSoftware);
      const sw = await Gpu.create({ variants: "software" });
      assert.equal(sw.variants, "software");
      assert.equal(sw.variantsForced, !sw.isSoftware);
      sw.device.destroy();
    } finally {
      hw.device.destroy();
    }
  },
);

gpuTest(
  "lavapipe gets two worker threads per CPU unless LP_NUM_THREADS says otherwise",
  async (gpu) => {
    assert.equal(lavapipeThreads(undefined, 2), "4");
    assert.equal(lavapipeThreads("", 3), "6");
    assert.equal(lavapipeThreads("3", 2), "3");
    assert.equal(lavapipeThreads(undefined, 64), "32");
    if (gpu.cpuThreads === null) return; // not lavapipe: nothing set, nothing to count
    // Mesa names its workers llvmpipe-<i>: count the distinct i a fresh process starts.
    const script = `import { Gpu } from "${new URL("../src/gpu/gpu.ts", import.meta.url)}";
    const gpu = await Gpu.create();
    const names = [...Deno.readDirSync("/proc/self/task")]
      .map((t) => Deno.readTextFileSync("/proc/self/task/" + t.name + "/comm").trim());
    console.log(JSON.stringify({ threads: gpu.cpuThreads,
      workers: new Set(names.filter((n) => n.startsWith("llvmpipe-"))).size }));`;
    const run = async (lp: string | undefined) => {
      const env = Deno.env.toObject();
      delete env.LP_NUM_THREADS;
      if (lp !== undefined) env.LP_NUM_THREADS = lp;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", script],
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return JSON.parse(new TextDecoder().decode(out.stdout));
    };
    const cpus = navigator.hardwareConcurrency;
    const byDefault = await run(undefined);
    assert.equal(byDefault.workers, Math.min(32, 2 * cpus));
    assert.match(byDefault.threads, /^\d+ \(2 per CPU, the project's default; LP_NUM_THREADS/);
    const asked = await run("3");
    assert.equal(asked.workers, 3);
    assert.equal(asked.threads, "3 (LP_NUM_THREADS as set)");
  },
);
