import assert from "node:assert/strict";
import {
  assembleKernel,
  type KernelFiles,
  kernelFilesFromDisk,
  KernelSourceError,
} from "../src/gpu/kernel_source.ts";
import { Gpu, KERNEL_DIR, KernelError } from "../src/gpu/gpu.ts";
import { gpuTest } from "./helpers.ts";

/** A kernels/ folder in memory. */
function _files(table: Record<string, string>): KernelFiles {
  return (f) => {
    if (!(f in table)) throw new Error("No such file");
    return table[f];
  };
}

Deno.test("assembleKernel splices each include once, depth first, with a line map", () => {
  const read = _files({
    "k.wgsl": 'a\n// #include "lib/x.wgsl"\nb\n  //   #include "lib/y.wgsl"  \nc\n',
    "lib/x.wgsl": 'x1\n// #include "lib/y.wgsl"\nx3\n',
    "lib/y.wgsl": "y1\ny2\n",
  });
  const k = assembleKernel("k.wgsl", read);
  assert.equal(k.code, "a\nx1\ny1\ny2\nx3\nb\nc\n");
  assert.deepEqual(k.files, ["k.wgsl", "lib/x.wgsl", "lib/y.wgsl"]);
  assert.deepEqual(k.lines.map((l) => `${l.file}:${l.line}`), [
    "k.wgsl:1",
    "lib/x.wgsl:1",
    "lib/y.wgsl:1",
    "lib/y.wgsl:2",
    "lib/x.wgsl:3",
    "k.wgsl:3",
    "k.wgsl:5",
  ]);
});

Deno.test("assembleKernel refuses a cycle, a missing file and a path out of kernels/, by file:line", () => {
  const cycle = _files({
    "k.wgsl": '// #include "lib/a.wgsl"\n',
    "lib/a.wgsl": 'x\n// #include "k.wgsl"\n',
  });
  assert.throws(
    () => assembleKernel("k.wgsl", cycle),
    (e: Error) =>
      e instanceof KernelSourceError && e.message.includes("kernels/lib/a.wgsl:2") &&
      e.message.includes("k.wgsl -> lib/a.wgsl -> k.wgsl"),
  );
  const missing = _files({ "k.wgsl": 'a\nb\n// #include "lib/gone.wgsl"\n' });
  assert.throws(
    () => assembleKernel("k.wgsl", missing),
    (e: Error) =>
      e instanceof KernelSourceError && e.message.includes("kernels/lib/gone.wgsl") &&
      e.message.includes("included at kernels/k.wgsl:3") && e.message.includes("No such file"),
  );
  for (const bad of ["../secret.wgsl", "/etc/x.wgsl", "lib/x.txt"]) {
    const read = _files({ "k.wgsl": `// #include "${bad}"\n` });
    assert.throws(
      () => assembleKernel("k.wgsl", read),
      (e: Error) =>
        e instanceof KernelSourceError && e.message.includes(bad) &&
        e.message.includes("kernels/k.wgsl:1"),
    );
  }
});

const LIB = "lib/beta_functions.wgsl";

Deno.test("the Beta and likelihood kernels take their shared code from kernels/lib/ alone", () => {
  const read = kernelFilesFromDisk(KERNEL_DIR);
  const users: Record<string, string[]> = {
    [LIB]: ["beta_kl_forward", "beta_kl_backward", "beta_output", "beta_special"],
    "lib/kl_forward.wgsl": ["bernoulli", "gaussian", "beta", "categorical", "mse"]
      .map((k) => `${k}_kl_forward`),
    "lib/kl_backward.wgsl": ["bernoulli", "gaussian", "beta", "categorical", "mse"]
      .map((k) => `${k}_kl_backward`),
  };
  for (const [lib, kernels] of Object.entries(users)) {
    const defs = [...read(lib).matchAll(/^(?:fn|const|struct|override|var<workgroup>) (\w+)/gm)]
      .map((m) => m[1]);
    assert.ok(defs.length >= 5, `only ${defs.length} definitions in ${lib}`);
    for (const k of kernels) {
      const own = read(`${k}.wgsl`);
      assert.ok(own.includes(`// #include "${lib}"`), `${k}.wgsl does not include ${lib}`);
      const again = defs.filter((d) =>
        new RegExp(`^(?:fn|const|struct|override|var<workgroup>) ${d}\\b`, "m").test(own)
      );
      assert.deepEqual(again, [], `${k}.wgsl defines again what ${lib} has`);
    }
  }
});

gpuTest("every library in kernels/lib/ is valid WGSL on its own", async (gpu) => {
  const libs = [...Deno.readDirSync(new URL("lib/", KERNEL_DIR))].map((e) => e.name).sort();
  assert.ok(libs.length >= 3, `only ${libs.length} libraries`);
  const failed: string[] = [];
  for (const name of libs) {
    const code = kernelFilesFromDisk(KERNEL_DIR)(`lib/${name}`);
    const module = gpu.device.createShaderModule({ label: name, code });
    const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === "error");
    if (errors.length > 0) failed.push(`lib/${name}: ${errors[0].message}`);
  }
  assert.deepEqual(failed, []);
});

gpuTest("a compile error names the real file:line, in an included file and after one", async () => {
  const gpu = await Gpu.create({
    files: _files({
      "k.wgsl": '// #include "lib/bad.wgsl"\n@compute @workgroup_size(1)\nfn main() {\n  f();\n}\n',
      "lib/bad.wgsl": "// one comment line\nfn f() -> f32 {\n  return nope;\n}\n",
      "after.wgsl":
        '// #include "lib/ok.wgsl"\n@compute @workgroup_size(1)\nfn main() {\n  g(nada);\n}\n',
      "lib/ok.wgsl": "fn g(x: f32) {}\nfn h() {}\nfn i() {}\n",
    }),
  });
  try {
    await assert.rejects(gpu.kernel("k"), (e: Error) => {
      assert.ok(e instanceof KernelError, String(e));
      assert.match(
        e.message,
        /^kernels\/lib\/bad\.wgsl:3:\d+: error: [^]*nope[^]*\(included by kernels\/k\.wgsl\)/,
      );
      assert.ok(e.message.includes("  return nope;"), e.message);
      return true;
    });
    await assert.rejects(gpu.kernel("after"), (e: Error) => {
      assert.ok(e instanceof KernelError, String(e));
      // Line 4 of after.wgsl is line 6 of the assembled text: the map must undo the splice.
      assert.match(e.message, /^kernels\/after\.wgsl:4:\d+: error: [^]*nada/);
      return true;
    });
  } finally {
    gpu.device.destroy();
  }
});

gpuTest("every kernel in kernels/ assembles and compiles on this adapter", async (gpu) => {
  const read = kernelFilesFromDisk(KERNEL_DIR);
  const names = [...Deno.readDirSync(KERNEL_DIR)].filter((e) =>
    e.isFile && e.name.endsWith(".wgsl")
  )
    .map((e) => e.name).sort();
  assert.ok(names.length >= 60, `only ${names.length} kernels`);
  const failed: string[] = [];
  for (const file of names) {
    const k = assembleKernel(file, read);
    // Subgroup kernels need the device feature; where it is missing they cannot compile.
    if (/\bsubgroup[A-Z]\w*\(|@builtin\(subgroup_/.test(k.code) && gpu.subgroupSize === null) {
      continue;
    }
    const module = gpu.device.createShaderModule({ label: file, code: k.code });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) failed.push(`${file}: ${errors[0].message}`);
  }
  assert.deepEqual(failed, []);
});
