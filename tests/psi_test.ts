/**
 * Inference without the encoder: the decoder-only backward (d loss / d psi through the frozen,
 * eval-mode decoder, masked or not) against the f64 reference and central differences; the
 * psi step kernel (SGD, Adam, best tracking, per-image early stopping) against its f64
 * reference; and psi optimization on a small fixed decoder.
 */

import assert from "node:assert/strict";
import { convLayout, ConvVae, initConvParams } from "../src/conv/conv_vae.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { bernoulli } from "../src/likelihood/bernoulli.ts";
import { initMlpParams, mlpLayout, MlpVae } from "../src/mlp/mlp_vae.ts";
import type { Gpu } from "../src/gpu/gpu.ts";
import type { ParamLayout } from "../src/model/params.ts";
import { PsiStep, TRACK_WORDS } from "../src/ops/psi_step.ts";
import { convDecoderPsi, type Tensors } from "../src/reference/conv_vae.ts";
import { newTrack, type PsiState, psiStep, type PsiStepShape } from "../src/reference/psi_step.ts";
import { PsiBatch } from "../src/study/psi.ts";
import { seededNormals } from "../src/random.ts";
import { gapReading, pickImages } from "../src/app/psi_task.ts";
import { assertClose, gpuTest, normal, numericGrad, rng, uniform } from "./helpers.ts";

const L = 3, N = 2;

function _f64(layout: ParamLayout, flat: Float32Array): Tensors {
  const out: Tensors = {};
  for (const [k, v] of Object.entries(layout.split(flat))) out[k] = Float64Array.from(v);
  return out;
}

/**
 * A small conv VAE whose batch norms are off their initial state: running statistics and
 * affine parameters random, so that eval mode differs from train mode and from the identity.
 */
function _convCase(seed: number) {
  const rand = rng(seed);
  const config = { latent: L };
  const { params, state } = convLayout(config);
  const init = initConvParams(config, seed, 1);
  const p = _f64(params, init.params), s = _f64(state, init.state);
  for (let k = 1; k <= 4; k++) {
    p[`dec.bn${k}.weight`] = p[`dec.bn${k}.weight`].map(() => 0.7 + 0.6 * rand());
    p[`dec.bn${k}.bias`] = uniform(rand, p[`dec.bn${k}.bias`].length, -0.3, 0.3);
    s[`dec.bn${k}.running_mean`] = uniform(rand, s[`dec.bn${k}.running_mean`].length, -0.2, 0.2);
    s[`dec.bn${k}.running_var`] = uniform(rand, s[`dec.bn${k}.running_var`].length, 0.3, 2);
  }
  // Round to f32 once, so that the reference and the GPU hold the same numbers.
  const round = (t: Tensors) =>
    Object.fromEntries(
      Object.entries(t).map(([k, v]) => [k, Float64Array.from(Float32Array.from(v))]),
    );
  const x = uniform(rand, N * 784, 0, 1).map((v) => (v > 0.7 ? 1 : 0));
  const h = Float64Array.from(Float32Array.from(uniform(rand, N * 2 * L, -1, 1)));
  const eps = Float64Array.from(Float32Array.from(normal(rand, N * L)));
  return {
    params,
    state,
    p: round(p),
    s: round(s),
    x,
    h,
    eps,
    init: { params: params.join(p), state: state.join(s) },
  };
}

/** Columns 0-13 observed, as `complete` does. */
const LEFT = Float32Array.from({ length: 784 }, (_, i) => (i % 28 < 14 ? 1 : 0));

Deno.test(
  "convDecoderPsi (eval-mode decoder) matches central differences in h, with and without a mask",
  () => {
    const c = _convCase(3);
    for (const mask of [undefined, LEFT]) {
      const r = convDecoderPsi(c.p, c.s, c.x, c.h, c.eps, L, undefined, mask);
      const want = numericGrad(
        (h) => convDecoderPsi(c.p, c.s, c.x, h, c.eps, L, undefined, mask).loss,
        c.h.slice(),
      );
      // Losses of ~600 nats at step 1e-6: ~1e-15 * 600 / 1e-6 of rounding in each difference.
      assertClose(`d loss / d h (${mask ? "left half" : "all pixels"})`, r.dH, want, {
        atol: 2e-6,
        rtol: 1e-5,
      });
    }
    // The mask leaves the right half out of the recon term, and only it.
    const all = convDecoderPsi(c.p, c.s, c.x, c.h, c.eps, L);
    const left = convDecoderPsi(c.p, c.s, c.x, c.h, c.eps, L, undefined, LEFT);
    if (!(left.perImage[0] < all.perImage[0] && left.perImage[1] === all.perImage[1])) {
      throw new Error(`mask: recon ${left.perImage[0]} vs ${all.perImage[0]}, KL must agree`);
    }
  },
);

gpuTest(
  "VaeGraph.decoderBackward (eval-mode batch norm, frozen weights) matches the f64 reference, " +
    "with and without a mask",
  async (gpu) => {
    const c = _convCase(3);
    const vae = new ConvVae(gpu, { latent: L }, c.init, bernoulli);
    const g = await vae.graph(N);
    gpu.write(g.x, Float32Array.from(c.x));
    gpu.write(g.eps, Float32Array.from(c.eps));
    const sums = gpu.storage("sums", 16), mask = gpu.storage("mask", LEFT);
    for (const m of [undefined, mask]) {
      gpu.write(g.h, Float32Array.from(c.h));
      const rec = gpu.record();
      g.forwardLoss(rec, sums, 0, "eval", false, m);
      g.decoderBackward(rec, { scale: 1, mask: m });
      await rec.submit();
      const want = convDecoderPsi(c.p, c.s, c.x, c.h, c.eps, L, undefined, m ? LEFT : undefined);
      const what = m ? "left half" : "all pixels";
      assertClose(`per-image loss (${what})`, await gpu.readF32(g.perImage), want.perImage, {
        atol: 1e-3,
        rtol: 1e-5,
      });
      const scale = Math.max(...want.dH.map(Math.abs));
      assertClose(`d loss / d h (${what})`, await gpu.readF32(g.dH), want.dH, {
        atol: 1e-5 * scale,
        rtol: 1e-3,
      });
    }
    // The running statistics are constants in eval mode: the forward left them alone.
    assertClose("running statistics", await gpu.readF32(vae.state!.buffer), c.init.state, {
      atol: 0,
      rtol: 0,
    });
    sums.destroy();
    mask.destroy();
  },
);

/** Reads the kernel's state as the reference's. */
async function _readState(gpu: Gpu, b: Record<string, GPUBuffer>, n: number): Promise<PsiState> {
  const f64 = async (buf: GPUBuffer) => Float64Array.from(await gpu.readF32(buf));
  const words = await gpu.readU32(b.track, 0, n * TRACK_WORDS);
  const f = new Float32Array(words.buffer);
  return {
    h: await f64(b.h),
    best: await f64(b.best),
    m: await f64(b.m),
    v: await f64(b.v),
    track: Array.from({ length: n }, (_, i) => ({
      bestLoss: f[i * TRACK_WORDS],
      bestStep: words[i * TRACK_WORDS + 1],
      wait: words[i * TRACK_WORDS + 2],
      steps: words[i * TRACK_WORDS + 3],
      active: words[i * TRACK_WORDS + 4] !== 0,
      loss: f[i * TRACK_WORDS + 5],
    })),
  };
}

/**
 * Losses per image and step: image i improves until step turn[i] and then gets worse, so with
 * patience P it must stop after turn[i] + P updates, its best psi the one of step turn[i].
 * Image 3 turns NaN at step 4; image 4 never stops improving (it reaches max steps).
 */
function _loss(i: number, t: number, turn: number[]): number {
  if (i === 3 && t >= 4) return NaN;
  return t <= turn[i] ? 100 - t : 200 + t;
}

for (const optimizer of ["sgd", "adam"] as const) {
  gpuTest(
    `psi_step (${optimizer}) matches its f64 reference step by step and stops each image on ` +
      "its own",
    async (gpu) => {
      const n = 5, S = 3, D = 4, patience = 4, maxSteps = 30;
      const turn = [3, 15, 0, 99, 99];
      const shape: PsiStepShape = {
        n,
        samples: S,
        dims: D,
        maxSteps,
        patience,
        adam: optimizer === "adam",
        lr: 0.05,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
      };
      const op = await PsiStep.create(gpu, {
        n,
        samples: S,
        dims: D,
        maxSteps,
        patience,
        optimizer,
        lr: 0.05,
      });
      const rand = rng(7);
      const h0 = new Float32Array(n * S * D);
      for (let i = 0; i < n; i++) {
        const row = Float32Array.from(normal(rand, D));
        for (let s = 0; s < S; s++) h0.set(row, (i * S + s) * D);
      }
      const b = {
        h: gpu.storage("h", h0),
        best: gpu.storage("best", n * D * 4),
        m: gpu.storage("m", n * D * 4),
        v: gpu.storage("v", n * D * 4),
        track: op.newTracks(),
        perImage: gpu.storage("per_image", n * S * 2 * 4),
        dh: gpu.storage("dh", n * S * D * 4),
      };
      const start = await _readState(gpu, b, n);
      const fresh = newTrack();
      const same = (t: typeof fresh) =>
        t.active === fresh.active && t.bestLoss === fresh.bestLoss && t.steps === fresh.steps &&
        t.wait === fresh.wait && t.bestStep === fresh.bestStep && Number.isNaN(t.loss);
      if (!start.track.every(same)) {
        throw new Error("newTracks: every image should start active with no best");
      }
      const stoppedH: Float64Array[] = [];
      for (let t = 0; t <= maxSteps + 1; t++) {
        // Per-sample terms whose mean is the designed loss; gradients random per sample.
        const per = new Float32Array(n * S * 2);
        for (let i = 0; i < n; i++) {
          for (let s = 0; s < S; s++) {
            per[2 * (i * S + s)] = _loss(i, t, turn) + (s - 1) * 0.5;
            per[2 * (i * S + s) + 1] = 1.5;
          }
        }
        const dh = Float32Array.from(uniform(rand, n * S * D, -2, 2));
        gpu.write(b.perImage, per);
        gpu.write(b.dh, dh);
        const want = await _readState(gpu, b, n);
        psiStep(shape, want, per, dh);
        const rec = gpu.record();
        op.step(rec, b);
        await rec.submit();
        const got = await _readState(gpu, b, n);
        for (const k of ["h", "best", "m", "v"] as const) {
          assertClose(`step ${t}: ${k}`, got[k], want[k], { atol: 1e-6, rtol: 1e-5 });
        }
        for (let i = 0; i < n; i++) {
          const a = got.track[i], e = want.track[i];
          const same = a.bestStep === e.bestStep && a.wait === e.wait && a.steps === e.steps &&
            a.active === e.active && Object.is(Math.fround(e.bestLoss), a.bestLoss);
          if (!same) {
            throw new Error(
              `step ${t}, image ${i}: track ${JSON.stringify(a)}, want ${JSON.stringify(e)}`,
            );
          }
        }
        // An image that has stopped keeps its psi while the others move on.
        got.track.forEach((tr, i) => {
          if (!tr.active) {
            const row = got.h.slice(i * S * D, i * S * D + D);
            stoppedH[i] ??= row;
            assertClose(`image ${i} after stopping`, row, stoppedH[i], { atol: 0, rtol: 0 });
          }
        });
      }
      const tracks = await op.readTracks(b.track);
      const steps = tracks.map((t) => t.steps), best = tracks.map((t) => t.bestStep);
      // Image i: the best at turn[i]; patience more looks, then it stops. Image 3 stops on NaN.
      const wantSteps = [3 + patience, 15 + patience, 0 + patience, 4, maxSteps];
      const wantBest = [3, 15, 0, 3, maxSteps];
      if (String(steps) !== String(wantSteps) || String(best) !== String(wantBest)) {
        throw new Error(`steps ${steps} best ${best}; want ${wantSteps} and ${wantBest}`);
      }
      if (tracks.some((t) => t.active)) throw new Error("every image should have stopped");
      for (const buf of Object.values(b)) buf.destroy();
    },
  );
}

gpuTest(
  "PsiBatch on a small fixed MLP decoder lowers each image's -ELBO from its N(0, I) start",
  async (gpu) => {
    const shape = { pixels: 784, hidden: 40, latent: 2, activation: "tanh" as const };
    // The decoder's first layer scaled up, so that its output depends strongly on z.
    const layout = mlpLayout(shape, 1), p = layout.split(initMlpParams(layout, 4));
    p["dec.fc1.weight"] = p["dec.fc1.weight"].map((w) => 4 * w);
    const vae = new MlpVae(gpu, shape, layout.join(p));
    const rand = rng(9);
    const images = Uint8Array.from({ length: 3 * 784 }, () => (rand() < 0.3 ? 255 : 0));
    const data = await GpuDataset.create(gpu, images, 3);
    const batch = await PsiBatch.create(vae, data, { images: 3, samples: 4 });
    await batch.load([0, 1, 2]);
    const o = { steps: 150, lr: 0.05, patience: 150, optimizer: "adam" as const, seed: 5 };
    // The initial psi that optimize draws from N(0, I) with this seed.
    const init = seededNormals(o.seed, 3 * 4);
    const before = await batch.estimate(init, 400, 1);
    const run = await batch.optimize(o);
    const after = await batch.estimate(run.psi, 400, 1);
    for (let i = 0; i < 3; i++) {
      if (!(after.negElbo[i] < before.negElbo[i] - 5)) {
        throw new Error(
          `image ${i}: -ELBO ${before.negElbo[i].toFixed(2)} at the start, ` +
            `${after.negElbo[i].toFixed(2)} after optimizing`,
        );
      }
    }
    if (run.tracks.some((t) => t.steps !== 150 || t.active)) {
      throw new Error(
        `with patience = steps every image takes all steps: ${JSON.stringify(run.tracks)}`,
      );
    }
    batch.destroy();
    data.destroy();
  },
);

Deno.test("pickImages draws distinct indices, seeded", () => {
  const a = pickImages(10_000, 1000, 3), b = pickImages(10_000, 1000, 3);
  if (new Set(a).size !== 1000 || a.some((i) => i < 0 || i >= 10_000)) {
    throw new Error("pickImages: indices must be distinct and in range");
  }
  if (String(a) !== String(b) || String(a) === String(pickImages(10_000, 1000, 4))) {
    throw new Error("pickImages: the same seed must give the same images, another seed others");
  }
});

Deno.test("gapReading calls a clearly negative gap the optimizer's shortfall, not a gap", () => {
  const negative = gapReading(-41.67, 6.1, 204, 500);
  assert.match(negative, /negative/);
  assert.match(negative, /optimizer's shortfall/);
  assert.match(negative, /204 of at most 500 steps/);
  assert.match(gapReading(3, 1, 300, 500), /amortization gap \(Cremer/);
  assert.match(gapReading(-1, 1, 300, 500), /within two standard errors/);
  assert.match(gapReading(NaN, 0, 0, 500), /not finite/);
});
