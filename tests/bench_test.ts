import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gpuTest } from "./helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/bench.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test("bench rejects an unknown --only group with exit code 2 and the usage", async () => {
  const r = await bench(["--only", "matmul,convs"]);
  assertEquals(r.code, 2);
  assert(r.stderr.includes("--only takes groups among"), r.stderr);
  assert(r.stderr.includes("'convs'"), r.stderr);
  assert(r.stderr.includes("Usage: deno task bench"), r.stderr);
});

gpuTest(
  "bench --only kernels writes one JSON entry per kernel and prints each in the table",
  async () => {
    const out = await Deno.makeTempDir({ prefix: "bench_test" });
    try {
      const r = await bench(["--only", "kernels", "--iters", "1", "--out", out]);
      assertEquals(r.code, 0, r.stderr);
      const entries = JSON.parse(await Deno.readTextFile(join(out, "bench.json")));
      // Adam, each of the four likelihoods' loss both ways, batch norm and max pool both ways
      // per layer, gather twice.
      assertEquals(entries.length, 1 + 4 * 2 + 2 * 4 + 2 * 3 + 2);
      const adapter = r.stdout.split("\n")[0].replace(/^adapter: /, "").replace(
        / \(software\)$/,
        "",
      );
      for (const e of entries) {
        assertEquals(e.group, "kernels");
        assertEquals(e.adapter, adapter);
        assertEquals(e.iters, 1);
        assert(Number.isFinite(e.gbps) && e.gbps > 0, `${e.name}: gbps ${e.gbps}`);
        assert(Number.isFinite(e.ms) && e.ms > 0, `${e.name}: ms ${e.ms}`);
        const row = r.stdout.split("\n").find((l) => l.includes(e.name) && l.includes(e.shape));
        assert(row, `no table row for ${e.name} ${e.shape}`);
      }
      assert(r.stdout.includes(`wrote ${join(out, "bench.json")}`), r.stdout);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
);
