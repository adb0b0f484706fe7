/**
 * Which of the course's steps to run. Every task writes `manifest.json` last, after all its
 * outputs, with the command-line flags it ran with; so a step is done when its manifest is
 * there, and up to date when the manifest was made by the flags the course would pass now and
 * is not older than the manifests of the steps it read. `observeManifests` reads that state
 * from disk; `planCourse` is pure, so tests can plan against any state.
 */

import { join } from "node:path";
import { type Budget, outDir, type Step } from "./steps.ts";

export const MANIFEST = "manifest.json";

/** What is on disk for one step. */
export interface ManifestState {
  /** `<out>/manifest.json`. */
  path: string;
  /** Modification time in ms; null when there is no manifest. */
  mtime: number | null;
  /** Its `args` field; null when there is no manifest or it is unreadable. */
  args: string[] | null;
  /** Why a manifest that is there cannot be used (bad JSON, no args array). */
  problem?: string;
  /** Files the manifest recorded that are gone or changed size since (its `files`). */
  changed?: string[];
}

/** run: stale or absent; skip: up to date or left out by --only; missing: no such deno task. */
export type Decision = "run" | "skip" | "missing" | "blocked";

export interface PlannedStep {
  step: Step;
  out: string;
  /** The flags the course passes after `deno task <task>`. */
  args: string[];
  /** The whole command line, `deno task <task> <args>`. */
  argv: string[];
  decision: Decision;
  /** In words, for the plan and the summary ("up to date", "train-bernoulli runs first"). */
  reason: string;
}

export interface PlanOptions {
  root: string;
  budget: Budget;
  /** Run every selected step even when up to date. */
  force: boolean;
  /** Only these steps (by name) may run; the others are skipped. Undefined: all. */
  only?: ReadonlySet<string>;
  /** The task names deno.json defines. */
  tasks: ReadonlySet<string>;
}

/**
 * Throws a TypeError naming the step unless every step has a unique name and every dependency
 * is an earlier step: the runner goes top to bottom and trusts that order.
 */
export function checkOrder(steps: readonly Step[]): void {
  const seen = new Set<string>();
  for (const s of steps) {
    if (seen.has(s.name)) throw new TypeError(`Course step '${s.name}' is listed twice`);
    for (const d of s.deps) {
      if (!seen.has(d)) {
        const where = steps.some((t) => t.name === d) ? "comes after it" : "is not a step";
        throw new TypeError(`Course step '${s.name}' depends on '${d}', which ${where}`);
      }
    }
    seen.add(s.name);
  }
}

/** Reads each step's `<root>/<name>/manifest.json`: its time and `args`. */
export async function observeManifests(
  steps: readonly Step[],
  root: string,
): Promise<Map<string, ManifestState>> {
  const out = new Map<string, ManifestState>();
  for (const s of steps) {
    const path = join(outDir(s, root), MANIFEST);
    const info = await Deno.stat(path).catch(() => null);
    if (!info?.isFile) {
      out.set(s.name, { path, mtime: null, args: null });
      continue;
    }
    const mtime = info.mtime?.getTime() ?? 0;
    try {
      const m = JSON.parse(await Deno.readTextFile(path));
      // The course needs only the flags (and the sizes, where recorded); the report checks more.
      const problem = Array.isArray(m?.args) && m.args.every((a: unknown) => typeof a === "string")
        ? null
        : "it has no args array of strings";
      if (problem) {
        out.set(s.name, { path, mtime, args: null, problem });
        continue;
      }
      const changed: string[] = [];
      const files = typeof m.files === "object" && m.files !== null ? m.files : {};
      for (const [name, size] of Object.entries(files)) {
        const now = await Deno.stat(join(outDir(s, root), name)).catch(() => null);
        if (!now?.isFile) changed.push(`${name} is gone`);
        else if (now.size !== size) changed.push(`${name} changed size`);
      }
      out.set(s.name, { path, mtime, args: m.args, ...(changed.length ? { changed } : {}) });
    } catch (e) {
      out.set(s.name, { path, mtime, args: null, problem: (e as Error).message });
    }
  }
  return out;
}

/** Decides, top to bottom, whether each step runs, is skipped, missing or blocked, and why. */
export function planCourse(
  steps: readonly Step[],
  manifests: ReadonlyMap<string, ManifestState>,
  o: PlanOptions,
): PlannedStep[] {
  checkOrder(steps);
  const byName = new Map<string, PlannedStep>();
  const none = (name: string): ManifestState => ({ path: name, mtime: null, args: null });
  for (const step of steps) {
    const out = outDir(step, o.root);
    const args = step.args(o.root, o.budget);
    const argv = ["deno", "task", step.task, ...args];
    const decide = (decision: Decision, reason: string) =>
      byName.set(step.name, { step, out, args, argv, decision, reason });
    const own = manifests.get(step.name) ?? none(step.name);
    const deps = step.deps.map((d) => ({
      name: d,
      plan: byName.get(d)!,
      manifest: manifests.get(d) ?? none(d),
    }));

    if (!o.tasks.has(step.task)) {
      decide("missing", `no "${step.task}" task in deno.json`);
      continue;
    }
    if (o.only && !o.only.has(step.name)) {
      decide("skip", "not in --only");
      continue;
    }
    const blocker = step.partialDeps
      ? undefined
      : deps.find((d) =>
        d.plan.decision === "missing" || d.plan.decision === "blocked" ||
        (d.plan.decision === "skip" && d.manifest.mtime === null)
      );
    if (blocker) {
      const why = blocker.plan.decision === "skip"
        ? `needs ${blocker.name}'s output, which is not there (${blocker.name} is not in --only)`
        : `needs ${blocker.name}, which is ${blocker.plan.decision}`;
      decide("blocked", why);
      continue;
    }
    const runningDep = deps.find((d) => d.plan.decision === "run");
    const newerDep = deps.find((d) =>
      d.manifest.mtime !== null && own.mtime !== null && d.manifest.mtime > own.mtime
    );
    if (o.force) decide("run", "--force");
    else if (own.mtime === null) decide("run", "no manifest.json yet");
    else if (own.args === null) decide("run", `its manifest.json is unreadable (${own.problem})`);
    else if (!_sameArgs(own.args, args)) {
      decide("run", `made with other flags (was: ${own.args.join(" ") || "none"})`);
    } else if (own.changed?.length) {
      decide("run", `outputs changed since its manifest: ${own.changed.join(", ")}`);
    } else if (runningDep) decide("run", `${runningDep.name} runs first`);
    else if (newerDep) decide("run", `older than ${newerDep.name}'s output`);
    else decide("skip", "up to date");
  }
  return steps.map((s) => byName.get(s.name)!);
}

/** One command line as a shell would take it back: arguments quoted where they need it. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}

/**
 * The same flags, but for --resume: a training run continued by hand after an interrupted course
 * step (as its failure message suggests) ends where an uninterrupted one would.
 */
function _sameArgs(manifest: readonly string[], course: readonly string[]): boolean {
  const a = manifest.filter((x) => x !== "--resume");
  return a.length === course.length && a.every((x, i) => x === course[i]);
}
