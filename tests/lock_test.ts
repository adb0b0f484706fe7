/**
 * One run per output directory: prepareOutDir claims the directory with a lock file naming
 * the process; a second process gets an OutputError naming the holder, a lock whose process
 * is gone is taken over, and the lock goes when its process exits.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LOCK, OutputError, prepareOutDir } from "../src/io.ts";

const IO = new URL("../src/io.ts", import.meta.url).href;

Deno.test("prepareOutDir refuses a directory another live run holds, names it, frees it on exit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lock_test_" });
  try {
    // A holder that claims the directory, says so, and waits until its stdin closes.
    const holder = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { prepareOutDir } from "${IO}";
         await prepareOutDir(${JSON.stringify(dir)});
         console.log("held");
         for await (const _ of Deno.stdin.readable) { /* until closed */ }`,
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const reader = holder.stdout.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /held/);
    reader.releaseLock();
    const err = await prepareOutDir(dir).then(() => null, (e) => e);
    assert.ok(err instanceof OutputError, String(err));
    assert.match(err.message, new RegExp(`another run is writing there \\(pid ${holder.pid}: `));
    await holder.stdin.close();
    await holder.stdout.cancel();
    assert.ok((await holder.status).success);
    assert.equal(await Deno.stat(join(dir, LOCK)).catch(() => null), null, "lock left behind");
    await prepareOutDir(dir); // free now
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prepareOutDir takes over the lock of a process that is gone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lock_test_" });
  try {
    const gone = new Deno.Command(Deno.execPath(), { args: ["eval", ""] }).spawn();
    await gone.status; // exited and reaped: its pid names no process
    const pid = gone.pid;
    await Deno.writeTextFile(join(dir, LOCK), `${pid} deno task train-bernoulli\n`);
    await prepareOutDir(dir);
    assert.match(await Deno.readTextFile(join(dir, LOCK)), new RegExp(`^${Deno.pid} `));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
