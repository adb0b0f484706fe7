/**
 * The tutorial presets as a user runs them, at a tiny budget: each trains through the shared
 * session, reports a loss (never a -ELBO, never an IS NLL), logs the notebook's printed-loss
 * quirk, writes its four figures and a manifest, and its checkpoint loads back as the same
 * architecture.
 */

import { join } from "node:path";
import { decode } from "fast-png";
import { loadVae } from "../src/app/models.ts";
import type { MlpVae } from "../src/mlp/mlp_vae.ts";
import { gpuTest } from "./helpers.ts";

const TINY = [
  "--epochs",
  "2",
  "--train-limit",
  "400",
  "--eval-images",
  "100",
  "--scatter-images",
  "100",
];

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

for (
  const [task, hidden, gridPx, pairsPx] of [
    ["train_notebook", [400, 400], 10 * 56, [4 * 58 - 2, 16 * 58 - 2]],
    ["train_blog", 128, 20 * 56, [8 * 58 - 2, 16 * 58 - 2]],
  ] as const
) {
  gpuTest(
    `deno task ${task.replace("_", "-")} trains, reports its loss and draws its figures`,
    async (gpu) => {
      const dir = await Deno.makeTempDir();
      try {
        const r = await _task(task, [...TINY, "--out", dir]);
        if (r.code !== 0) throw new Error(`${task} exited ${r.code}: ${r.stderr}`);
        const m = JSON.parse(await Deno.readTextFile(join(dir, "metrics.json")));
        if ("test_neg_elbo" in m || m.test_nll_is !== null || m.is_samples !== 0) {
          throw new Error(`a preset's metrics claim an ELBO or an IS NLL: ${JSON.stringify(m)}`);
        }
        if (!(Number.isFinite(m.test_loss) && /not a negative ELBO|not one here/.test(m.loss))) {
          throw new Error(`metrics lack the loss and its words: ${m.loss} ${m.test_loss}`);
        }
        if (m.binarize !== "none" || m.epochs !== 2 || !Array.isArray(m.tutorial_quirks)) {
          throw new Error(`metrics: ${JSON.stringify(m).slice(0, 400)}`);
        }
        const log = JSON.parse(await Deno.readTextFile(join(dir, "log.json")));
        for (const e of log) {
          if ("train_neg_elbo" in e || !Number.isFinite(e.train_loss + e.val_loss)) {
            throw new Error(`log entry: ${JSON.stringify(e)}`);
          }
          if (task === "train_notebook") {
            // 400 images at batch 100: 4 steps, printed as the sum over 3 batches' worth.
            const want = e.train_loss * 4 / 3;
            if (Math.abs(e.train_printed - want) > 1e-6 * want) {
              throw new Error(`train_printed ${e.train_printed}, want ${want}`);
            }
          } else if ("train_printed" in e) throw new Error("the blog printed no loss");
        }
        const grid = decode(await Deno.readFile(join(dir, "grid.png")));
        const pairs = decode(await Deno.readFile(join(dir, "reconstructions.png")));
        // The grid's lattice, its z2 axis (ticks and name) to the left and a margin.
        const axis = grid.width - gridPx;
        if (axis < 30 || axis > 90 || pairs.height !== pairsPx[0] || pairs.width !== pairsPx[1]) {
          throw new Error(
            `figure sizes: grid ${grid.width}, pairs ${pairs.width} x ${pairs.height}`,
          );
        }
        for (const svg of ["latent_scatter.svg", "latent_scatter_train.svg", "elbo.svg"]) {
          const text = await Deno.readTextFile(join(dir, svg));
          if ((text.match(/<circle/g) ?? []).length < (svg === "elbo.svg" ? 0 : 100)) {
            throw new Error(`${svg} has too few points`);
          }
        }
        const manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
        if (manifest.figures.length !== 5 || manifest.metrics !== "metrics.json") {
          throw new Error(`manifest: ${JSON.stringify(manifest).slice(0, 400)}`);
        }
        const vae = await loadVae(gpu, join(dir, "model.safetensors"), "", { model: "mlp" });
        if (JSON.stringify((vae as MlpVae).config.hidden) !== JSON.stringify(hidden)) {
          throw new Error(`checkpoint config: ${JSON.stringify((vae as MlpVae).config)}`);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}
