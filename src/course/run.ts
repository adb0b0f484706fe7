/**
 * Runs a planned course top to bottom and keeps `<root>/course/course.json` current after every
 * step, so the report (and a person) can tell what ran, with which command, how long it took
 * and whether these are quick results. The command runner is a parameter: the course passes
 * one that spawns `deno task`, the tests pass tiny fakes.
 */

import { join } from "node:path";
import { writeFileAtomic } from "../io.ts";
import { MANIFEST, type PlannedStep, shellLine } from "./plan.ts";
import type { Budget } from "./steps.ts";

const COURSE_VERSION = 1;

/** `<root>/course/course.json`. */
export function courseFile(root: string): string {
  return join(root, "course", "course.json");
}

export type StepStatus = "ran" | "skipped" | "failed" | "missing" | "blocked" | "planned";

export interface CourseStepRecord {
  task: string;
  out: string;
  status: StepStatus;
  /** Wall time of the run; null for a step that did not run. */
  seconds: number | null;
  /** The command line, ready to paste into a shell. */
  command: string;
  /** Why it ran or did not ("up to date", "no manifest.json yet", "needs report, which is missing"). */
  reason: string;
  /** The exit code of a failed step. */
  exit_code?: number;
  /**
   * A step skipped as up to date: how long its outputs took when an earlier course made them
   * (carried from the previous course.json), so the record keeps the whole course's time.
   */
  earlier_seconds?: number;
}

export interface CourseRecord {
  version: number;
  /** Whether the steps ran with the quick budgets: their numbers are not the course's results. */
  quick: boolean;
  /** The budget the steps ran with (steps.ts); absent in records older than budgets. */
  budget?: Budget;
  root: string;
  started: string;
  /** When the last step ended; null while running. */
  finished: string | null;
  steps: CourseStepRecord[];
}

/** Runs one step's command and resolves to its exit code. */
export type RunCommand = (step: PlannedStep) => Promise<number>;

export interface RunOptions {
  root: string;
  budget: Budget;
  run: RunCommand;
  /** The course command to suggest for resuming after a failure, e.g. "deno task course --quick". */
  resume: string;
  /** Where the course's own lines go (the steps' output goes wherever `run` sends it). */
  print?: (line: string) => void;
  /** Estimated seconds of a step, for the ETA printed as each step starts; none: no ETA. */
  estimate?: (p: PlannedStep) => number;
}

export interface CourseResult {
  record: CourseRecord;
  /** The step that failed, and what to do about it; undefined when none did. */
  failure?: { step: string; code: number; message: string };
}

/**
 * Runs the steps planned "run" in order, skipping the others, and stops at the first that
 * exits non-zero: the steps after it stay "planned", so rerunning the course resumes there.
 */
export async function runCourse(planned: PlannedStep[], o: RunOptions): Promise<CourseResult> {
  const print = o.print ?? ((line: string) => console.log(line));
  const record: CourseRecord = {
    version: COURSE_VERSION,
    quick: o.budget === "quick",
    budget: o.budget,
    root: o.root,
    started: new Date().toISOString(),
    finished: null,
    steps: planned.map((p) => ({
      task: p.step.task,
      out: p.out,
      status: _initialStatus(p),
      seconds: null,
      command: shellLine(p.argv),
      reason: p.reason,
    })),
  };
  // Skipped steps (up to date, or left out by --only) keep the time an earlier course took.
  const before = await _previous(courseFile(o.root));
  for (const r of record.steps) {
    const was = before.get(r.task);
    if (r.status !== "skipped" || !was) continue;
    const t = was.status === "ran" ? was.seconds : was.earlier_seconds;
    if (typeof t === "number") r.earlier_seconds = t;
  }
  const save = () => writeFileAtomic(courseFile(o.root), JSON.stringify(record, null, 2) + "\n");
  await save();
  const width = String(planned.length).length;
  let failure: CourseResult["failure"];
  for (const [i, p] of planned.entries()) {
    const r = record.steps[i];
    const tag = `[${String(i + 1).padStart(width)}/${planned.length}] ${p.step.name}`;
    if (p.decision === "skip") {
      if (p.reason === "not in --only") continue; // the plan lists them; the run is about --only
      print(`${tag}: ${p.reason === "up to date" ? `up to date in ${p.out}` : p.reason}`);
      continue;
    }
    if (p.decision !== "run") {
      print(`${tag}: ${p.decision}: ${p.reason}`);
      continue;
    }
    print(`${tag}: running (${p.reason}), output in ${p.out}${_eta(planned, p, o.estimate)}`);
    print(`$ ${r.command}`);
    // The step's old manifest goes first: a run interrupted half way must not leave the
    // directory looking up to date (the task writes a new one last, when it is done).
    await Deno.remove(join(p.out, MANIFEST)).catch(() => {});
    const t0 = performance.now();
    const code = await o.run(p);
    r.seconds = Math.round((performance.now() - t0) / 100) / 10;
    if (code !== 0) {
      r.status = "failed";
      r.exit_code = code;
      const later = planned.slice(i + 1).filter((q) => q.decision === "run").length;
      failure = { step: p.step.name, code, message: _failureMessage(p, code, o.resume, later) };
      break;
    }
    r.status = "ran";
    await save();
    print(`${tag}: ran in ${r.seconds.toFixed(1)} s`);
    if (!(await _exists(join(p.out, MANIFEST)))) {
      print(
        `note: ${p.step.name} exited 0 but wrote no ${join(p.out, MANIFEST)}, so the next ` +
          "course will run it again",
      );
    }
  }
  record.finished = new Date().toISOString();
  await save();
  return { record, ...(failure ? { failure } : {}) };
}

/**
 * What to tell the user when a step fails: which, how, and the two ways on. `later` counts the
 * steps that were to run after it.
 */
function _failureMessage(
  p: PlannedStep,
  code: number,
  resume: string,
  later = 0,
): string {
  const how = code === 130 ? "was interrupted (exit code 130)" : `failed with exit code ${code}`;
  const rest = later === 0
    ? ""
    : `; the ${later} step${later === 1 ? "" : "s"} after it did not run`;
  const last = join(p.out, "last.safetensors");
  return [
    `Course step ${p.step.name} ${how}${rest}.`,
    `Rerun the step by hand: ${shellLine(p.argv)}`,
    ...(_isFile(last)
      ? [
        `  (or continue its training from the last finished epoch in ${last}: ` +
        `${shellLine([...p.argv, "--resume"])})`,
      ]
      : []),
    `or rerun \`${resume}\`: it skips the finished steps as up to date and resumes at ` +
    `${p.step.name}.`,
  ].join("\n");
}

/** The summary table: step, status, seconds, output directory. */
export function summaryTable(record: CourseRecord): string {
  const rows = record.steps.map((s) => [
    s.task,
    s.status,
    s.seconds === null ? "" : s.seconds.toFixed(1),
    s.out,
  ]);
  const total = record.steps.reduce((a, s) => a + (s.seconds ?? 0), 0);
  rows.push(["total", "", total.toFixed(1), ""]);
  const head = ["step", "status", "seconds", "out"];
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    [r[0].padEnd(w[0]), r[1].padEnd(w[1]), r[2].padStart(w[2]), r[3]].join("  ").trimEnd();
  return [line(head), line(w.map((n) => "-".repeat(n))), ...rows.map(line)].join("\n");
}

/**
 * Runs `deno task <task> <args>` in `cwd` with the terminal's stdin, stdout and stderr, so the
 * step's progress bars show. Ctrl-C reaches the step from the terminal; a SIGINT or SIGTERM
 * sent to the course alone is passed on to it, and either way the course records the failure
 * instead of dying with the step half done and course.json saying "planned".
 */
export function denoTaskRunner(cwd: string): RunCommand {
  return async (p) => {
    // -q: deno task would echo the command, which the course has just printed.
    const [, sub, ...rest] = p.argv;
    const child = new Deno.Command(Deno.execPath(), { args: [sub, "-q", ...rest], cwd }).spawn();
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? [] : ["SIGINT", "SIGTERM"];
    const forward = signals.map((sig) => {
      const f = () => {
        try {
          child.kill(sig);
        } catch { /* already exited */ }
      };
      Deno.addSignalListener(sig, f);
      return [sig, f] as const;
    });
    try {
      const status = await child.status;
      return status.success ? 0 : status.code || 1;
    } finally {
      for (const [sig, f] of forward) Deno.removeSignalListener(sig, f);
    }
  };
}

/** The previous course.json's steps by task; empty when there is none or it is unreadable. */
async function _previous(path: string): Promise<Map<string, CourseStepRecord>> {
  try {
    const c = JSON.parse(await Deno.readTextFile(path));
    const steps: unknown[] = Array.isArray(c?.steps) ? c.steps : [];
    return new Map(
      steps.filter((x): x is CourseStepRecord => typeof (x as CourseStepRecord)?.task === "string")
        .map((x) => [x.task, x]),
    );
  } catch {
    return new Map();
  }
}

function _initialStatus(p: PlannedStep): StepStatus {
  switch (p.decision) {
    case "run":
      return "planned";
    case "skip":
      return "skipped";
    default:
      return p.decision;
  }
}

const _exists = (path: string) => Deno.stat(path).then(() => true, () => false);

function _isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** "; about 3 min, course done about 07:41 UTC" from the estimates of this and later steps. */
function _eta(
  planned: PlannedStep[],
  p: PlannedStep,
  estimate?: (p: PlannedStep) => number,
): string {
  if (!estimate) return "";
  const rest = planned.slice(planned.indexOf(p)).filter((q) => q.decision === "run");
  const left = rest.reduce((t, q) => t + estimate(q), 0);
  const end = new Date(Date.now() + left * 1000).toISOString().slice(11, 16);
  return `; about ${formatSeconds(estimate(p))}, course done about ${end} UTC`;
}

/** "45 s", "12 min", "2.3 h". */
export function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
