/**
 * `infer` and `complete` as a user runs them: on a small untrained conv VAE checkpoint, a few
 * images and steps, they write their figure and a JSON whose numbers hang together; bad input
 * exits 2 with a message that says what to do.
 */

import { join } from "node:path";
import { ConvVae } from "../src/conv/conv_vae.ts";
import { bernoulli } from "../src/likelihood/bernoulli.ts";
import { gaussian } from "../src/likelihood/gaussian.ts";
import { saveModel } from "../src/train/checkpoint.ts";
import type { Gpu } from "../src/gpu/gpu.ts";
import { gpuTest } from "./helpers.ts";

async function _task(name: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `tasks/${name}.ts`, ...args],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function _checkpoint(gpu: Gpu, dir: string, lik = bernoulli): Promise<string> {
  const path = join(dir, `${lik.name}.safetensors`);
  const vae = ConvVae.init(gpu, { latent: 4 }, lik, 1);
  await saveModel(path, vae, { epoch: 1, adamT: 1, seed: 0, bestEpoch: 1, log: [] });
  return path;
}

const QUICK = ["--images", "3", "--steps", "6", "--patience", "3", "--eval-samples", "4"];

gpuTest("deno task infer writes infer.png and infer.json with per-image gaps", async (gpu) => {
  const dir = await Deno.makeTempDir();
  try {
    const ckpt = await _checkpoint(gpu, dir);
    const r = await _task("infer", [
      "--checkpoint",
      ckpt,
      "--out",
      dir,
      ...QUICK,
      "--samples",
      "2",
    ]);
    if (r.code !== 0) throw new Error(`infer exited ${r.code}: ${r.stderr}`);
    if (!/amortization gap: -?\d/.test(r.stdout)) throw new Error(`no gap printed: ${r.stdout}`);
    const j = JSON.parse(await Deno.readTextFile(join(dir, "infer.json")));
    if (j.images !== 3 || j.per_image.length !== 3 || j.eval_samples !== 4) {
      throw new Error(`infer.json: ${JSON.stringify(j).slice(0, 300)}`);
    }
    for (const p of j.per_image) {
      const gap = p.neg_elbo_encoder - p.neg_elbo_psi;
      if (Math.abs(gap - p.gap) > 2e-3 || !(p.steps <= 6) || !(p.best_step <= p.steps)) {
        throw new Error(`per-image entry does not hang together: ${JSON.stringify(p)}`);
      }
    }
    const png = await Deno.readFile(join(dir, "infer.png"));
    if (png.length < 100) throw new Error("infer.png is empty");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest(
  "deno task complete writes complete.png and complete.json for each observed part",
  async (gpu) => {
    const dir = await Deno.makeTempDir();
    try {
      const ckpt = await _checkpoint(gpu, dir);
      for (const [observe, pixels] of [["left", 392], ["quadrant", 196]] as const) {
        const out = join(dir, observe);
        const r = await _task("complete", [
          "--checkpoint",
          ckpt,
          "--out",
          out,
          "--observe",
          observe,
          ...QUICK,
        ]);
        if (r.code !== 0) throw new Error(`complete exited ${r.code}: ${r.stderr}`);
        const j = JSON.parse(await Deno.readTextFile(join(out, "complete.json")));
        if (j.observed_pixels !== pixels || j.per_image.length !== 3) {
          throw new Error(`complete.json (${observe}): ${JSON.stringify(j).slice(0, 300)}`);
        }
        for (const p of j.per_image) {
          if (!(p.nll_q > 0 && p.nll_prior > 0)) throw new Error(`NLLs: ${JSON.stringify(p)}`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest(
  "infer and complete refuse a missing checkpoint or a non-Bernoulli one (exit 2)",
  async (gpu) => {
    const dir = await Deno.makeTempDir();
    try {
      const missing = await _task("infer", ["--checkpoint", join(dir, "none.safetensors")]);
      if (missing.code !== 2 || !missing.stderr.includes("train-bernoulli")) {
        throw new Error(`missing checkpoint: exit ${missing.code}, ${missing.stderr}`);
      }
      const other = await _task("complete", [
        "--checkpoint",
        await _checkpoint(gpu, dir, gaussian),
      ]);
      if (other.code !== 2 || !/gaussian/.test(other.stderr)) {
        throw new Error(`gaussian checkpoint: exit ${other.code}, ${other.stderr}`);
      }
      const bad = await _task("infer", ["--optimizer", "lbfgs"]);
      if (bad.code !== 2 || !bad.stderr.includes("sgd")) {
        throw new Error(`bad optimizer: exit ${bad.code}, ${bad.stderr}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
