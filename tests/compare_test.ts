import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { fileURLToPath } from "node:url";
import { compareMarkdown, compareRow } from "../src/report/compare.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function metrics(likelihood: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    likelihood,
    epochs: 1,
    test_neg_elbo: 100.5,
    test_recon: 90.25,
    test_kl: 10.25,
    test_nll_is: 95.125,
    is_samples: 50,
    images_per_s: 49.4,
    test_images: 10000,
    binarize: "none",
    adapter: "llvmpipe",
    ...extra,
  };
}

Deno.test("compareMarkdown gives one row per likelihood, bits/dim only for the continuous ones, and says what compares", () => {
  const rows = [
    compareRow(metrics("bernoulli", { binarize: "static", data_space: "binary pixels {0, 1}" })),
    compareRow(
      metrics("gaussian", { test_bpd: 4.25, test_nll_is_bpd: 4.125, data_space: "dequantized" }),
    ),
    compareRow(metrics("categorical", { bins: 4, data_space: "bins" })),
  ];
  assertEquals(rows[2].likelihood, "categorical (k = 4)");
  assertEquals(rows[0].test_bpd, null);
  const md = compareMarkdown(rows);
  const lines = md.split("\n").filter((l) => l.startsWith("| "));
  assertEquals(lines.length, 2 + 3);
  assert(lines[3].includes("| 4.250 | 4.125 |"), lines[3]);
  assert(lines[2].includes("| – | – |"), lines[2]);
  assert(lines[2].includes("95.13 (K = 50)"), lines[2]);
  assert(md.includes("not directly comparable"), md);
  assert(md.includes("bits per dimension"), md);
});

Deno.test("compare-likelihoods with a missing model exits 2 naming the command that makes it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tasks/compare_likelihoods.ts", "--in", dir, "--out", `${dir}/o`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assertEquals(code, 2, err);
    for (const name of ["bernoulli", "gaussian", "beta", "categorical"]) {
      assert(err.includes(`deno task train-${name}`), err);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
