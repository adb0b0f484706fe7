/**
 * The PyTorch export (src/app/export.ts, deno task export): the state_dict's names, shapes,
 * dtypes and values against the checkpoint's, the file training writes by itself, bad input to
 * the task, and (where a python3 with torch exists) tools/check_export.py loading each export
 * into its PyTorch module with strict=True and matching our GPU model's eval-mode forward.
 */

import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import { join } from "node:path";
import { findTorchPython } from "../src/bench/torch.ts";
import { ConvVae } from "../src/conv/conv_vae.ts";
import { convLayout } from "../src/conv/layout.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { bernoulli } from "../src/likelihood/bernoulli.ts";
import { gaussian } from "../src/likelihood/gaussian.ts";
import { type MlpConfig, mlpLayout } from "../src/mlp/mlp_net.ts";
import { initMlpParams, MlpVae } from "../src/mlp/mlp_vae.ts";
import type { Vae } from "../src/model/vae.ts";
import { loadSafetensors } from "../src/safetensors.ts";
import { loadCheckpoint, saveModel } from "../src/train/checkpoint.ts";
import { loadVae } from "../src/app/models.ts";
import { exportTorch, torchExportPath } from "../src/app/export.ts";
import { train } from "../src/train/trainer.ts";
import type { Gpu } from "../src/gpu/gpu.ts";
import { f32, gpuTest, normal, rng, testGpu, uniform } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MLP: MlpConfig = {
  pixels: 784,
  hidden: [33, 7],
  latent: 3,
  activation: "leaky_relu",
  decoderActivation: "tanh",
  slope: 0.2,
  head: "sigmoid",
};

let fixtures: Promise<{ dir: string; conv: string; mlp: string }> | null = null;

/** The checkpoints both GPU tests export, made once (in a temp dir removed at exit). */
function _fixtures(gpu: Gpu) {
  fixtures ??= Deno.makeTempDir({ prefix: "export" }).then(async (dir) => {
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return { dir, ...await _checkpoints(gpu, dir) };
  });
  return fixtures;
}

/**
 * A conv Gaussian VAE (latent 3) trained two steps of 8 images, so batch norm's statistics
 * moved; then an MLP checkpoint (two hidden layers, sigmoid head) saved as at step 5.
 */
async function _checkpoints(gpu: Gpu, dir: string) {
  const mnist = await loadMnist();
  const conv = ConvVae.init(gpu, { latent: 3 }, gaussian, 4);
  const [trainData, valData] = await Promise.all([
    GpuDataset.create(gpu, mnist.train.images.subarray(0, 16 * 784), 16),
    GpuDataset.create(gpu, mnist.val.images.subarray(0, 8 * 784), 8),
  ]);
  const convDir = join(dir, "conv");
  await train({
    model: conv,
    train: trainData,
    val: valData,
    epochs: 1,
    batch: 8,
    lr: 1e-3,
    seed: 1,
    binarize: "none",
    patience: 5,
    bestPath: join(convDir, "model.safetensors"),
    lastPath: join(convDir, "last.safetensors"),
    resume: null,
    afterBest: exportTorch, // as the train tasks do
  });
  trainData.destroy();
  valData.destroy();
  const mlpPath = join(dir, "mlp", "model.safetensors");
  const mlp = new MlpVae(gpu, MLP, initMlpParams(mlpLayout(MLP), 6), bernoulli);
  await saveModel(mlpPath, mlp, { epoch: 2, adamT: 5, seed: 6, bestEpoch: 2, log: [] });
  return { conv: join(convDir, "model.safetensors"), mlp: mlpPath };
}

/** Our eval-mode h = [mu | logvar] of x and decoder head of z, on the GPU. */
async function _ours(vae: Vae, n: number, seed: number) {
  const gpu = vae.gpu, g = await vae.graph(n), rand = rng(seed);
  const x = f32(uniform(rand, n * 784, 0, 1)), z = f32(normal(rand, n * vae.latent));
  gpu.write(g.x, x);
  gpu.write(g.z, z);
  const rec = gpu.record();
  g.encode(rec, g.h, g.x, "eval");
  g.decode(rec, "eval");
  await rec.submit();
  const h = await gpu.readF32(g.h, 0, n * 2 * vae.latent);
  const head = await gpu.readF32(g.head, 0, n * 784 * vae.likelihood.width);
  return { n, x: Array.from(x), z: Array.from(z), h: Array.from(h), head: Array.from(head) };
}

gpuTest(
  "exportTorch writes the PyTorch state_dict: every parameter and batch norm buffer by its " +
    "PyTorch name and shape, bit for bit, num_batches_tracked the steps, no Adam moments",
  async (gpu) => {
    const paths = await _fixtures(gpu), dir = paths.dir;
    // Training wrote the conv export itself; the MLP one is the task's to make.
    const convOut = join(dir, "conv", "model.torch.safetensors");
    assertEquals(torchExportPath(paths.conv), convOut);
    assert((await Deno.stat(convOut)).isFile, "training wrote no model.torch.safetensors");
    const mlpOut = (await exportTorch(paths.mlp)).path;

    const { params, state } = convLayout({ latent: 3 }, 2);
    const cases = [
      { src: paths.conv, out: convOut, params, state, steps: 2n },
      { src: paths.mlp, out: mlpOut, params: mlpLayout(MLP, 1), state: null, steps: 5n },
    ];
    for (const c of cases) {
      const src = await loadSafetensors(c.src), got = await loadSafetensors(c.out);
      const bn = (c.state?.specs ?? []).filter((s) => s.name.endsWith(".running_mean"));
      const want = [
        ...c.params.specs.map((s) => s.name),
        ...(c.state?.specs ?? []).map((s) => s.name),
        ...bn.map((s) => s.name.replace("running_mean", "num_batches_tracked")),
      ].sort();
      assertEquals(Object.keys(got.tensors).sort(), want, c.out);
      for (const s of [...c.params.specs, ...(c.state?.specs ?? [])]) {
        const from = src.tensors[c.state?.specs.includes(s) ? `state.${s.name}` : s.name];
        const t = got.tensors[s.name];
        assertEquals([t.dtype, t.shape], ["F32", s.shape], s.name);
        assertEquals(t.data, from.data, s.name);
      }
      for (const s of bn) {
        const t = got.tensors[s.name.replace("running_mean", "num_batches_tracked")];
        assertEquals([t.dtype, t.shape, [...t.data]], ["I64", [], [c.steps]], s.name);
      }
      assertEquals(got.metadata.format, "pt");
      assertEquals(got.metadata.steps, String(c.steps));
    }
    // PyTorch's shapes: Conv2d (out, in, kh, kw), ConvTranspose2d (in, out, kh, kw), Linear
    // (out, in), the Gaussian head two numbers per pixel.
    const conv = (await loadSafetensors(convOut)).tensors;
    assertEquals(conv["enc.conv2.weight"].shape, [64, 32, 5, 5]);
    assertEquals(conv["dec.deconv1.weight"].shape, [3, 128, 5, 5]);
    assertEquals(conv["enc.head.weight"].shape, [6, 1152]);
    assertEquals(conv["dec.head.weight"].shape, [1568, 961]);
    assert(conv["dec.bn2.running_var"].data.some((v) => v !== 1), "batch norm never moved");
    const meta = (await loadSafetensors(convOut)).metadata;
    assertEquals(meta.module, "tools/pytorch_reference.py:ConvVae");
    assertEquals(JSON.parse(meta.module_args), { latent: 3, width: 2 });
    // The checkpoint itself is left alone; a directory as the output is refused by name.
    assert((await loadCheckpoint(paths.conv, "")).state.adamT === 2);
    await rejects(exportTorch(paths.conv, dir), (e: Error) => {
      return e.name === "OutputError" && e.message.includes("is a directory");
    });
  },
);

Deno.test("deno task export refuses bad input with a message, exit 2 and no stack", async () => {
  const dir = await Deno.makeTempDir({ prefix: "export_bad" });
  const run = async (...args: string[]) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tasks/export.ts", ...args],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
  };
  try {
    const garbage = join(dir, "garbage.safetensors");
    await Deno.writeFile(garbage, new Uint8Array(64).fill(7));
    const cases: [string[], string][] = [
      [["--checkpoint", join(dir, "none.safetensors")], "no such file; run a train task first"],
      [["--checkpoint", garbage], `Cannot load checkpoint ${garbage}`],
      [["--checkpoint", garbage, "--out", garbage], "onto itself"],
      [["--chekpoint", garbage], "did you mean --checkpoint?"],
    ];
    for (const [args, fragment] of cases) {
      const r = await run(...args);
      assertEquals(r.code, 2, r.stderr);
      assert(r.stderr.includes(fragment), `${args.join(" ")}: "${r.stderr}" lacks "${fragment}"`);
      assert(!/\n\s+at /.test(r.stderr), `${args.join(" ")} printed a stack: ${r.stderr}`);
    }
    const left = [...Deno.readDirSync(dir)].map((e) => e.name);
    assertEquals(left, ["garbage.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const torchPython = await findTorchPython().catch((e: Error) => {
  console.warn(`%cPyTorch export check ignored: ${e.message}`, "color: yellow");
  return null;
});

Deno.test({
  name: "tools/check_export.py: PyTorch loads each export with strict=True and its eval-mode " +
    "mu, logvar and decoder head match our GPU model's",
  // Without an adapter helpers.ts has said why; without torch, the warning above does.
  ignore: torchPython === null || await testGpu() === null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const gpu = (await testGpu())!, paths = await _fixtures(gpu), dir = paths.dir;
    const cases: string[] = [];
    for (const [name, src, model] of [["conv", paths.conv, "conv"], ["mlp", paths.mlp, "mlp"]]) {
      const out = (await exportTorch(src)).path;
      const vae = await loadVae(gpu, src, "", { model: model as "conv" | "mlp" });
      const ours = await _ours(vae, 3, 11);
      const steps = Number((await loadSafetensors(out)).metadata.steps);
      const file = join(dir, `${name}.json`);
      await Deno.writeTextFile(
        file,
        JSON.stringify({ weights: out, steps, atol: 1e-4, rtol: 1e-4, ...ours }),
      );
      cases.push(file);
    }
    const r = await new Deno.Command(torchPython!, {
      args: [join(ROOT, "tools", "check_export.py"), ...cases],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    const stdout = text.decode(r.stdout), stderr = text.decode(r.stderr);
    assertEquals(r.code, 0, `check_export.py failed:\n${stdout}${stderr}`);
    assertEquals(stdout.split("\n").filter((l) => l.startsWith("ok ")).length, 2, stdout);
    console.log(stdout.trim());
  },
});
