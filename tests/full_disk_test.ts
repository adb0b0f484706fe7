/**
 * A full disk: writing an output on a small tmpfs fails with an OutputError that names the
 * file and says what to do, and the previous version of the file is kept. Needs root to
 * mount the tmpfs (CI runs as root); elsewhere it is skipped with the reason.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { OutputError, writeFileAtomic } from "../src/io.ts";

async function _mountTmpfs(dir: string, size: string): Promise<string | null> {
  try {
    const r = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
      stdout: "null",
      stderr: "piped",
    }).output();
    return r.success ? null : new TextDecoder().decode(r.stderr).trim() || "mount failed";
  } catch (e) {
    return (e as Error).message;
  }
}

const probe = await Deno.makeTempDir({ prefix: "full_disk_probe_" });
const why = Deno.uid?.() === 0 ? await _mountTmpfs(probe, "64k") : "not root";
if (why === null) await new Deno.Command("umount", { args: [probe] }).output();
await Deno.remove(probe, { recursive: true });
if (why !== null) console.warn(`full_disk_test skipped: cannot mount a tmpfs (${why})`);

Deno.test({
  name: "writeFileAtomic on a full disk names the file, keeps the old one, leaves no temp file",
  ignore: why !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "full_disk_" });
    assert.equal(await _mountTmpfs(dir, "64k"), null);
    try {
      const path = join(dir, "model.safetensors");
      const old = new Uint8Array(16 * 1024).fill(7);
      await writeFileAtomic(path, old);
      const err = await writeFileAtomic(path, new Uint8Array(128 * 1024)).then(
        () => null,
        (e) => e,
      );
      assert.ok(err instanceof OutputError, String(err));
      assert.match(err.message, new RegExp(`Cannot write to ${path}: no space left on device`));
      assert.match(err.message, /previous model\.safetensors \(if any\) is kept/);
      assert.deepEqual(await Deno.readFile(path), old);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["model.safetensors"]);
    } finally {
      await new Deno.Command("umount", { args: [dir] }).output();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
