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
    throw e;
  }
}

function _randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
