/**
 * What a task wrote, for `deno task report`: every task writes `manifest.json` into its output
 * directory listing its figures with captions, its tables, its metrics and log files, and where
 * and how it ran (adapter, date, git commit, data source, command line). The report reads these
 * instead of guessing from file names.
 */

import { basename, join, relative } from "node:path";
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
    commit: await gitCommit(),
    args: [...Deno.args],
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

let _commit: Promise<string | null> | null = null;

/** The checkout's commit (cached), "+dirty" when tracked files differ; null without git. */
export function gitCommit(): Promise<string | null> {
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
