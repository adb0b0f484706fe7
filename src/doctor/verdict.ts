/**
 * Whether this machine is fit for the course, from the measured training speeds: how long one
 * conv epoch and the quick course would take, and what would make it faster. Pure functions of
 * their arguments, so each case can be tested without a GPU.
 */

import { type Budget, type Step, STEPS } from "../course/steps.ts";
import { type Backend, mesaMajor } from "../gpu/backend.ts";

/** One epoch of the conv VAE: the training split. */
const CONV_EPOCH_IMAGES = 50_000;

// The quick course's work, counted in training images of the model a step trains or uses.
// An evaluation forward costs about a third of a training image (the conv VAE evaluates about
// three times faster than it trains on lavapipe); an importance sample is one forward.
// A psi step (infer, complete) is a forward and a decoder-only backward: about two thirds.
// Every step also pays process start, data loading, pipeline compiles and figures: assumed
// 8 s each. These are estimates, not measurements of the course.
const EVAL_COST = 1 / 3;
const PSI_COST = 2 / 3;
const FIXED_S_PER_STEP = 8;
const CONV_TASKS = new Set([
  "train-bernoulli",
  "train-gaussian",
  "train-beta",
  "train-categorical",
  "latent-2d",
]);
const MLP_TASKS = new Set(["train-mlp", "train-notebook", "train-blog"]);
const PSI_TASKS = new Set(["infer", "complete"]);
/** Importance samples where the quick flags leave the task's default (tasks/train_mlp.ts). */
const IS_SAMPLES_DEFAULT: Record<string, number> = { "train-mlp": 100 };

/**
 * The tasks' own defaults, for flags a budget leaves out: epochs (the conv tasks' 50 are an
 * upper bound that early stopping may cut), training and evaluation images, the IS NLL's images
 * and samples, and the psi tasks' images and steps.
 */
function _default(task: string, flag: string): number {
  const conv = CONV_TASKS.has(task);
  switch (flag) {
    case "epochs":
      return conv ? 50 : task === "train-notebook" ? 10 : 100;
    case "train-limit":
      return CONV_EPOCH_IMAGES;
    case "eval-images":
      return 10_000;
    case "is-images":
      return conv ? 512 : task === "train-mlp" ? 1000 : 0;
    case "is-samples":
      return conv ? 50 : IS_SAMPLES_DEFAULT[task] ?? 0;
    case "images":
      return 10;
    case "steps":
      return 500;
  }
  return 0;
}

export interface TrainingRates {
  /** Training images per second of the MLP VAE (batch 200) and the conv VAE (batch 256). */
  mlp: number;
  conv: number;
  /** Software adapters: this process's share of all CPUs during the conv steps. */
  cpuShare?: number;
}

export type Fitness = "yes" | "quick-only" | "no";

export interface Verdict {
  convEpochMinutes: number;
  quickCourseMinutes: number;
  fit: Fitness;
  /** One sentence on the machine. */
  summary: string;
  /** What to do about it; empty when nothing would help. */
  advice: string[];
}

/** A conv epoch at most this long makes the full course (up to 50 epochs per run) a day's work. */
const FULL_COURSE_EPOCH_MINUTES = 2;
/**
 * Beyond an hour the quick course is not worth it here (it is meant to take under 30 minutes
 * on the 2-core software adapter; measured 13 min there).
 */
const QUICK_COURSE_MINUTES = 60;
/** Below this CPU share, other processes slowed the timed steps noticeably. */
const BUSY_SHARE = 0.75;

/** The verdict for these speeds on this backend and driver. */
export function verdict(
  speeds: TrainingRates,
  backend: Backend,
  driver: string | null,
  isSoftware: boolean,
): Verdict {
  const convEpochMinutes = CONV_EPOCH_IMAGES / speeds.conv / 60;
  const quickCourseMinutes = quickCourseSeconds(speeds) / 60;
  const epoch = `one conv epoch (${CONV_EPOCH_IMAGES.toLocaleString("en-US")} images) takes ` +
    `about ${formatMinutes(convEpochMinutes)}`;
  const quick = `the quick course about ${formatMinutes(quickCourseMinutes)}`;
  let fit: Fitness, summary: string;
  if (convEpochMinutes <= FULL_COURSE_EPOCH_MINUTES) {
    fit = "yes";
    summary = `Fit for the full course: ${epoch}, ${quick}.`;
  } else if (quickCourseMinutes <= QUICK_COURSE_MINUTES) {
    fit = "quick-only";
    summary = `Fit for the quick course only: ${epoch} (the full course trains up to 50 ` +
      `epochs per conv run), ${quick}.`;
  } else {
    fit = "no";
    summary = `Not fit for the course: ${epoch}, and even ${quick}.`;
  }
  const advice: string[] = [];
  if (isSoftware && speeds.cpuShare !== undefined && speeds.cpuShare < BUSY_SHARE) {
    advice.push(
      `The steps had ${Math.round(speeds.cpuShare * 100)}% of the CPUs (other processes ` +
        "took the rest), so these times are pessimistic: rerun on an idle machine.",
    );
  }
  if (isSoftware && fit !== "yes") {
    advice.push(
      "This is a software adapter (the CPU does the GPU's work): use `deno task course " +
        "--quick`, or a machine with a GPU for the full course.",
    );
  }
  if (backend === "gl") {
    advice.push(
      "Deno runs on wgpu's GL backend: install Mesa's Vulkan driver (sudo apt-get install " +
        "mesa-vulkan-drivers) and leave DENO_WEBGPU_BACKEND unset; Vulkan is Deno's default " +
        "and the backend the kernels were tuned and tested on.",
    );
  }
  const major = mesaMajor(driver);
  if (isSoftware && major !== null && major < 25) {
    advice.push(
      `${driver} is older than Mesa 25: on Debian 12, install mesa-vulkan-drivers from ` +
        "bookworm-backports (sudo apt-get install -t bookworm-backports mesa-vulkan-drivers), " +
        "about 2.5x faster on the software adapter.",
    );
  }
  return { convEpochMinutes, quickCourseMinutes, fit, summary, advice };
}

/** The quick course's estimated wall time at these speeds: its steps' work plus fixed costs. */
export function quickCourseSeconds(speeds: TrainingRates, steps: readonly Step[] = STEPS): number {
  return steps.reduce((t, step) => t + stepSeconds(step, "quick", speeds), 0);
}

/**
 * One course step's estimated wall time under `budget` at these speeds: the training and
 * evaluation images of the model it trains or uses (flags the budget leaves out take the task's
 * defaults), plus the fixed cost of a step.
 */
export function stepSeconds(step: Step, budget: Budget, speeds: TrainingRates): number {
  const args = step.args(`out/${budget}`, budget);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : _default(step.task, name);
  };
  let seconds = FIXED_S_PER_STEP;
  if (CONV_TASKS.has(step.task) || MLP_TASKS.has(step.task)) {
    const epochs = flag("epochs"), evalImages = flag("eval-images");
    const images = epochs * flag("train-limit") +
      EVAL_COST * ((epochs + 1) * evalImages + flag("is-images") * flag("is-samples"));
    seconds += images / (CONV_TASKS.has(step.task) ? speeds.conv : speeds.mlp);
  } else if (PSI_TASKS.has(step.task)) {
    seconds += (PSI_COST * flag("images") * flag("steps")) / speeds.conv;
  }
  return seconds;
}

/** "45 s", "12 min", "3.4 h". */
export function formatMinutes(minutes: number): string {
  if (!Number.isFinite(minutes)) return "forever";
  if (minutes < 1) return `${Math.round(minutes * 60)} s`;
  if (minutes < 90) return `${Math.round(minutes)} min`;
  return `${(minutes / 60).toFixed(1)} h`;
}
