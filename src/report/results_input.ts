/**
 * What docs/results.md is built from (src/report/results.ts): the shapes tasks/results.ts
 * fills in from a course root's run directories (each step's manifest, metrics, log and
 * figures, the PyTorch reference runs, the runs beside the course's) and the constants it reads
 * them by. Types and constants only, so every part of the page can name them.
 */

import type { CourseRecord, CourseStepRecord } from "../course/run.ts";
import type { EpochLog } from "../train/epoch_log.ts";
import type { Manifest } from "./manifest.ts";

/** A figure larger than this is left out of the page: docs/ is committed. */
export const MAX_FIGURE_BYTES = 400 * 1024;

/** The likelihood each conv training step fits: also the name of its PyTorch reference file. */
export const LIKELIHOOD_STEPS: Readonly<Record<string, string>> = {
  "train-bernoulli": "bernoulli",
  "train-gaussian": "gaussian",
  "train-beta": "beta",
  "train-categorical": "categorical",
};

/** What tools/pytorch_reference.py writes to `<dir>/<likelihood>.json`. */
export interface PytorchRun {
  likelihood: string;
  epochs: number;
  test_neg_elbo: number;
  test_nll_is: number | null;
  is_samples: number;
  is_images: number;
  test_bpd: number | null;
  test_nll_is_bpd: number | null;
  active_units: number | null;
  seed: number;
  framework: string;
  threads: number;
  images_per_s: number | null;
}

export interface PytorchEntry {
  file: string;
  run: PytorchRun | null;
  /** Runs of other seeds, `<likelihood>-seed<N>.json` beside `file`. */
  seeds?: { file: string; run: PytorchRun }[];
  /** Why there is no run to compare: no file, unreadable, another likelihood's. */
  problem?: string;
}

export interface FigureEntry {
  /** The manifest's path, relative to the run directory. */
  file: string;
  caption: string;
  /** The copy's path relative to the page; null when it was not copied. */
  href: string | null;
  /** Why it was not copied: too large, missing, or a path that leaves the run directory. */
  skipped?: string;
}

export interface StepRun {
  manifest: Manifest;
  /** metrics.json, or the task's own results JSON (infer.json, pca.json, compare.json). */
  metrics: Record<string, unknown> | null;
  metricsFile: string | null;
  log: EpochLog[] | null;
  figures: FigureEntry[];
  /** Files the manifest names that could not be read, in words. */
  problems: string[];
}

export interface StepEntry {
  name: string;
  task: string;
  /** The command that makes this step under the root (course.json's, else the step table's). */
  command: string;
  /** This step in course.json, when the course recorded it. */
  record: CourseStepRecord | null;
  run: StepRun | null;
  /** A manifest.json that is there but cannot be used. */
  problem?: string;
  /** Likelihood steps only: the PyTorch reference file, read or not. */
  pytorch?: PytorchEntry;
}

/** Training runs beside the course's (remedies, other seeds), from one directory of runs. */
export interface ExtraRuns {
  /** The directory as given on the command line. */
  dir: string;
  title: string;
  /** What these runs ask, in a sentence or two. */
  intro: string;
  runs: { name: string; run: StepRun }[];
  /** Runs of the course's models under other seeds: the page sets each seed beside PyTorch's. */
  bySeed?: boolean;
}

export interface ResultsInput {
  /** The root as given on the command line. */
  root: string;
  course: CourseRecord | null;
  steps: StepEntry[];
  /** The command that wrote the page. */
  command: string;
  extras?: ExtraRuns[];
}
