/**
 * deno task complete: image completion with the frozen Bernoulli conv VAE.
 * Only part of each test image is observed (--observe left: columns 0-13, as in the course;
 * top: rows 0-13; quadrant: the top-left 14 x 14, as Pyro's CVAE example): psi = (mu, logvar)
 * is optimized as in `infer`, on the ELBO of the observed pixels only, then z ~ q(z | psi*)
 * and the unobserved pixels ~ p(x_U | z). Writes out/complete/complete.png (one column per test
 * image; labelled rows: original, the observed part with the rest mid-grey, the completion:
 * observed + sampled rest, and observed + the mean of the rest at z = mu*; 10 images a band)
 * and out/complete/complete.json: per image the NLL
 * of the true unobserved pixels under p(x_U | z), averaged over z ~ q(z | psi*) and, as the
 * baseline, over z ~ N(0, I).
 */

import { join } from "node:path";
import { parseFlags, printWritten, runTask } from "../src/cli.ts";
import { COLS, PIXELS, ROWS } from "../src/data/mnist.ts";
import { writePng } from "../src/plot/png.ts";
import { labelledRows } from "../src/plot/label.ts";
import { prepareOutDir, writeFileAtomic } from "../src/io.ts";
import { writeManifest } from "../src/report/manifest.ts";
import {
  countNonFinite,
  finite,
  meanSe,
  openStudy,
  psiFlagSpec,
  round,
  runPsi,
} from "../src/app/psi_task.ts";

const SPEC = {
  ...psiFlagSpec("out/complete"),
  observe: {
    type: "choice",
    choices: ["left", "top", "quadrant"],
    default: "left",
    help: "the observed part: left half, top half or top-left quadrant",
  },
} as const;
const USAGE = {
  task: "complete",
  summary: "Completes test images from a part of them: optimizes q(z | psi) on the observed " +
    "pixels' ELBO against the frozen decoder, then samples the rest.",
};

/** 1 for observed pixels, 0 for the rest. */
function _observedMask(observe: "left" | "top" | "quadrant"): Float32Array {
  const mask = new Float32Array(PIXELS);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      const left = c < COLS / 2, top = r < ROWS / 2;
      const seen = observe === "left" ? left : observe === "top" ? top : left && top;
      mask[r * COLS + c] = seen ? 1 : 0;
    }
  }
  return mask;
}

runTask(async () => {
  const f = parseFlags(Deno.args, SPEC, USAGE);
  await prepareOutDir(f.out);
  const t0 = performance.now();
  const { gpu, vae, mnist, test, picks } = await openStudy(f);
  const mask = _observedMask(f.observe), hidden = mask.map((v) => 1 - v);
  const evalSeed = f.seed + 1000;

  const parts = await runPsi(
    vae,
    test,
    picks,
    { ...f, mask, label: `complete (${f.observe})` },
    async (batch, run) => {
      const prior = new Float32Array(run.psi.length);
      return {
        tracks: run.tracks,
        q: await batch.estimate(run.psi, f.evalSamples, evalSeed, hidden),
        prior: await batch.estimate(prior, f.evalSamples, evalSeed, hidden),
        x: await batch.inputs(),
        sample: await batch.decode(run.psi, f.seed + 2000),
        mean: await batch.decode(run.psi),
      };
    },
  );

  const q = parts.flatMap((p) => Array.from(p.q.recon));
  const prior = parts.flatMap((p) => Array.from(p.prior.recon));
  const tracks = parts.flatMap((p) => p.tracks);
  // An image whose -ELBO went non-finite while optimizing (--lr too large) diverged: counted,
  // and when every one did, exit 1; the means leave out estimates that are not finite.
  const nonFinite = countNonFinite(tracks.map((t) => t.loss), f.lr, "optimization");
  const keep = q.map(Number.isFinite);
  const qm = meanSe(finite(q)), pm = meanSe(prior.filter((_, i) => keep[i]));
  const better = q.filter((v, i) => v < prior[i]).length;
  const diff = meanSe(finite(q.map((v, i) => prior[i] - v)));

  const P = PIXELS, shown = Math.min(f.rows, picks.length), cols = 4;
  const grid = new Float32Array(shown * cols * P);
  const merge = (x: Float32Array, rest: (p: number) => number) =>
    Float32Array.from({ length: P }, (_, p) => (mask[p] ? x[p] : rest(p)));
  let r = 0;
  for (const p of parts) {
    for (let i = 0; i < p.tracks.length && r < shown; i++, r++) {
      const x = p.x.subarray(i * P, (i + 1) * P);
      const s = p.sample.subarray(i * P, (i + 1) * P), m = p.mean.subarray(i * P, (i + 1) * P);
      grid.set(x, (r * cols) * P);
      grid.set(merge(x, () => 0.5), (r * cols + 1) * P);
      grid.set(merge(x, (k) => s[k]), (r * cols + 2) * P);
      grid.set(merge(x, (k) => m[k]), (r * cols + 3) * P);
    }
  }
  const png = join(f.out, "complete.png");
  // The four kinds as rows, the images across, so the figure reads at page width (as infer's).
  const kinds = [
    "original",
    `observed\n(${f.observe})`,
    "completion\n(a draw)",
    "mean\ncompletion",
  ];
  await writePng(png, labelledRows(grid, kinds, { h: 28, w: 28, scale: 3, pad: 3 }));

  const seconds = (performance.now() - t0) / 1000;
  const json = join(f.out, "complete.json");
  const report = {
    task: "complete",
    checkpoint: f.checkpoint,
    adapter: gpu.adapterName,
    data: "MNIST test set, static binarization (x > 0.5)",
    observe: f.observe,
    observed_pixels: mask.reduce((a, v) => a + v, 0),
    optimizer: f.optimizer,
    lr: f.lr,
    max_steps: f.steps,
    patience: f.patience,
    samples_per_step: f.samples,
    eval_samples: parts[0].q.samples,
    seed: f.seed,
    nll_definition: "-log p(x_unobserved | z) in nats, averaged over z ~ q(z | psi*) " +
      "(nll_q) or z ~ N(0, I) (nll_prior)",
    images: q.length,
    non_finite: nonFinite,
    mean_nll_q: qm.mean,
    nll_q_se: qm.se,
    mean_nll_prior: pm.mean,
    nll_prior_se: pm.se,
    mean_improvement: diff.mean,
    improvement_se: diff.se,
    images_better_than_prior: better,
    mean_steps: tracks.reduce((a, t) => a + t.steps, 0) / tracks.length,
    seconds: round(seconds, 1),
    per_image: q.map((v, i) => ({
      test_index: picks[i],
      label: mnist.test.labels[picks[i]],
      steps: tracks[i].steps,
      best_step: tracks[i].bestStep,
      nll_q: round(v),
      nll_prior: round(prior[i]),
    })),
  };
  await writeFileAtomic(json, JSON.stringify(report, null, 2) + "\n");
  console.log(
    `NLL of the unobserved pixels (${f.observe} observed; ${q.length} images, ` +
      `${report.eval_samples} samples): q(z | psi*) ${qm.mean.toFixed(2)} +- ${
        qm.se.toFixed(2)
      }, prior ${pm.mean.toFixed(2)} +- ${pm.se.toFixed(2)} nats; better than the prior on ` +
      `${better}/${q.length} images (${seconds.toFixed(1)} s)`,
  );
  const manifest = await writeManifest(f.out, {
    task: "complete",
    title: `Image completion from the ${f.observe} part`,
    figures: [{
      file: png,
      caption: `${shown} test images, one a column; rows: the full image, the observed ` +
        `${f.observe} part (grey where hidden), a draw of the hidden pixels from p(x | z) with ` +
        "z ~ q(z | psi*), and their mean probabilities at z = mu*.",
    }],
    metrics: json,
    adapter: gpu.adapterSummary,
    data: mnist.source,
    notes: [
      `psi fitted to the observed pixels only by ${f.optimizer} (lr ${f.lr}, at most ` +
      `${f.steps} steps) against the frozen decoder of ${f.checkpoint}; NLL of the hidden ` +
      "pixels under q(z | psi*) against the prior N(0, I).",
    ],
  });
  printWritten([png, json, manifest]);
});
