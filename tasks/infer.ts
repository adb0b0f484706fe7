/**
 * deno task infer: inference without the encoder. The Bernoulli conv VAE's
 * decoder is frozen (eval mode); for each of --images random test images (seeded) psi =
 * (mu, logvar) starts from N(0, I) and follows SGD (lr 1e-3; or Adam) on the one-sample
 * reparameterized -ELBO for up to 500 steps, each image stopping on its own after 50 steps
 * without a better -ELBO and keeping its best psi. All images are optimized at once on the GPU.
 * Then the -ELBO of each image under q(z | psi*) and under the encoder's q, with the same
 * number of samples; their difference is the amortization gap (Cremer et al. 2018):
 *   gap = -ELBO(encoder's q) - -ELBO(psi*)   (> 0 where the optimized q is the better one).
 * Writes out/infer/infer.png (one column per test image; labelled rows: x, the decoder's mean at
 * mu*, the mean at the encoder's mu; 10 images a band) and out/infer/infer.json.
 */

import { join } from "node:path";
import { parseFlags, printWritten, runTask } from "../src/cli.ts";
import { writePng } from "../src/plot/png.ts";
import { labelledRows } from "../src/plot/label.ts";
import { prepareOutDir, writeFileAtomic } from "../src/io.ts";
import { writeManifest } from "../src/report/manifest.ts";
import {
  countNonFinite,
  finite,
  gapReading,
  meanSe,
  openStudy,
  psiFlagSpec,
  round,
  runPsi,
} from "../src/app/psi_task.ts";

const SPEC = psiFlagSpec("out/infer");
const USAGE = {
  task: "infer",
  summary: "Inference without the encoder: optimizes each test image's q(z | psi) against the " +
    "frozen decoder and compares its -ELBO with the encoder's (the amortization gap).",
};

runTask(async () => {
  const f = parseFlags(Deno.args, SPEC, USAGE);
  await prepareOutDir(f.out);
  const t0 = performance.now();
  const { gpu, vae, mnist, test, picks } = await openStudy(f);
  const evalSeed = f.seed + 1000;

  const parts = await runPsi(vae, test, picks, { ...f, label: "infer" }, async (batch, run) => {
    const psiStar = await batch.estimate(run.psi, f.evalSamples, evalSeed);
    const encPsi = await batch.encoderPsi();
    const enc = await batch.estimate(encPsi, f.evalSamples, evalSeed);
    return {
      tracks: run.tracks,
      psiStar,
      enc,
      x: await batch.inputs(),
      xPsi: await batch.decode(run.psi),
      xEnc: await batch.decode(encPsi),
    };
  });

  const rows = parts.flatMap((p) =>
    p.tracks.map((tr, i) => ({
      tr,
      psi: p.psiStar.negElbo[i],
      psiRecon: p.psiStar.recon[i],
      psiKl: p.psiStar.kl[i],
      enc: p.enc.negElbo[i],
      encRecon: p.enc.recon[i],
      encKl: p.enc.kl[i],
    }))
  );
  // An image whose -ELBO went non-finite while optimizing (--lr too large) diverged: counted,
  // and when every one did, exit 1; the means leave out estimates that are not finite.
  const nonFinite = countNonFinite(rows.map((r) => r.tr.loss), f.lr, "optimization");
  const ok = rows.filter((r) => Number.isFinite(r.psi));
  const gaps = rows.map((r) => r.enc - r.psi);
  const gap = meanSe(finite(gaps)), psiMean = meanSe(ok.map((r) => r.psi));
  const encMean = meanSe(ok.map((r) => r.enc));
  const stopped = rows.filter((r) => r.tr.steps < f.steps).length;

  const P = 784, shown = Math.min(f.rows, picks.length);
  const grid = new Float32Array(shown * 3 * P);
  let r = 0;
  for (const p of parts) {
    for (let i = 0; i < p.tracks.length && r < shown; i++, r++) {
      grid.set(p.x.subarray(i * P, (i + 1) * P), (r * 3) * P);
      grid.set(p.xPsi.subarray(i * P, (i + 1) * P), (r * 3 + 1) * P);
      grid.set(p.xEnc.subarray(i * P, (i + 1) * P), (r * 3 + 2) * P);
    }
  }
  const png = join(f.out, "infer.png");
  // The three kinds as rows, the images across: a wide figure reads at page width, where a
  // tall one of 10 rows would be shrunk to fit the page's height.
  const kinds = ["test image x", "mean at mu*", "mean at\nencoder's mu"];
  await writePng(png, labelledRows(grid, kinds, { h: 28, w: 28, scale: 3, pad: 3 }));

  const seconds = (performance.now() - t0) / 1000;
  const json = join(f.out, "infer.json");
  const report = {
    task: "infer",
    checkpoint: f.checkpoint,
    adapter: gpu.adapterName,
    data: "MNIST test set, static binarization (x > 0.5)",
    optimizer: f.optimizer,
    lr: f.lr,
    max_steps: f.steps,
    patience: f.patience,
    samples_per_step: f.samples,
    eval_samples: rows.length ? parts[0].psiStar.samples : f.evalSamples,
    seed: f.seed,
    gap_definition: "-ELBO(encoder q) - -ELBO(q(z | psi*)), nats; > 0 where psi* is the better q",
    gap_reading: "",
    images: rows.length,
    stopped_early: stopped,
    non_finite: nonFinite,
    mean_steps: rows.reduce((a, x) => a + x.tr.steps, 0) / rows.length,
    mean_neg_elbo_psi: psiMean.mean,
    mean_neg_elbo_encoder: encMean.mean,
    mean_gap: gap.mean,
    gap_se: gap.se,
    seconds: round(seconds, 1),
    per_image: rows.map((x, i) => ({
      test_index: picks[i],
      label: mnist.test.labels[picks[i]],
      steps: x.tr.steps,
      best_step: x.tr.bestStep,
      neg_elbo_psi: round(x.psi),
      recon_psi: round(x.psiRecon),
      kl_psi: round(x.psiKl),
      neg_elbo_encoder: round(x.enc),
      recon_encoder: round(x.encRecon),
      kl_encoder: round(x.encKl),
      gap: round(gaps[i]),
    })),
  };
  report.gap_reading = gapReading(gap.mean, gap.se, report.mean_steps, f.steps);
  await writeFileAtomic(json, JSON.stringify(report, null, 2) + "\n");
  console.error(
    `-ELBO over ${rows.length} images (${report.eval_samples} samples each): ` +
      `psi* ${psiMean.mean.toFixed(2)}, encoder ${encMean.mean.toFixed(2)}; ` +
      `${stopped} stopped early, mean ${report.mean_steps.toFixed(0)} steps`,
  );
  console.log(
    `amortization gap: ${gap.mean.toFixed(2)} +- ${gap.se.toFixed(2)} nats (mean +- s.e., ` +
      `${rows.length} images, ${f.optimizer} lr ${f.lr}, ${seconds.toFixed(1)} s)`,
  );
  const reading = gapReading(gap.mean, gap.se, report.mean_steps, f.steps);
  console.log(reading);
  const manifest = await writeManifest(f.out, {
    task: "infer",
    title: "Inference without the encoder",
    figures: [{
      file: png,
      caption: `${shown} test images, one a column: x (top row, statically binarized), the ` +
        "decoder's mean at mu* of the optimized q(z | psi*) (middle row) and at the encoder's " +
        "mu (bottom row).",
    }],
    metrics: json,
    adapter: gpu.adapterSummary,
    data: mnist.source,
    notes: [
      `psi = (mu, log sigma^2) of each image optimized by ${f.optimizer} (lr ${f.lr}, at most ` +
      `${f.steps} steps, patience ${f.patience}, ${f.samples} sample(s) per step) against ` +
      `the frozen decoder of ${f.checkpoint}; gap = -ELBO(encoder) - -ELBO(psi*), ` +
      `${report.eval_samples} samples each.`,
      report.gap_reading,
    ],
  });
  printWritten([png, json, manifest]);
});
