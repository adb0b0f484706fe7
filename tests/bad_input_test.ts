/**
 * The bad-input battery: every task run as a user would, with flags, data files, checkpoints,
 * output paths and resumes that cannot work. Each case asserts the exit code, that the message
 * names the flag or file, that no stack trace is printed and that no existing file changed
 * (every fixture hashed before and after). Plus the cases that must work despite odd input.
 */

import { join } from "node:path";
import { ConvVae } from "../src/conv/conv_vae.ts";
import { loadMnist, mnistPackageDir } from "../src/data/mnist.ts";
import { prepareOutDir } from "../src/io.ts";
import { bernoulli } from "../src/likelihood/bernoulli.ts";
import { gaussian } from "../src/likelihood/gaussian.ts";
import { initMlpParams, mlpLayout, MlpVae } from "../src/mlp/mlp_vae.ts";
import { saveModel } from "../src/train/checkpoint.ts";
import { loadSafetensors, saveSafetensors } from "../src/safetensors.ts";
import type { Gpu } from "../src/gpu/gpu.ts";
import { gpuTest } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function _task(name: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `tasks/${name.replaceAll("-", "_")}.ts`, ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Path -> SHA-256 of every file below `dir`. */
async function _hashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile) {
        const h = await crypto.subtle.digest("SHA-256", await Deno.readFile(p));
        out.set(p, Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0")).join(""));
      }
    }
  };
  await walk(dir);
  return out;
}

/** IDX files: images (magic 0x803, count, 28, 28) and labels (0x801, count). */
function _idx(images: Uint8Array, labels: Uint8Array): { images: Uint8Array; labels: Uint8Array } {
  const n = labels.length;
  const im = new Uint8Array(16 + images.length), lb = new Uint8Array(8 + n);
  const vi = new DataView(im.buffer), vl = new DataView(lb.buffer);
  [0x803, n, 28, 28].forEach((v, i) => vi.setUint32(4 * i, v));
  [0x801, n].forEach((v, i) => vl.setUint32(4 * i, v));
  im.set(images, 16);
  lb.set(labels, 8);
  return { images: im, labels: lb };
}

/** A data directory: MNIST's training files and a test set of `keep` test images. */
async function _dataDir(dir: string, keep: (label: number, i: number) => boolean): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const pkg = await mnistPackageDir();
  for (const f of ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]) {
    await Deno.symlink(join(pkg, f), join(dir, f));
  }
  const mnist = await loadMnist();
  const idx = [...mnist.test.labels.keys()].filter((i) => keep(mnist.test.labels[i], i));
  const images = new Uint8Array(idx.length * 784);
  idx.forEach((i, k) => images.set(mnist.test.images.subarray(i * 784, (i + 1) * 784), k * 784));
  const files = _idx(images, Uint8Array.from(idx, (i) => mnist.test.labels[i]));
  await Deno.writeFile(join(dir, "t10k-images-idx3-ubyte"), files.images);
  await Deno.writeFile(join(dir, "t10k-labels-idx1-ubyte"), files.labels);
  return dir;
}

/** A tiny MLP run's flags (its epochs and --out added). */
const RUN_ARGS = [
  "--hidden",
  "20",
  "--batch",
  "100",
  "--train-limit",
  "200",
  "--eval-images",
  "100",
  "--is-samples",
  "0",
];

interface Fixtures {
  dir: string;
  file: string;
  mlp: string;
  nan: string;
  conv: string;
  conv16: string;
  gauss: string;
  garbage: string;
  emptyTest: string;
  small: string;
  huge: string;
  badEpoch: string;
  badLog: string;
  /** The adapter's largest storage binding: whether 64 bins overflow it. */
  bindingLimit: number;
  badAct: string;
  run: string;
}

async function _fixtures(gpu: Gpu): Promise<Fixtures> {
  const dir = await Deno.makeTempDir({ prefix: "bad_input" });
  const file = join(dir, "a-file");
  await Deno.writeTextFile(file, "not a directory\n");
  const state = { epoch: 1, adamT: 1, seed: 0, bestEpoch: 1, log: [] };
  const shape = { pixels: 784, hidden: 20, latent: 2, activation: "tanh" as const };
  const layout = mlpLayout(shape);
  const mlp = join(dir, "mlp.safetensors"), nan = join(dir, "nan.safetensors");
  await saveModel(mlp, new MlpVae(gpu, shape, initMlpParams(layout, 1)), state);
  const bad = layout.split(initMlpParams(layout, 1));
  bad["dec.fc2.weight"][7] = NaN;
  await saveModel(nan, new MlpVae(gpu, shape, layout.join(bad)), state);
  const conv = join(dir, "conv.safetensors"), conv16 = join(dir, "conv16.safetensors");
  const gauss = join(dir, "gauss.safetensors"), garbage = join(dir, "garbage.safetensors");
  await saveModel(conv, ConvVae.init(gpu, { latent: 2 }, bernoulli, 1), state);
  await saveModel(conv16, ConvVae.init(gpu, { latent: 16 }, bernoulli, 1), state);
  await saveModel(gauss, ConvVae.init(gpu, { latent: 2 }, gaussian, 1), state);
  await Deno.writeFile(garbage, crypto.getRandomValues(new Uint8Array(3000)));
  const emptyTest = await _dataDir(join(dir, "empty-test"), () => false);
  const small = await _dataDir(join(dir, "small"), (_, i) => i < 50);
  // The MLP checkpoint with an absurd size and an unknown activation in its config.
  const withConfig = async (name: string, change: Record<string, unknown>) => {
    const c = await loadSafetensors(mlp);
    const config = { ...JSON.parse(c.metadata.config), ...change };
    const path = join(dir, name);
    await saveSafetensors(path, c.tensors, { ...c.metadata, config: JSON.stringify(config) });
    return path;
  };
  const huge = await withConfig("huge.safetensors", { hidden: 1e8 });
  const badAct = await withConfig("bad_act.safetensors", { activation: "swish" });
  // Checkpoints whose resume metadata is not what a run writes.
  const withMeta = async (name: string, change: Record<string, string>) => {
    const c = await loadSafetensors(mlp);
    const path = join(dir, name);
    await saveSafetensors(path, c.tensors, { ...c.metadata, ...change });
    return path;
  };
  const badEpoch = await withMeta("bad_epoch.safetensors", { epoch: "abc" });
  const badLog = await withMeta("bad_log.safetensors", { log: JSON.stringify({ epoch: 1 }) });
  // A finished 1-epoch MLP run, for --resume.
  const run = join(dir, "run");
  const r = await _task("train-mlp", [...RUN_ARGS, "--epochs", "1", "--out", run]);
  if (r.code !== 0) throw new Error(`fixture run failed: ${r.stderr}`);
  return {
    dir,
    file,
    mlp,
    nan,
    conv,
    conv16,
    gauss,
    garbage,
    emptyTest,
    small,
    huge,
    badAct,
    badEpoch,
    badLog,
    run,
    bindingLimit: gpu.limits.maxStorageBufferBindingSize,
  };
}

/** [task, args, exit code, what the message must say]. */
type Case = [string, string[], number, RegExp];

function _cases(x: Fixtures): Case[] {
  const sub = join(x.file, "sub");
  return [
    // Flags.
    ["train-mlp", ["--epochs", "-1"], 2, /--epochs must be 1 to 10000; got -1/],
    ["train-mlp", ["--epochs", "0"], 2, /--epochs must be 1 to/],
    ["train-mlp", ["--batch", "abc"], 2, /--batch must be a number; got 'abc'/],
    ["train-mlp", ["--epoch", "3"], 2, /unknown flag --epoch \(did you mean --epochs\?\)/],
    ["train-mlp", ["extra"], 2, /unexpected argument 'extra'/],
    ["train-mlp", ["--lr", "0"], 2, /--lr must be/],
    ["train-mlp", ["--binarize", "maybe"], 2, /--binarize must be one of static, dynamic/],
    ["train-mlp", ["--train-limit", "100"], 2, /--train-limit 100 is smaller than --batch 200/],
    ["train-bernoulli", ["--bins", "4"], 2, /unknown flag --bins/],
    ["train-gaussian", ["--binarize", "static"], 2, /unknown flag --binarize/],
    ["train-categorical", ["--bins", "1"], 2, /--bins must be 2 to 256/],
    ["train-bernoulli", ["--latent", "0"], 2, /--latent must be 1 to 64/],
    ["interpolate", ["--k", "1"], 2, /--k must be 2 to 64/],
    ["infer", ["--optimizer", "lbfgs"], 2, /--optimizer must be one of sgd, adam/],
    ["infer", ["--images", "0"], 2, /--images must be 1 to 10000/],
    ["infer", ["--samples", "0"], 2, /--samples must be 1 to 256/],
    ["infer", ["--lr", "-1"], 2, /--lr must be 1e-8 to 10; got -1/],
    ["complete", ["--observe", "right"], 2, /--observe must be one of left, top, quadrant/],
    ["latent-2d", ["--latent", "3"], 2, /latent-2d always trains a 2-D latent/],
    ["latent-pca", ["--images", "5"], 2, /--images must be 10 to 10000/],
    ["bench", ["--only", "convs"], 2, /--only takes groups among/],
    // Output paths.
    ["train-mlp", ["--out", x.file], 2, new RegExp(`${x.file}: it is a file`)],
    ["train-bernoulli", ["--out", sub], 2, new RegExp(`${x.file} is a file`)],
    ["mlp-figures", ["--checkpoint", x.mlp, "--out", x.file], 2, /it is a file/],
    ["interpolate", ["--checkpoint", x.conv, "--out", sub], 2, /is a file/],
    ["infer", ["--checkpoint", x.conv, "--out", x.file], 2, /it is a file/],
    ["complete", ["--checkpoint", x.conv, "--out", sub], 2, /is a file/],
    ["latent-pca", ["--checkpoint", x.conv16, "--out", x.file], 2, /it is a file/],
    ["latent-2d", ["--checkpoint", x.conv, "--out", x.file], 2, /it is a file/],
    ["compare-likelihoods", ["--out", x.file], 2, /it is a file/],
    ["bench", ["--only", "kernels", "--out", x.file], 2, /it is a file/],
    // Checkpoints.
    ["mlp-figures", ["--checkpoint", x.nan], 2, /tensor "dec\.fc2\.weight" holds NaN at index 7/],
    ["mlp-figures", ["--checkpoint", x.garbage], 2, /garbage\.safetensors/],
    ["mlp-figures", ["--checkpoint", x.conv], 2, /"conv" model, this task needs an MLP VAE/],
    ["mlp-figures", ["--checkpoint", join(x.dir, "none")], 2, /none.*train-mlp/],
    ["interpolate", ["--checkpoint", x.mlp], 2, /needs the conv VAE/],
    ["interpolate", ["--checkpoint", x.gauss], 2, /gaussian.*bernoulli/],
    ["infer", ["--checkpoint", x.gauss], 2, /gaussian/],
    ["complete", ["--checkpoint", x.garbage], 2, /garbage\.safetensors/],
    ["latent-2d", ["--checkpoint", x.conv16], 2, /16-D latent; latent-2d needs latent 2/],
    ["latent-2d", ["--checkpoint", x.conv, "--seed", "3"], 2, /--seed is a training flag/],
    ["latent-pca", ["--checkpoint", x.gauss], 2, /gaussian/],
    [
      "mlp-figures",
      ["--checkpoint", x.huge],
      2,
      /hidden 100000000, expected 1 to 8 integer widths/,
    ],
    ["mlp-figures", ["--checkpoint", x.badAct], 2, /activation "swish", expected one of tanh/],
    // Data.
    ["train-mlp", ["--data", join(x.dir, "none")], 2, /none: no such directory/],
    ["train-mlp", ["--data", x.dir], 2, /train-images-idx3-ubyte/],
    ["infer", ["--checkpoint", x.conv, "--data", x.emptyTest], 2, /empty-test.*holds no images/],
    [
      "mlp-figures",
      ["--checkpoint", x.mlp, "--data", x.small, "--scatter-images", "100"],
      2,
      /--scatter-images 100 asks for more than the 50 test images/,
    ],
    ["infer", ["--checkpoint", x.conv, "--data", x.small, "--images", "60"], 2, /--images 60/],
    [
      "train-mlp",
      ["--data", x.emptyTest, "--out", join(x.dir, "fresh"), "--epochs", "1"],
      2,
      /t10k-images-idx3-ubyte: it holds no images/,
    ],
    // Resume.
    ["train-mlp", ["--resume", "--out", join(x.dir, "none")], 2, /last\.safetensors.*train-mlp/],
    [
      "train-mlp",
      ["--resume", "--epochs", "1", "--hidden", "20", "--out", x.run],
      2,
      /Nothing to train: .*epoch 1 and --epochs is 1/,
    ],
    [
      "mlp-figures",
      ["--checkpoint", x.badEpoch],
      2,
      /bad_epoch\.safetensors: its metadata epoch is "abc", not a whole number/,
    ],
    [
      "mlp-figures",
      ["--checkpoint", x.badLog],
      2,
      /bad_log\.safetensors: its log metadata is not a list of epochs/,
    ],
    [
      "infer",
      [
        "--checkpoint",
        x.conv,
        "--lr",
        "10",
        "--images",
        "3",
        "--steps",
        "30",
        "--out",
        x.dir + "/i",
      ],
      1,
      /every one of the 3 images diverged in optimization .* at --lr 10; lower it/,
    ],
    // 64 bins: the decoder head alone is 195 MB, over lavapipe's 128 MiB binding (not a GPU's).
    ...(x.bindingLimit < 194964992
      ? [[
        "train-categorical",
        ["--bins", "64", "--batch", "8", "--train-limit", "64", "--out", x.dir + "/cat64"],
        1,
        /parameters are too large for one buffer .*dec\.head\.weight.*: use fewer --bins/,
      ] as Case]
      : []),
    [
      "infer",
      ["--seed", "4294967296"],
      2,
      /--seed must be 0 to 2147483647; got 4294967296/,
    ],
    [
      "course",
      ["--quick", "--only", "report", "--root", x.garbage],
      2,
      /garbage\.safetensors is a file, so no directory can be made below it/,
    ],
  ];
}

gpuTest(
  "the bad-input battery: exit 2, the flag or file named, no stack, no file changed",
  async (gpu) => {
    const x = await _fixtures(gpu);
    try {
      const cases = _cases(x);
      const failures: string[] = [];
      // One at a time: each case is a process of its own, and two runs into one --out (the
      // tasks' defaults) would meet each other's lock.
      for (let i = 0; i < cases.length; i++) {
        await Promise.all(
          cases.slice(i, i + 1).map(async ([task, args, code, says]) => {
            const before = await _hashes(x.dir);
            const r = await _task(task, args);
            const what = `${task} ${args.join(" ")}`;
            if (r.code !== code) {
              failures.push(`${what}: exit ${r.code}, want ${code}: ${r.stderr}`);
            } else if (!says.test(r.stderr)) {
              failures.push(`${what}: message ${JSON.stringify(r.stderr)}`);
            } else if (/^\s+at /m.test(r.stderr)) {
              failures.push(`${what}: printed a stack: ${r.stderr}`);
            }
            const after = await _hashes(x.dir);
            for (const [p, h] of before) {
              if (after.get(p) !== h) failures.push(`${what}: changed ${p}`);
            }
          }),
        );
      }
      if (failures.length > 0) {
        throw new Error(`${failures.length} of ${cases.length} cases:\n${failures.join("\n")}`);
      }
      // Runs record their data; a figure task reading other data says so, a resume refuses.
      const metrics = JSON.parse(await Deno.readTextFile(join(x.run, "metrics.json")));
      if (!/^[0-9a-f]{64}$/.test(metrics.data?.sha256)) throw new Error("metrics.json: no hash");
      const figs = await _task("mlp-figures", [
        "--checkpoint",
        join(x.run, "model.safetensors"),
        "--data",
        x.small,
        "--scatter-images",
        "10",
        "--out",
        join(x.dir, "figs"),
      ]);
      if (
        figs.code !== 0 || !/warning: .* was trained on the data in .*pass --data/.test(figs.stderr)
      ) {
        throw new Error(`mlp-figures on other data: exit ${figs.code}: ${figs.stderr}`);
      }
      const before = await _hashes(x.run);
      const other = await _task("train-mlp", [
        ...RUN_ARGS,
        "--epochs",
        "2",
        "--resume",
        "--out",
        x.run,
        "--data",
        x.small,
      ]);
      if (other.code !== 2 || !/resume with --data/.test(other.stderr)) {
        throw new Error(`resume on other data: exit ${other.code}: ${other.stderr}`);
      }
      const after = await _hashes(x.run);
      for (const [p, h] of before) if (after.get(p) !== h) throw new Error(`resume changed ${p}`);
    } finally {
      await Deno.remove(x.dir, { recursive: true });
    }
  },
);

Deno.test("prepareOutDir creates the directory and clears only dead runs' temp files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "a", "b");
    await prepareOutDir(out);
    if (!(await Deno.stat(out)).isDirectory) throw new Error("prepareOutDir made no directory");
    // A temp file of a process that is gone (pid 2^22 + 1 exceeds Linux's pid_max), one of this
    // process, and a user's file that only looks alike.
    const dead = join(out, ".model.safetensors.4194305.0123456789ab.tmp");
    const live = join(out, `.model.safetensors.${Deno.pid}.0123456789ab.tmp`);
    const mine = join(out, ".notes.tmp");
    for (const p of [dead, live, mine]) await Deno.writeFile(p, new Uint8Array(0));
    await prepareOutDir(out);
    const left = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    const want = [".lock", ".model.safetensors." + Deno.pid + ".0123456789ab.tmp", ".notes.tmp"];
    if (String(left) !== String(want)) throw new Error(`left ${left}, want ${want}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest(
  "interpolate leaves out the rows of digits the test set lacks, and says so",
  async (gpu) => {
    const dir = await Deno.makeTempDir({ prefix: "interp" });
    try {
      const ckpt = join(dir, "conv.safetensors");
      const state = { epoch: 1, adamT: 1, seed: 0, bestEpoch: 1, log: [] };
      await saveModel(ckpt, ConvVae.init(gpu, { latent: 2 }, bernoulli, 1), state);
      const data = await _dataDir(join(dir, "no7"), (l, i) => l !== 7 && i < 400);
      const r = await _task("interpolate", ["--checkpoint", ckpt, "--data", data, "--out", dir]);
      if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
      if (!/no image of digit 7; its row is left out/.test(r.stderr)) throw new Error(r.stderr);
      const ends = /rows end at digits ([\d, ]+)/.exec(r.stderr)?.[1].split(", ") ?? [];
      if (ends.length !== 8 || ends.includes("7")) throw new Error(`rows end at ${ends}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("no adapter: the message names the variables that can hide one (exit 1, no stack)", async () => {
  // bench --only matmul asks for the GPU before reading any data or checkpoint.
  const out = await Deno.makeTempDir();
  const r = await _task("bench", ["--only", "matmul", "--out", out], { DENO_WEBGPU_BACKEND: "" });
  await Deno.remove(out, { recursive: true });
  if (r.code !== 1 || !/DENO_WEBGPU_BACKEND=""/.test(r.stderr) || /^\s+at /m.test(r.stderr)) {
    throw new Error(`exit ${r.code}: ${r.stderr}`);
  }
});
