/**
 * A run killed with SIGKILL loses nothing: a tiny MLP run killed mid-epoch resumes from its
 * last finished epoch and ends with every epoch and two checkpoints that load; a temp file
 * left by a write that was killed is cleared by the next run in that directory.
 */

import { join } from "node:path";
import { loadCheckpoint } from "../src/train/checkpoint.ts";
import { gpuTest } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const ARGS = [
  "--epochs",
  "5",
  "--hidden",
  "20",
  "--batch",
  "100",
  "--train-limit",
  "10000",
  "--eval-images",
  "200",
  "--is-samples",
  "0",
];

function _trainMlp(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/train_mlp.ts", ...ARGS, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

gpuTest("train-mlp killed mid-epoch with SIGKILL resumes and finishes every epoch", async () => {
  const out = await Deno.makeTempDir({ prefix: "kill_resume" });
  try {
    const child = _trainMlp(["--out", out]);
    const last = join(out, "last.safetensors");
    // Kill as soon as epoch 1's checkpoint is there: during epoch 2 (or later on a fast GPU).
    const t0 = performance.now();
    while (!(await exists(last))) {
      if (performance.now() - t0 > 120_000) throw new Error("no checkpoint after 2 minutes");
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    const killed = await child.output();
    if (killed.success) throw new Error("the run finished before it was killed: make it longer");
    if (killed.signal !== "SIGKILL") throw new Error(`the run ended by ${killed.signal}`);
    const epochKilled = (await loadCheckpoint(last, "")).state.epoch;
    // What a write killed between open and rename leaves: an empty temp file of a dead process.
    const stale = join(out, ".last.safetensors.4194305.0123456789ab.tmp");
    await Deno.writeFile(stale, new Uint8Array(0));

    const resumed = await _trainMlp(["--out", out, "--resume"]).output();
    const stderr = new TextDecoder().decode(resumed.stderr);
    if (!resumed.success) throw new Error(`resume failed: ${stderr}`);
    if (!stderr.includes(`resuming from ${last} after epoch ${epochKilled}`)) {
      throw new Error(`resume did not say where it started: ${stderr}`);
    }
    for (const name of ["last.safetensors", "model.safetensors"]) {
      const c = await loadCheckpoint(join(out, name), "");
      if (name === "last.safetensors" && c.state.epoch !== 5) {
        throw new Error(`${name} is at epoch ${c.state.epoch}, want 5`);
      }
      if (c.state.log.length !== c.state.epoch) throw new Error(`${name}: log and epoch differ`);
    }
    const metrics = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
    if (metrics.epochs !== 5) throw new Error(`metrics.json says ${metrics.epochs} epochs`);
    if (await exists(stale)) throw new Error("the stale temp file was not cleared");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

gpuTest(
  "a run stopped in its final evaluation: --resume finishes it instead of refusing",
  async () => {
    const out = await Deno.makeTempDir({ prefix: "eval_resume" });
    try {
      const first = await _trainMlp(["--out", out, "--epochs", "1"]).output();
      if (!first.success) throw new Error(new TextDecoder().decode(first.stderr));
      // The task exports the best model's weights for PyTorch beside it.
      if (!(await exists(join(out, "model.torch.safetensors")))) {
        throw new Error("train-mlp wrote no model.torch.safetensors");
      }
      // What a Ctrl-C during the test evaluation leaves: every epoch, no metrics.json.
      const metrics = join(out, "metrics.json");
      const want = JSON.parse(await Deno.readTextFile(metrics));
      await Deno.remove(metrics);
      const resumed = await _trainMlp(["--out", out, "--epochs", "1", "--resume"]).output();
      const stderr = new TextDecoder().decode(resumed.stderr);
      if (!resumed.success) throw new Error(`resume failed: ${stderr}`);
      if (
        !/has all 1 epochs but no metrics.json after it: finishing the test evaluation/.test(stderr)
      ) {
        throw new Error(`no word of finishing the evaluation: ${stderr}`);
      }
      const got = JSON.parse(await Deno.readTextFile(metrics));
      for (const k of ["epochs", "best_epoch", "test_neg_elbo", "images_per_s"]) {
        if (got[k] !== want[k]) {
          throw new Error(
            `${k}: ${got[k]} after the resume, ${want[k]} before`,
          );
        }
      }
      // Now it is done: a second --resume has nothing to do.
      const again = await _trainMlp(["--out", out, "--epochs", "1", "--resume"]).output();
      if (again.code !== 2) throw new Error(`second resume exit ${again.code}, want 2`);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
);
