/**
 * Posterior collapse detection (src/train/collapse.ts), the KL warm-up schedule and the
 * per-step training curve: plain host functions, checked against values worked out here.
 */

import assert from "node:assert/strict";
import { ACTIVE_THRESHOLD, collapseVerdict, latentStats } from "../src/train/collapse.ts";
import { klWarmupWeight } from "../src/model/objective.ts";
import { curvePoints, elboChart, type EpochLog } from "../src/train/epoch_log.ts";
import { assertClose, normal, rng } from "./helpers.ts";

/** Rows [mu | logvar] of n images: dimension j's mu has standard deviation sd[j]. */
function _rows(n: number, sd: number[], logvar: number, seed: number): Float64Array {
  const L = sd.length, rand = rng(seed), e = normal(rand, n * L);
  const h = new Float64Array(n * 2 * L);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < L; j++) {
      h[i * 2 * L + j] = 0.3 + sd[j] * e[i * L + j];
      h[i * 2 * L + L + j] = logvar;
    }
  }
  return h;
}

Deno.test("latentStats counts the dimensions whose mu varies over images as active", () => {
  const sd = [0, 0.01, 0.05, 0.5, 1, 2, 0.2];
  const s = latentStats(_rows(4000, sd, -1, 1), 4000, sd.length);
  // Var mu = sd^2 within sampling error; active where it exceeds 0.01 (sd > 0.1).
  assertClose("mu variance", s.muVariance, sd.map((v) => v * v), { atol: 2e-4, rtol: 0.08 });
  assert.equal(s.activeUnits, sd.filter((v) => v * v > ACTIVE_THRESHOLD).length);
  // KL_j = (mu^2 + e^lv - 1 - lv) / 2 averaged: E mu^2 = 0.09 + sd^2.
  const want = sd.map((v) => 0.5 * (0.09 + v * v + Math.exp(-1) - 1 + 1));
  assertClose("KL per dimension", s.klPerDim, want, { atol: 1e-3, rtol: 0.08 });
});

Deno.test("latentStats refuses rows that are too few for the count", () => {
  assert.throws(() => latentStats(new Float64Array(10), 3, 2), /h holds 10 numbers, 12 needed/);
  assert.throws(() => latentStats(new Float64Array(10), 1, 0), /latent must be >= 1/);
});

Deno.test("collapseVerdict names collapse at no active unit or under 1 nat, partial under half", () => {
  const stats = (active: number, kl: number[]) => ({
    count: 100,
    muVariance: kl.map(() => 0),
    klPerDim: kl,
    activeUnits: active,
  });
  const collapsed = collapseVerdict(stats(0, [0.01, 0.02]), 2);
  assert.ok(collapsed.collapsed && !collapsed.partial);
  assert.match(
    collapsed.words,
    /^posterior collapse: KL 0\.03 nats.*0 of 2.*--kl-warmup.*--free-bits/,
  );
  assert.ok(collapseVerdict(stats(3, [0.3, 0.3, 0.3]), 3).collapsed, "KL 0.9 < 1 nat");
  const partial = collapseVerdict(stats(2, [5, 5, 0, 0, 0]), 5);
  assert.ok(!partial.collapsed && partial.partial);
  assert.match(partial.words, /^partial collapse/);
  const fine = collapseVerdict(stats(14, new Array(16).fill(1)), 16);
  assert.ok(!fine.collapsed && !fine.partial);
  assert.match(fine.words, /^no collapse: KL 16\.00 nats per image, 14 of 16/);
});

Deno.test("klWarmupWeight rises linearly to 1 over the warm-up steps and stays there", () => {
  assert.equal(klWarmupWeight(1, 0), 1);
  assert.equal(klWarmupWeight(1, 100), 0.01);
  assert.equal(klWarmupWeight(50, 100), 0.5);
  assert.equal(klWarmupWeight(100, 100), 1);
  assert.equal(klWarmupWeight(250, 100), 1);
});

Deno.test("curvePoints averages the per-step sums over windows, numbered by global step", () => {
  // 7 steps of batch 2: recon sum 2 (s + 1), KL sum 2 s for step s.
  const s = Array.from({ length: 14 }, (_, i) => (i % 2 ? 2 * ((i - 1) / 2) : 2 * (i / 2 + 1)));
  const pts = curvePoints(s, 7, 2, 70, (r, k) => r + k);
  assert.equal(pts.length, 7); // windows of ceil(7 / 20) = 1 step
  assert.deepEqual(pts[3], { step: 74, loss: 4 + 3, recon: 4, kl: 3 });
  const many = curvePoints(new Array(2 * 195).fill(1), 195, 1, 0, (r, k) => r + k);
  assert.equal(many.length, 20);
  assert.equal(many.at(-1)!.step, 195);
  assert.ok(many.every((p) => p.loss === 2));
});

Deno.test("elboChart draws the per-step curve, in epochs, beside the epoch means", () => {
  const entry = (epoch: number): EpochLog => ({
    epoch,
    train_neg_elbo: 100 / epoch,
    train_recon: 0,
    train_kl: 0,
    val_neg_elbo: 90 / epoch,
    val_recon: 0,
    val_kl: 0,
    seconds: 1,
    images_per_s: 1,
    steps: 10,
    train_curve: [5, 10].map((k) => ({
      step: (epoch - 1) * 10 + k,
      loss: 200 / k,
      recon: 0,
      kl: 0,
    })),
  });
  const svg = elboChart([entry(1), entry(2)], "t");
  assert.match(svg, /data-name="train, every few steps"/);
  assert.match(svg, /data-name="train, epoch mean"/);
  assert.match(svg, /data-name="validation"/);
  // An old log without curves draws only the two per-epoch series.
  const old = elboChart([{ ...entry(1), train_curve: undefined }], "t");
  assert.doesNotMatch(old, /every few steps/);
});
