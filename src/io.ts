/**
 * File output that never leaves a half-written file behind: every figure, log and
 * checkpoint goes through `writeFileAtomic`, so a run killed mid-write keeps the
 * previous complete version of the file (or none), never a truncated one.
 */

import { basename, dirname, join } from "node:path";

const encoder = new TextEncoder();

/**
 * Writes `data` to `path` through a temp file in the same directory, flushed to disk
 * and then renamed over `path`. Parent directories are created. The temp file lives
 * in the same directory because rename is only atomic within one file system.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${Deno.pid}.${_randomSuffix()}.tmp`);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      // Without the flush, a crash after the rename can leave an empty file under the
      // final name on file systems that reorder metadata before data (ext4 delalloc).
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    // A full disk or a read-only mount is the user's to fix: name the file, keep the old one.
    const m = /No space left on device|Read-only file system|Disk quota exceeded/i
      .exec((e as Error).message);
    if (m) {
      throw new OutputError(
        path,
        `${m[0].toLowerCase()}; the previous ${basename(path)} (if any) is kept. Free space ` +
          "(or pick another --out) and rerun",
      );
    }
    throw e;
  }
}

function _randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** An output directory that cannot be written; runTask exits 2 with its message. */
export class OutputError extends Error {
  readonly path: string;
  constructor(path: string, what: string) {
    super(`Cannot write to ${path}: ${what}`);
    this.name = "OutputError";
    this.path = path;
  }
}

/** Our temp files: `.<name>.<pid>.<12 hex>.tmp`, as writeFileAtomic makes them. */
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/**
 * Makes sure a task can write into `dir` before it loads data or starts GPU work: creates it
 * (and its parents), writes and removes a probe file, and removes temp files that a killed run
 * of ours left there (those whose process is gone). Throws OutputError naming the path and
 * what is wrong: a file where a directory should be, no permission, a read-only file system.
 */
export async function prepareOutDir(dir: string): Promise<void> {
  const info = await Deno.stat(dir).catch(() => null);
  if (info && !info.isDirectory) throw new OutputError(dir, "it is a file, not a directory");
  if (!info) {
    // The nearest existing ancestor must be a directory.
    let up = dirname(dir);
    while (up !== dirname(up)) {
      const s = await Deno.stat(up).catch(() => null);
      if (s) {
        if (!s.isDirectory) {
          throw new OutputError(dir, `${up} is a file, so no directory can be made below it`);
        }
        break;
      }
      up = dirname(up);
    }
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (e) {
      throw new OutputError(dir, `cannot create the directory (${_reason(e)})`);
    }
  }
  const probe = join(dir, `.write-probe.${Deno.pid}.${_randomSuffix()}.tmp`);
  try {
    await Deno.writeFile(probe, new Uint8Array(1), { createNew: true });
    await Deno.remove(probe);
  } catch (e) {
    throw new OutputError(dir, `the directory is not writable (${_reason(e)})`);
  }
  for await (const entry of Deno.readDir(dir)) {
    const m = entry.isFile ? TEMP_NAME.exec(entry.name) : null;
    if (m && !_alive(Number(m[1]))) await Deno.remove(join(dir, entry.name)).catch(() => {});
  }
  await _lock(dir);
}

/** The lock file a run holds in its output directory: its pid and command line. */
export const LOCK = ".lock";
const _held = new Set<string>();

/**
 * Claims `dir` for this process until it exits, so that two runs cannot write one directory
 * at once (two trainings into one --out would interleave checkpoints). A lock whose process is
 * gone (killed) is stale and taken over.
 */
async function _lock(dir: string): Promise<void> {
  const path = join(dir, LOCK);
  if (_held.has(path)) return;
  const claim = `${Deno.pid} ${["deno", ...Deno.args].join(" ")}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(path, claim, { createNew: true });
      _held.add(path);
      if (_held.size === 1) globalThis.addEventListener("unload", _release);
      return;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw new OutputError(dir, `cannot write its lock file ${LOCK} (${_reason(e)})`);
      }
    }
    const holder = (await Deno.readTextFile(path).catch(() => "")).trim();
    const pid = Number(holder.split(" ")[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== Deno.pid && _alive(pid)) {
      throw new OutputError(
        dir,
        `another run is writing there (pid ${pid}: ${holder.slice(String(pid).length + 1)}); ` +
          `wait for it to finish or pass another --out (a stale ${LOCK} of a process that is ` +
          "gone is cleared by itself)",
      );
    }
    await Deno.remove(path).catch(() => {}); // stale: its process is gone
  }
  throw new OutputError(dir, `cannot take over its stale lock file ${LOCK}`);
}

/** Removes this process's locks, at exit. */
function _release(): void {
  for (const path of _held) {
    try {
      const pid = Number(Deno.readTextFileSync(path).split(" ")[0]);
      if (pid === Deno.pid) Deno.removeSync(path);
    } catch { /* gone already */ }
  }
  _held.clear();
}

/** Whether a process with this id runs (Linux: /proc/<pid>); unknown elsewhere counts as alive. */
function _alive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      try {
        Deno.statSync("/proc/self");
        return false;
      } catch {
        return true;
      }
    }
    return true;
  }
}

function _reason(e: unknown): string {
  const err = e as Error;
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  // Deno reports EROFS as a plain Error with the OS message.
  return err.message.replace(/,?\s*(mkdir|open|remove).*$/, "");
}
