/**
 * The HTML report's reading half (src/report/html.ts lays the page out): every run directory
 * one level under an output root, read through its manifest.json (its metrics, its tables,
 * where each figure really is inside the run), with the manifests that cannot be used and the
 * files that cannot be read said in words, and the course's record.
 */

import { extname, join, relative } from "node:path";
import {
  MANIFEST,
  type Manifest,
  MANIFEST_VERSION,
  manifestProblem,
  resolveInRun,
  type TableColumn,
} from "./manifest.ts";

/** The only files a report shows or links as figures. */
const IMAGE_TYPES = [".png", ".svg"];

/** The course's record (tasks/course.ts writes ROOT/course/course.json). */
export interface CourseRecord {
  quick: boolean;
  /** quick, standard or full; absent in records older than budgets. */
  budget?: string;
  started?: string;
  finished?: string | null;
  steps?: { task: string; status: string; seconds?: number | null }[];
}

/** A table to show: rows of scalar cells, the columns' keys and headings. */
export interface Table {
  caption: string;
  columns: TableColumn[];
  rows: Record<string, unknown>[];
}

/** One task's output directory, read through its manifest. */
export interface Run {
  dir: string;
  manifest: Manifest;
  metrics: Record<string, unknown> | null;
  tables: Table[];
  /** Files the manifest names that are not there, or could not be read. */
  problems: string[];
  /** Each figure's real path inside the run directory; null where it is missing or refused. */
  figurePaths: (string | null)[];
}

/** The runs under `root`, skipping `exclude` (the report's own directory). */
export async function scanRuns(
  root: string,
  exclude?: string,
): Promise<{ runs: Run[]; skipped: string[] }> {
  const runs: Run[] = [], skipped: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(root)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { runs, skipped };
    throw e;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = join(root, e.name);
    if (!e.isDirectory || (exclude && relative(exclude, dir) === "")) continue;
    const path = join(dir, MANIFEST);
    if (!(await _isFile(path))) continue;
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await Deno.readTextFile(path));
    } catch (err) {
      skipped.push(`${path}: not valid JSON (${(err as Error).message})`);
      continue;
    }
    const shape = manifestProblem(manifest);
    if (shape) {
      skipped.push(`${path}: ${shape}; rerun the task that wrote it`);
      continue;
    }
    if (manifest.version !== MANIFEST_VERSION) {
      skipped.push(
        `${path}: manifest version ${manifest.version}, this report reads version ` +
          `${MANIFEST_VERSION}; rerun \`deno task ${manifest.task ?? e.name}\``,
      );
      continue;
    }
    if (typeof manifest.task !== "string" || !Array.isArray(manifest.figures)) {
      skipped.push(`${path}: no task or figures; rerun the task that wrote it`);
      continue;
    }
    if (manifest.task === "report" || manifest.task === "course") continue;
    runs.push(await _readRun(dir, manifest));
  }
  return { runs, skipped };
}

async function _readRun(dir: string, manifest: Manifest): Promise<Run> {
  const problems: string[] = [];
  const readJson = async (file: string): Promise<unknown> => {
    const at = await resolveInRun(dir, file);
    if (typeof at !== "string") {
      problems.push(`${file}: ${at.refused}`);
      return null;
    }
    try {
      return JSON.parse(await Deno.readTextFile(at));
    } catch (e) {
      problems.push(`${file} cannot be read: ${(e as Error).message}`);
      return null;
    }
  };
  const figurePaths: (string | null)[] = [];
  for (const f of manifest.figures) {
    const at = await resolveInRun(dir, f.file);
    const image = IMAGE_TYPES.includes(extname(f.file).toLowerCase());
    if (typeof at !== "string") problems.push(`${f.file}: ${at.refused}`);
    else if (!image) problems.push(`${f.file}: refused: not a PNG or SVG image`);
    figurePaths.push(typeof at === "string" && image ? at : null);
  }
  const m = manifest.metrics ? await readJson(manifest.metrics) : null;
  const metrics = m && typeof m === "object" && !Array.isArray(m)
    ? m as Record<string, unknown>
    : null;
  const tables: Table[] = [];
  for (const t of manifest.tables ?? []) {
    if (extname(t.file) !== ".json") continue;
    const rows = _rows(await readJson(t.file));
    if (!rows) continue;
    const columns = Array.isArray(t.columns) && t.columns.length > 0
      ? t.columns.filter((c) => rows.some((r) => scalar(r[c.key]) && r[c.key] !== null))
      : _columns(rows).map((key) => ({ key, label: key }));
    tables.push({ caption: t.caption, columns, rows });
  }
  return { dir, manifest, metrics, tables, problems, figurePaths };
}

/** ROOT/course/course.json; null where there is none or it cannot be read. */
export async function readCourse(root: string): Promise<CourseRecord | null> {
  try {
    const c = JSON.parse(await Deno.readTextFile(join(root, "course", "course.json")));
    return typeof c === "object" && c !== null ? c as CourseRecord : null;
  } catch {
    return null;
  }
}

/** An array of objects, or an object's `rows` array of objects (compare.json). */
function _rows(v: unknown): Record<string, unknown>[] | null {
  const a = Array.isArray(v) ? v : (v as { rows?: unknown })?.rows;
  if (!Array.isArray(a) || !a.every((r) => typeof r === "object" && r !== null)) return null;
  return a as Record<string, unknown>[];
}

/** The scalar columns of `rows`, in first-seen order; columns empty in every row are left out. */
function _columns(rows: Record<string, unknown>[]): string[] {
  const cols: string[] = [];
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) {
      if (!cols.includes(k) && scalar(v) && v !== null) cols.push(k);
    }
  }
  return cols;
}

/** A value a table cell can show: null, a number, a string or a boolean. */
export function scalar(v: unknown): boolean {
  return v === null || ["number", "string", "boolean"].includes(typeof v);
}

async function _isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
