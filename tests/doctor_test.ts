import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { fileURLToPath } from "node:url";
import {
  adapterBackend,
  adapterSummary,
  isMesaAdapter,
  mesaMajor,
  mesaVersion,
  parseMesaVersion,
} from "../src/gpu/backend.ts";
import { formatMinutes, quickCourseSeconds, stepSeconds, verdict } from "../src/doctor/verdict.ts";
import { relErr } from "../src/doctor/reference_check.ts";
import { type Step, STEPS } from "../src/course/steps.ts";
import { gpuTest } from "./helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

// What Deno 2 reports for lavapipe under each backend (measured on the 2-core CI machine).
const LAVAPIPE_VULKAN = {
  subgroupMinSize: 8,
  subgroupMaxSize: 8,
  features: ["float32-filterable", "shader-f16", "texture-compression-bc", "timestamp-query"],
};
const LLVMPIPE_GL = {
  subgroupMinSize: 4,
  subgroupMaxSize: 128,
  features: ["texture-compression-bc", "texture-compression-etc2", "timestamp-query"],
};

Deno.test("adapterBackend takes DENO_WEBGPU_BACKEND over what the adapter suggests", () => {
  for (const [value, want] of [["vulkan", "vulkan"], ["VK", "vulkan"], ["gl", "gl"]] as const) {
    assertEquals(adapterBackend(LLVMPIPE_GL, { DENO_WEBGPU_BACKEND: value }), {
      backend: want,
      how: "DENO_WEBGPU_BACKEND",
    });
  }
  assertEquals(adapterBackend(LAVAPIPE_VULKAN, { DENO_WEBGPU_BACKEND: " opengl " }).backend, "gl");
  // A list lets wgpu choose: back to inference, saying why.
  const both = adapterBackend(LLVMPIPE_GL, { DENO_WEBGPU_BACKEND: "vulkan,gl" });
  assertEquals(both.backend, "gl");
  assert(both.how.startsWith("inferred from") && both.how.includes("vulkan,gl"), both.how);
});

Deno.test("adapterBackend infers Vulkan or GL from subgroups and features, else unknown", () => {
  const vk = adapterBackend(LAVAPIPE_VULKAN, {});
  assertEquals(vk.backend, "vulkan");
  assert(vk.how.includes("subgroup sizes 8..8"), vk.how);
  const gl = adapterBackend(LLVMPIPE_GL, { DENO_WEBGPU_BACKEND: undefined });
  assertEquals(gl.backend, "gl");
  assert(gl.how.includes("texture-compression-etc2"), gl.how);
  // 4..128 is also what Vulkan drivers without subgroup size control report.
  const wide = { ...LLVMPIPE_GL, features: ["float32-filterable", "texture-compression-etc2"] };
  assertEquals(adapterBackend(wide, {}).backend, "unknown");
  assertEquals(adapterBackend({ ...LLVMPIPE_GL, features: [] }, {}).backend, "unknown");
  const none = adapterBackend({}, {});
  assertEquals(none.backend, "unknown");
  assert(none.how.includes("no subgroup sizes"), none.how);
});

Deno.test("parseMesaVersion reads Debian package versions and rejects anything else", () => {
  const cases: [string, string | null][] = [
    ["25.0.7-2~bpo12+1", "Mesa 25.0.7"],
    ["22.3.6-1+deb12u1", "Mesa 22.3.6"],
    ["1:24.2.8-1ubuntu1~24.04.1", "Mesa 24.2.8"],
    ["23.1-1\n", "Mesa 23.1"],
    ["", null],
    ["not installed", null],
  ];
  for (const [dpkg, want] of cases) assertEquals(parseMesaVersion(dpkg), want, dpkg);
  assertEquals(mesaMajor("Mesa 22.3.6"), 22);
  assertEquals(mesaMajor(null), null);
});

Deno.test("mesaVersion answers a Mesa version or null, and asks dpkg once", () => {
  const t0 = performance.now();
  const first = mesaVersion();
  const t1 = performance.now();
  for (let i = 0; i < 100; i++) assertEquals(mesaVersion("vulkan"), first);
  // A hundred calls cost less than one dpkg-query: the answer is cached.
  assert(performance.now() - t1 < Math.max(5, t1 - t0), "mesaVersion is not cached");
  assert(first === null || /^Mesa \d+\.\d+/.test(first), String(first));
});

Deno.test("adapterSummary and isMesaAdapter", () => {
  const name = "llvmpipe (LLVM 15.0.6, 256 bits)";
  assertEquals(
    adapterSummary(name, "vulkan", "Mesa 25.0.7", true),
    "llvmpipe (LLVM 15.0.6, 256 bits); vulkan; Mesa 25.0.7 (software)",
  );
  assertEquals(
    adapterSummary("NVIDIA H200", "unknown", null, false),
    "NVIDIA H200; backend unknown",
  );
  assert(isMesaAdapter({ vendor: "65541", description: name }));
  assert(isMesaAdapter({ vendor: "4098", description: "AMD Radeon RX 6800 (RADV NAVI21)" }));
  assert(!isMesaAdapter({ vendor: "4318", description: "NVIDIA H200" }));
});

Deno.test("verdict: a fast GPU is fit for the full course and needs no advice", () => {
  const v = verdict({ mlp: 50_000, conv: 5_000 }, "vulkan", null, false);
  assertEquals(v.fit, "yes");
  assertEquals(v.advice, []);
  assert(Math.abs(v.convEpochMinutes - 50_000 / 5_000 / 60) < 1e-12);
  assert(v.summary.startsWith("Fit for the full course"), v.summary);
});

Deno.test("verdict: lavapipe on Mesa 25 is fit for --quick only and is told so", () => {
  const v = verdict({ mlp: 1_000, conv: 40 }, "vulkan", "Mesa 25.0.7", true);
  assertEquals(v.fit, "quick-only");
  assert(v.summary.includes("about 21 min"), v.summary);
  assertEquals(v.advice.length, 1);
  assert(v.advice[0].includes("--quick") && v.advice[0].includes("GPU"), v.advice[0]);
});

Deno.test("verdict: GL, an old Mesa and a busy CPU each get their advice", () => {
  const v = verdict({ mlp: 400, conv: 16, cpuShare: 0.5 }, "gl", "Mesa 22.3.6", true);
  const all = v.advice.join("\n");
  assert(all.includes("install Mesa's Vulkan driver") && all.includes("mesa-vulkan-drivers"), all);
  assert(all.includes("bookworm-backports") && all.includes("2.5x"), all);
  assert(all.includes("50% of the CPUs"), all);
  // Mesa 25 on GL: no backports advice; a hardware adapter: no --quick advice.
  const hw = verdict({ mlp: 400, conv: 16 }, "gl", "Mesa 25.0.7", false).advice.join("\n");
  assert(!hw.includes("backports") && !hw.includes("--quick") && hw.includes("Vulkan"), hw);
  // Too slow even for the quick course.
  assertEquals(verdict({ mlp: 20, conv: 1 }, "vulkan", "Mesa 25.0.7", true).fit, "no");
});

Deno.test("quickCourseSeconds: each step's images at its model's speed, plus fixed costs", () => {
  const conv: Step = {
    name: "train-bernoulli",
    task: "train-bernoulli",
    deps: [],
    args:
      () => ["--epochs", "2", "--train-limit", "300", "--eval-images", "30", "--is-images", "0"],
  };
  const other: Step = { name: "report", task: "report", deps: [], args: () => [] };
  const fixed = quickCourseSeconds({ mlp: 1, conv: 1 }, [other]);
  assert(fixed > 0);
  // 2 epochs x 300 training images, then 3 evaluations (2 validations, 1 test) of 30 at a third.
  const s = quickCourseSeconds({ mlp: 1e9, conv: 10 }, [conv, other]);
  assert(Math.abs(s - 2 * fixed - (600 + 30) / 10) < 1e-9, String(s));
  // Flags a budget leaves out take the task's defaults: all 50,000 images, 10,000 to evaluate.
  const standard = STEPS.find((x) => x.name === "train-bernoulli")!;
  const t = stepSeconds(standard, "standard", { mlp: 1, conv: 100 });
  assert(
    Math.abs(t - fixed - (5 * 50_000 + (6 * 10_000 + 1000 * 100) / 3) / 100) < 1e-6,
    String(t),
  );
  assert(stepSeconds(standard, "full", { mlp: 1, conv: 100 }) > 8 * t);
  // The real course: slower models, a longer course.
  assert(quickCourseSeconds({ mlp: 500, conv: 20 }) > quickCourseSeconds({ mlp: 1000, conv: 40 }));
  assertEquals([formatMinutes(0.5), formatMinutes(12.4), formatMinutes(150)], [
    "30 s",
    "12 min",
    "2.5 h",
  ]);
});

Deno.test("relErr is relative to the largest reference value and NaN on non-finite output", () => {
  assertEquals(relErr([1, 2.5], [1, 2]), 0.25);
  assertEquals(relErr([0, 0], [0, 0]), 0);
  assert(Number.isNaN(relErr([NaN, 1], [1, 1])));
});

async function doctor(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/doctor.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test("doctor rejects a bad flag with exit code 2 and the usage", async () => {
  for (const args of [["--steps", "0"], ["--step", "2"]]) {
    const r = await doctor(args);
    assertEquals(r.code, 2, r.stderr);
    assert(r.stderr.includes("Usage: deno task doctor"), r.stderr);
  }
});

gpuTest("Gpu exposes backend and driver, and adapterSummary begins with adapterName", (gpu) => {
  assert(["vulkan", "gl", "unknown"].includes(gpu.backend), gpu.backend);
  assert(gpu.backendHow.length > 0);
  assert(gpu.driver === null || /^Mesa \d/.test(gpu.driver), String(gpu.driver));
  assert(gpu.adapterSummary.startsWith(`${gpu.adapterName}; `), gpu.adapterSummary);
  assertEquals(
    gpu.adapterSummary,
    adapterSummary(gpu.adapterName, gpu.backend, gpu.driver, gpu.isSoftware) +
      (gpu.variantsForced ? `; ${gpu.variants} variants` : ""),
  );
});

gpuTest("doctor --steps 2 --json: the reference check passes and both models train", async () => {
  const r = await doctor(["--steps", "2", "--json"]);
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert(typeof j.adapter === "string" && j.adapter.length > 0, j.adapter);
  assert(["vulkan", "gl", "unknown"].includes(j.backend), j.backend);
  assert(j.adapter_summary.startsWith(j.adapter), j.adapter_summary);
  assertEquals(j.reference.passed, true);
  assert(j.reference.max_rel_err < j.reference.limit, String(j.reference.max_rel_err));
  for (const model of ["mlp", "conv"]) {
    const t = j.training[model];
    assert(Number.isFinite(t.images_per_s) && t.images_per_s > 0, `${model}: ${t.images_per_s}`);
    assertEquals(t.iters, 2);
  }
  assert(Number.isFinite(j.conv_epoch_minutes) && j.conv_epoch_minutes > 0);
  assert(Math.abs(j.conv_epoch_minutes - 50_000 / j.training.conv.images_per_s / 60) < 1e-9);
  assert(["yes", "quick-only", "no"].includes(j.fit), j.fit);
  assert(typeof j.verdict === "string" && Array.isArray(j.advice));
  assert(j.limits.maxStorageBufferBindingSize > 0 && Array.isArray(j.features));
});
