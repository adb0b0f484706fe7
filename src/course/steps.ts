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
  args(root: string, budget: Budget): string[];
}

/**
 * How much each step trains: "quick" shows that everything runs (minutes), "standard" trains
 * every model past the first epochs' posterior collapse in about two hours on a 2-core CPU,
 * "full" is every task's own defaults (the course's protocol: up to 50 epochs with early
 * stopping; about ten hours on a 2-core CPU, minutes on a GPU).
 */
export type Budget = "quick" | "standard" | "full";

export const BUDGETS: readonly Budget[] = ["quick", "standard", "full"];

/** Where a budget's outputs go by default: full under out/, the others under out/<budget>. */
export function defaultRoot(budget: Budget): string {
  return budget === "full" ? "out" : `out/${budget}`;
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
const QUICK = {
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

/**
 * Standard budgets, for about two hours on a 2-core CPU with lavapipe (~300 conv images/s):
 * each conv VAE trains 5 epochs on all 50,000 images in batches of 256 (the course's batch;
 * ~165 s an epoch), validates on all 10,000 images each epoch and tests on all 10,000, with
 * the IS NLL of 1,000 test images at K = 100; the MLP 20 epochs, the notebook preset its own
 * 10, the blog preset 10 of its 20; infer and complete their own defaults (10 images, up to
 * 500 steps). Figures and numbers are real results at that budget, short of convergence.
 */
const STANDARD = {
  conv: ["--epochs", "5", "--is-images", "1000", "--is-samples", "100"],
  mlp: ["--epochs", "20"],
  notebook: [],
  blog: ["--epochs", "10"],
  optimizePsi: [],
} as const;

type Flags = { readonly [K in keyof typeof QUICK]: readonly string[] };

/** The flags a budget adds to `kind`'s steps (none for full: the tasks' own defaults). */
function _budget(kind: keyof typeof QUICK, budget: Budget): readonly string[] {
  const table: Flags | null = budget === "quick" ? QUICK : budget === "standard" ? STANDARD : null;
  return table ? table[kind] : [];
}
const LIKELIHOODS = ["train-bernoulli", "train-gaussian", "train-beta", "train-categorical"];

/**
 * The flags that place a step's inputs and outputs under `root`; none under the default root
 * `out`, where every task's defaults already point, so that a run made by hand with the
 * defaults (its manifest's args: []) counts as the course's own and is not redone.
 */
function _where(root: string, flags: string[]): string[] {
  return normalize(root) === "out" ? [] : flags;
}

/** A step that trains from scratch: `--out`, plus its budget's flags. */
function _training(name: string, kind: keyof typeof QUICK): Step {
  return {
    name,
    task: name,
    deps: [],
    args: (root, b) => [..._where(root, ["--out", join(root, name)]), ..._budget(kind, b)],
  };
}

/** A step that reads `dep`'s model.safetensors, plus its budget's flags where it has any. */
function _figures(name: string, dep: string, kind?: keyof typeof QUICK): Step {
  return {
    name,
    task: name,
    deps: [dep],
    args: (root, b) => [
      ..._where(root, [
        "--checkpoint",
        join(root, dep, "model.safetensors"),
        "--out",
        join(root, name),
      ]),
      ...(kind ? _budget(kind, b) : []),
    ],
  };
}

const _courseSteps: Step[] = [
  ...LIKELIHOODS.map((name) => _training(name, "conv")),
  {
    name: "compare-likelihoods",
    task: "compare-likelihoods",
    deps: LIKELIHOODS,
    args: (root) => _where(root, ["--in", root, "--out", join(root, "compare-likelihoods")]),
  },
  _training("latent-2d", "conv"),
  _figures("latent-pca", "train-bernoulli"),
  _figures("interpolate", "train-bernoulli"),
  _figures("infer", "train-bernoulli", "optimizePsi"),
  _figures("complete", "train-bernoulli", "optimizePsi"),
  _training("train-mlp", "mlp"),
  _figures("mlp-figures", "train-mlp"),
  _training("train-notebook", "notebook"),
  _training("train-blog", "blog"),
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
