/**
 * What a task wrote, for `deno task report`: every task writes `manifest.json` into its output
 * directory listing its figures with captions, its tables, its metrics and log files, and where
 * and how it ran (adapter, date, git commit, data source, command line). The report reads these
 * instead of guessing from file names.
 */

import { basename, isAbsolute, join, normalize, relative } from "node:path";
import type { DataSource } from "../data/mnist.ts";
import { writeFileAtomic } from "../io.ts";

export const MANIFEST = "manifest.json";
/** Bumped when a field changes meaning; the report refuses other versions by name. */
export const MANIFEST_VERSION = 1;

export interface ManifestFile {
  /** Path relative to the manifest's directory. */
  file: string;
  /** One or two sentences: what it shows and how to read it. */
  caption: string;
}

/** A column of a JSON table as the report shows it. */
export interface TableColumn {
  /** The rows' field. */
  key: string;
  /** The column's heading. */
  label: string;
}

/** A JSON or Markdown table; `columns` picks and labels what the report shows of its rows. */
export interface ManifestTable extends ManifestFile {
  columns?: readonly TableColumn[];
}

/** What a task passes: the run's facts that only it knows. */
export interface ManifestInput {
  task: string;
  /** A heading for the report, e.g. "Bernoulli conv VAE". */
  title: string;
  /** Figures (PNG or SVG), in the order to show them. */
  figures: ManifestFile[];
  /** Markdown or JSON tables to show (e.g. compare.md). */
  tables?: ManifestTable[];
  /** metrics.json / log.json of a training run, or a task's own results JSON. */
  metrics?: string;
  log?: string;
  /** The loss the run optimized in words ("negative ELBO", "MSE + 1e-4 KL"), if it trained. */
  loss?: string;
  adapter: string;
  data?: DataSource;
  /** Short notes worth reading beside the figures (skipped rows, quick budgets). */
  notes?: string[];
}

export interface Manifest extends ManifestInput {
  version: number;
  /** ISO time the manifest was written. */
  created: string;
  /** `git rev-parse HEAD` of the code that ran, with "+dirty" if the tree had changes; null outside git. */
  commit: string | null;
  /** The task's command-line flags. */
  args: string[];
  /**
   * The size in bytes of every file in the directory when the manifest was written (not the
   * manifest, not hidden files): the course redoes a step whose outputs were deleted or changed.
   */
  files?: Record<string, number>;
}

/** Writes `dir`/manifest.json for the files a task wrote; paths may be absolute or relative. */
export async function writeManifest(dir: string, m: ManifestInput): Promise<string> {
  const rel = (p: string) => (p.startsWith("/") ? relative(dir, p) : _within(dir, p));
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    ...m,
    figures: m.figures.map((f) => ({ ...f, file: rel(f.file) })),
    ...(m.tables ? { tables: m.tables.map((t) => ({ ...t, file: rel(t.file) })) } : {}),
    ...(m.metrics ? { metrics: rel(m.metrics) } : {}),
    ...(m.log ? { log: rel(m.log) } : {}),
    created: new Date().toISOString(),
    commit: await _gitCommit(),
    args: [...Deno.args],
    files: await _outputSizes(dir),
  };
  const path = join(dir, MANIFEST);
  await writeFileAtomic(path, JSON.stringify(manifest, null, 2) + "\n");
  return path;
}

// A path given relative to the working directory that lies in `dir` becomes relative to `dir`;
// a bare file name is taken as already relative to it.
function _within(dir: string, p: string): string {
  const r = relative(dir, p);
  return r.startsWith("..") ? basename(p) : r;
}

/**
 * The real path of `file` in the run directory `dir`, or why it is refused: an absolute path,
 * one through `..`, or a symlink that leads out of the directory would copy files the run
 * did not write (a manifest naming ../../etc/passwd must not publish it). `report` and
 * `results` read every path a manifest names through this.
 */
export async function resolveInRun(
  dir: string,
  file: string,
): Promise<string | { refused: string }> {
  const n = normalize(file);
  if (isAbsolute(file) || n === ".." || n.startsWith("../")) {
    return { refused: "refused: the path leaves the run directory" };
  }
  try {
    const [real, realDir] = await Promise.all([Deno.realPath(join(dir, n)), Deno.realPath(dir)]);
    const rel = relative(realDir, real);
    if (rel.startsWith("..") || isAbsolute(rel)) {
      return { refused: "refused: a link that leads out of the run directory" };
    }
    if (!(await Deno.stat(real)).isFile) return { refused: "not a file" };
    return real;
  } catch (e) {
    return { refused: e instanceof Deno.errors.NotFound ? "missing" : (e as Error).message };
  }
}

/** Sizes of the regular files directly in `dir`, but the manifest and hidden (temp, lock) files. */
async function _outputSizes(dir: string): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name !== MANIFEST && !e.name.startsWith(".")) names.push(e.name);
  }
  for (const name of names.sort()) sizes[name] = (await Deno.stat(join(dir, name))).size;
  return sizes;
}

/**
 * What makes `m` unusable as a manifest, in words, or null: the fields the report and the
 * course read must have their types (a hand-edited or truncated manifest must not crash them).
 */
export function manifestProblem(m: unknown): string | null {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return "not a JSON object";
  const o = m as Record<string, unknown>;
  if (typeof o.task !== "string") return "no task name";
  if (!Array.isArray(o.figures)) return "no figures list";
  const bad = o.figures.findIndex((f) =>
    typeof f !== "object" || f === null || typeof f.file !== "string" ||
    typeof f.caption !== "string"
  );
  if (bad >= 0) return `figure ${bad + 1} has no file name or caption`;
  if (o.tables !== undefined) {
    if (!Array.isArray(o.tables)) return "tables is not a list";
    const t = o.tables.findIndex((x) =>
      typeof x !== "object" || x === null || typeof x.file !== "string"
    );
    if (t >= 0) return `table ${t + 1} has no file name`;
  }
  for (const k of ["title", "adapter", "created"] as const) {
    if (typeof o[k] !== "string") return `no ${k}`;
  }
  for (const k of ["metrics", "log", "loss", "commit"] as const) {
    if (o[k] !== undefined && o[k] !== null && typeof o[k] !== "string") {
      return `its ${k} is not a string`;
    }
  }
  if (
    o.notes !== undefined &&
    !(Array.isArray(o.notes) && o.notes.every((n) => typeof n === "string"))
  ) {
    return "its notes are not a list of strings";
  }
  if (!Array.isArray(o.args) || !o.args.every((a) => typeof a === "string")) {
    return "no args list (the command line)";
  }
  return null;
}

let _commit: Promise<string | null> | null = null;

/** The checkout's commit (cached), "+dirty" when tracked files differ; null without git. */
function _gitCommit(): Promise<string | null> {
  _commit ??= (async () => {
    try {
      const run = (args: string[]) =>
        new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output();
      const head = await run(["rev-parse", "HEAD"]);
      if (!head.success) return null;
      const sha = new TextDecoder().decode(head.stdout).trim();
      const status = await run(["status", "--porcelain", "--untracked-files=no"]);
      const dirty = status.success && status.stdout.length > 0;
      return dirty ? `${sha}+dirty` : sha;
    } catch {
      return null;
    }
  })();
  return _commit;
}
