/**
 * deno task course: every experiment of the course in dependency order, in one command, then
 * the report. Outputs go under --root (out, or out/quick with --quick); each step is given its
 * --out and its inputs' paths under that root. Steps whose manifest.json is up to date are
 * skipped, so rerunning after a failure or a Ctrl-C resumes where it stopped. Writes
 * ROOT/course/course.json (what ran, how long, quick or not) for the report.
 */

import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags, runTask, UsageError, usageText } from "../src/cli.ts";
import { prepareOutDir } from "../src/io.ts";
import { type Budget, defaultRoot, STEPS } from "../src/course/steps.ts";
import { observeManifests, planCourse, type PlannedStep, shellLine } from "../src/course/plan.ts";
import {
  courseFile,
  denoTaskRunner,
  formatSeconds,
  runCourse,
  summaryTable,
} from "../src/course/run.ts";
import { stepSeconds } from "../src/doctor/verdict.ts";

// The ETA's speeds: training images/s of the conv and MLP VAEs with Mesa's software adapter on
// a 2-core CPU (deno task doctor measures this machine's); a GPU is many times faster.
const ETA_SPEEDS = { conv: 300, mlp: 3000 };

const SPEC = {
  root: {
    type: "string",
    value: "DIR",
    help: 'where every step writes, each into DIR/<step>; default "out", "out/quick" with ' +
      '--quick, "out/standard" with --standard',
  },
  quick: {
    type: "boolean",
    help: "small training budgets: the whole course in about 10 minutes on a 2-core CPU",
  },
  standard: {
    type: "boolean",
    help: "5 epochs per conv VAE on all the data: real results in about 2 hours on a 2-core CPU",
  },
  force: { type: "boolean", help: "run every step (of --only) even when it is up to date" },
  only: {
    type: "string",
    value: "A,B",
    help: "run only these steps, comma-separated; their dependencies are not added",
  },
  dryRun: { type: "boolean", help: "print the plan (run or skip, why, the command) and stop" },
} as const;
const USAGE = {
  task: "course",
  summary: "Runs the whole course of experiments in dependency order, skipping steps that " +
    "are up to date, then the report.",
  details: [
    `Steps, in order: ${STEPS.map((s) => s.name).join(", ")}. Each writes into ROOT/<step>; ` +
    "the figure steps read the training steps' model.safetensors under the same ROOT, " +
    "compare-likelihoods and report read ROOT.",
    "A step is up to date when ROOT/<step>/manifest.json (which every task writes last) exists, " +
    "was made by the flags the course passes now, and is not older than the manifests of the " +
    "steps it reads. Others run, and so do the steps after them that read their outputs. A " +
    "task that deno.json does not define is listed as missing and the steps that need it as " +
    "blocked; the report runs over whatever the other steps wrote.",
    "Without a budget flag the steps run with their own defaults, the course's protocol (up to " +
    "50 epochs with early stopping: about 10 hours on a 2-core CPU with the software adapter). " +
    "--standard trains each conv VAE (four likelihoods and latent-2d) for 5 epochs on all " +
    "50,000 images in batches of 256, validating and testing on all 10,000 and estimating the " +
    "IS NLL on 1,000 test images with K = 100; the MLP 20 epochs, the notebook preset its own " +
    "10, the blog preset 10; infer and complete their defaults. " +
    "--quick trains the conv VAEs 1 epoch on 8,000 images in batches of 32, validating and " +
    "testing on 500 and estimating the IS NLL on 100 images with K = 20; the MLP 3 epochs on " +
    "10,000; the notebook preset 2 epochs on 10,000, the blog preset 2 on 5,000; infer and " +
    "complete 200 steps on 10 images. Its results show that everything runs, not what the " +
    "models can do, and course.json marks them quick for the report.",
    "Prints a line per step, the step's own output, and a table at the end. A step that fails " +
    "stops the course (exit 1) with the command to rerun it; rerunning the course resumes " +
    "there. Exit 2: a bad flag.",
  ],
};

runTask(async () => {
  const f = parseFlags(Deno.args, SPEC, USAGE);
  if (f.quick && f.standard) {
    throw new UsageError(
      "--quick and --standard are two budgets: give one",
      usageText(SPEC, USAGE),
    );
  }
  const budget: Budget = f.quick ? "quick" : f.standard ? "standard" : "full";
  const project = fileURLToPath(new URL("..", import.meta.url));
  // Steps run through `deno task`, which works in the project directory: give them paths
  // relative to it (or absolute), and work there ourselves so both read the same files.
  const given = resolve(f.root ?? defaultRoot(budget));
  const rel = relative(project, given);
  const root = rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? given : rel;
  Deno.chdir(project);

  const names = new Set(STEPS.map((s) => s.name));
  const only = f.only === undefined ? undefined : new Set(f.only.split(",").map((s) => s.trim()));
  const unknown = [...(only ?? [])].filter((s) => !names.has(s));
  if (unknown.length > 0) {
    throw new UsageError(
      `--only names no step '${unknown.join("', '")}'; the steps are ${[...names].join(", ")}`,
      usageText(SPEC, USAGE),
    );
  }
  const tasks = await _denoTasks(`${project}/deno.json`);
  const manifests = await observeManifests(STEPS, root);
  const planned = planCourse(STEPS, manifests, {
    root,
    budget,
    force: f.force,
    only,
    tasks,
  });
  const estimate = (p: PlannedStep) => stepSeconds(p.step, budget, ETA_SPEEDS);
  console.log(_planText(planned, root, budget, f.dryRun, estimate));
  if (f.dryRun) return;

  // The root must be writable, and one course at a time: the lock sits in ROOT/course/.
  await prepareOutDir(join(root, "course"));
  const resume = shellLine([
    "deno",
    "task",
    "course",
    ...(budget === "full" ? [] : [`--${budget}`]),
    ...(f.root !== undefined ? ["--root", root] : []),
    ...(f.only !== undefined ? ["--only", f.only] : []),
  ]);
  const result = await runCourse(planned, {
    root,
    budget,
    resume,
    run: denoTaskRunner(project),
    estimate,
  });
  console.log(`\n${summaryTable(result.record)}\nwrote ${courseFile(root)}`);
  const missing = planned.filter((p) => p.decision === "missing" || p.decision === "blocked");
  if (missing.length > 0) {
    console.log(
      `note: ${missing.map((p) => `${p.step.name} (${p.decision})`).join(", ")} did not run: ` +
        "see the plan above",
    );
  }
  if (result.failure) {
    console.error(`\nerror: ${result.failure.message}`);
    Deno.exitCode = 1;
  } else if (missing.length > 0) Deno.exitCode = 1;
});

/** The plan: a count line, then each step's decision, reason and (dry run) command. */
function _planText(
  planned: PlannedStep[],
  root: string,
  budget: Budget,
  dry: boolean,
  estimate: (p: PlannedStep) => number,
): string {
  const count = (d: string) => planned.filter((p) => p.decision === d).length;
  const toRun = planned.filter((p) => p.decision === "run");
  const total = toRun.reduce((t, p) => t + estimate(p), 0);
  const head = `Course (${budget} budget) under ${root}: ${count("run")} to run, ` +
    `${count("skip")} skipped, ${count("missing")} missing, ${count("blocked")} blocked` +
    (toRun.length > 0
      ? `; about ${formatSeconds(total)} at ${ETA_SPEEDS.conv} conv images/s (a 2-core CPU's ` +
        "software adapter; `deno task doctor` measures this machine)"
      : "");
  const w = Math.max(...planned.map((p) => p.step.name.length));
  const lines = planned.map((p) => {
    const eta = p.decision === "run" ? ` (about ${formatSeconds(estimate(p))})` : "";
    const row = `  ${p.step.name.padEnd(w)}  ${p.decision.padEnd(7)}  ${p.reason}${eta}`;
    return dry && p.decision !== "missing"
      ? `${row}\n  ${" ".repeat(w)}  $ ${shellLine(p.argv)}`
      : row;
  });
  return [head, ...lines, ...(dry ? ["(dry run: nothing ran)"] : [""])].join("\n");
}

/** The task names in deno.json: steps whose task is not there are reported missing. */
async function _denoTasks(path: string): Promise<Set<string>> {
  try {
    const config = JSON.parse(await Deno.readTextFile(path));
    return new Set(Object.keys(config?.tasks ?? {}));
  } catch (e) {
    throw new Error(`Cannot read the task list from ${path}: ${(e as Error).message}`);
  }
}
