/**
 * The course's step table: every experiment `deno task course` runs, in an order where each
 * step comes after the steps whose outputs it reads, with the flags it passes. All outputs go
 * under one root (`out`, or `out/quick` for the quick budgets), so each step is given its
 * `--out` and the `--checkpoint` / `--in` of its dependencies under that same root, rather than
 * relying on the tasks' defaults, which point at `out/`.
 */

import { join, normalize } from "node:path";

export interface Step {
  /** The step's name, also its output directory under the root. */
  name: string;
  /** The deno.json task it runs (`deno task <task> <args>`). */
  task: string;
  /** Steps whose outputs it reads: they come first, and a newer output there makes it stale. */
  deps: string[];
  /**
   * A dependency that is missing or blocked does not block this step: it reads what there is
   * (the report shows the figures that exist rather than none).
   */
  partialDeps?: boolean;
  /** The flags after `deno task <task>`, including `--out`. */
  args(root: string, quick: boolean): string[];
}

/** A step's output directory: `<root>/<name>`. */
export function outDir(step: Pick<Step, "name">, root: string): string {
  return join(root, step.name);
}

/**
 * Quick budgets, meant to finish the whole course in well under 30 minutes on a 2-core CPU with
 * the software adapter (lavapipe). Each conv model trains one epoch on 8,000 images in batches
 * of 32: 250 steps, enough to escape the posterior collapse that a few large-batch steps end
 * in (2,000 images in batches of 256, 7 steps: KL 0.05, every reconstruction the mean digit;
 * 250 steps of 32: test -ELBO 164, KL 8, about 2 minutes at ~78 images/s), then validation and
 * test on 500 images and the IS NLL of 100 with K = 20. The MLPs run at ~1,000 images/s. The
 * figures show what each study shows, but the numbers are not the course's results.
 */
export const QUICK = {
  conv: [
    "--epochs",
    "1",
    "--batch",
    "32",
    "--train-limit",
    "8000",
    "--eval-images",
    "500",
    "--is-images",
    "100",
    "--is-samples",
    "20",
  ],
  mlp: ["--epochs", "3", "--train-limit", "10000", "--eval-images", "2000", "--is-images", "200"],
  notebook: ["--epochs", "2", "--train-limit", "10000", "--eval-images", "2000"],
  blog: ["--epochs", "2", "--train-limit", "5000", "--eval-images", "1000"],
  optimizePsi: ["--images", "10", "--steps", "200"],
} as const;

const LIKELIHOODS = ["train-bernoulli", "train-gaussian", "train-beta", "train-categorical"];

/**
 * The flags that place a step's inputs and outputs under `root`; none under the default root
 * `out`, where every task's defaults already point, so that a run made by hand with the
 * defaults (its manifest's args: []) counts as the course's own and is not redone.
 */
function _where(root: string, flags: string[]): string[] {
  return normalize(root) === "out" ? [] : flags;
}

/** A step that trains from scratch: `--out`, plus its quick budget under --quick. */
function _training(name: string, quick: readonly string[]): Step {
  return {
    name,
    task: name,
    deps: [],
    args: (root, q) => [..._where(root, ["--out", join(root, name)]), ...(q ? quick : [])],
  };
}

/** A step that reads `dep`'s model.safetensors. */
function _figures(name: string, dep: string, quick: readonly string[] = []): Step {
  return {
    name,
    task: name,
    deps: [dep],
    args: (root, q) => [
      ..._where(root, [
        "--checkpoint",
        join(root, dep, "model.safetensors"),
        "--out",
        join(root, name),
      ]),
      ...(q ? quick : []),
    ],
  };
}

const _courseSteps: Step[] = [
  ...LIKELIHOODS.map((name) => _training(name, QUICK.conv)),
  {
    name: "compare-likelihoods",
    task: "compare-likelihoods",
    deps: LIKELIHOODS,
    args: (root) => _where(root, ["--in", root, "--out", join(root, "compare-likelihoods")]),
  },
  _training("latent-2d", QUICK.conv),
  _figures("latent-pca", "train-bernoulli"),
  _figures("interpolate", "train-bernoulli"),
  _figures("infer", "train-bernoulli", QUICK.optimizePsi),
  _figures("complete", "train-bernoulli", QUICK.optimizePsi),
  _training("train-mlp", QUICK.mlp),
  _figures("mlp-figures", "train-mlp"),
  _training("train-notebook", QUICK.notebook),
  _training("train-blog", QUICK.blog),
];

/** Every step of the course, in the order it runs; the report last, over all the others. */
export const STEPS: readonly Step[] = [
  ..._courseSteps,
  {
    name: "report",
    task: "report",
    deps: _courseSteps.map((s) => s.name),
    partialDeps: true,
    args: (root) => _where(root, ["--in", root, "--out", join(root, "report")]),
  },
];
