/**
 * deno task report: one HTML page of every result under --in (default out/): a section per
 * task in the course's order with its figures and captions, metrics, tables (the likelihood
 * comparison, the benchmark) and where and how it ran, read from each task's manifest.json.
 * Writes <out>/index.html (default <in>/report/); images are referenced relative to the page,
 * or embedded with --inline so the page can be mailed alone.
 */

import { dirname, join, relative, resolve } from "node:path";
import { InputError, parseFlags, printWritten, runTask } from "../src/cli.ts";
import { prepareOutDir, writeFileAtomic } from "../src/io.ts";
import { buildReport } from "../src/report/html.ts";
import { MANIFEST, writeManifest } from "../src/report/manifest.ts";

const SPEC = {
  in: { type: "string", default: "out", value: "DIR", help: "the output root the tasks wrote to" },
  out: { type: "string", value: "DIR", help: "where to write index.html; default <in>/report" },
  inline: {
    type: "boolean",
    default: false,
    help: "embed the images in the page (one file to send; larger)",
  },
} as const;

runTask(async () => {
  const f = parseFlags(Deno.args, SPEC, {
    task: "report",
    summary: "Writes one HTML page of every task's figures, captions, metrics and tables " +
      "found under --in, in the course's order; tasks not run yet are listed.",
  });
  try {
    if (!Deno.statSync(f.in).isDirectory) throw new Deno.errors.NotADirectory();
  } catch {
    throw new InputError(
      `${f.in} is not a directory of task outputs; run some tasks first (e.g. ` +
        "`deno task train-bernoulli`) or pass --in DIR",
    );
  }
  const out = f.out ?? join(f.in, "report");
  await _refuseRunDirectory(out);
  await prepareOutDir(out);
  const r = await buildReport(f.in, out, { inline: f.inline });
  if (r.runs.length === 0) {
    throw new InputError(
      `no task outputs with a manifest.json under ${f.in}; run the course's tasks first ` +
        "(`deno task course`), or rerun a task written before tasks wrote manifests",
    );
  }
  const page = join(out, "index.html");
  await writeFileAtomic(page, r.html);
  for (const s of r.skipped) console.error(`note: skipped ${s}`);
  console.error(
    `${r.runs.length} runs, ${r.figures} figures` +
      (r.missing.length > 0 ? `; not run yet: ${r.missing.join(", ")}` : ""),
  );
  const manifest = await writeManifest(out, {
    task: "report",
    title: "Report",
    figures: [],
    adapter: "none",
    notes: [`${relative(out, page)}: ${r.runs.length} runs from ${f.in}`],
  });
  printWritten([page, manifest]);
});

/**
 * The page and its manifest.json must not land in a task's run directory (or below one): its
 * manifest would be overwritten and the run lost to the report and the course.
 */
async function _refuseRunDirectory(out: string): Promise<void> {
  for (let dir = resolve(out);; dir = dirname(dir)) {
    let task: unknown = null;
    try {
      task = JSON.parse(await Deno.readTextFile(join(dir, MANIFEST)))?.task;
    } catch {
      // No manifest here (or not one we can read): not a run directory.
    }
    if (typeof task === "string" && task !== "report") {
      throw new InputError(
        `Cannot write the report into ${out}: ${dir} holds the ${task} run's ${MANIFEST}, ` +
          "which the report's own would replace; pass --out a directory of its own " +
          "(default <in>/report)",
      );
    }
    if (dirname(dir) === dir) return;
  }
}
