import { bernoulli } from "../src/likelihood/bernoulli.ts";
import { bernoulliNll } from "../src/reference/bernoulli.ts";
import { LikelihoodLoss } from "../src/ops/likelihood_loss.ts";
import { likelihoodTests } from "./likelihood_harness.ts";
import { assertClose, gpuTest, normal, uniform } from "./helpers.ts";

// Logits ~ N(0, 4^2) with every 97th at +-100 (clamped to +-6 for finite differences); x binary.
likelihoodTests(bernoulli, {
  makeCase(rand, n, d, gentle) {
    const head = normal(rand, n * d).map((v) => 4 * v);
    if (gentle) head.forEach((v, i) => (head[i] = Math.max(-6, Math.min(6, v))));
    else for (let i = 0; i < n * d; i += 97) head[i] = i % 2 ? -100 : 100;
    const x = uniform(rand, n * d, 0, 1).map((v) => (v > 0.5 ? 1 : 0));
    return { head, x };
  },
  sumTol: { atol: 1e-4, rtol: 1e-5 },
  gradTol: { atol: 1e-7, rtol: 1e-5 },
  meanTol: { atol: 1e-7, rtol: 1e-6 },
  sampleTol: { atol: 0, rtol: 0 },
});

Deno.test("bernoulliNll equals the textbook BCE and stays finite at logits of +-100", () => {
  // Past |l| ~ 8 the textbook form itself loses digits in 1 - s.
  for (const l of [-8, -5, -0.5, 0, 0.5, 5, 8]) {
    for (const x of [0, 0.25, 1]) {
      const s = 1 / (1 + Math.exp(-l));
      const bce = -(x * Math.log(s) + (1 - x) * Math.log(1 - s));
      assertClose(`nll(${l}, ${x})`, [bernoulliNll(l, x)], [bce], { atol: 1e-12, rtol: 1e-9 });
    }
  }
  // Confidently wrong costs 100 nats; confidently right costs log(1 + e^-100).
  const tiny = Math.exp(-100);
  const cases: [number, number, number][] = [[100, 0, 100], [-100, 1, 100], [100, 1, tiny], [
    -100,
    0,
    tiny,
  ]];
  assertClose(
    "nll(+-100)",
    cases.map(([l, x]) => bernoulliNll(l, x)),
    cases.map(([, , want]) => want),
    { atol: 0, rtol: 1e-12 },
  );
});

gpuTest(
  "bernoulli_kl_forward is accurate per pixel, confidently right at |l| up to 30",
  async (gpu) => {
    // One pixel per image, so per_image is each pixel's NLL: where the answer is right, the NLL
    // is log(1 + e^-|l|) ~ e^-|l|, which a log(1 + e) would lose entirely past |l| ~ 17.
    const logits = Float32Array.from({ length: 124 }, (_, i) => (i % 2 ? -1 : 1) * (i / 4));
    const x = logits.map((l, i) => (i % 3 === 0 ? (l > 0 ? 0 : 1) : (l > 0 ? 1 : 0)));
    const n = logits.length;
    const op = await LikelihoodLoss.create(gpu, {
      kernel: "bernoulli",
      n,
      d: 1,
      latent: 1,
      width: 1,
      k: 0,
    });
    const head = gpu.storage("head", logits), xb = gpu.storage("x", x);
    const h = gpu.storage("h", n * 2 * 4), perImage = gpu.storage("per_image", n * 2 * 4);
    const sums = gpu.storage("sums", 2 * 4);
    const rec = gpu.record();
    op.forward(rec, perImage, sums, head, xb, h, 0);
    await rec.submit();
    const got = await gpu.readF32(perImage);
    const want = Array.from(logits, (l, i) => bernoulliNll(l, x[i]));
    assertClose("per-pixel NLL", got.filter((_, i) => i % 2 === 0), want, {
      atol: 1e-30,
      rtol: 2e-6,
    });
    for (const b of [head, xb, h, perImage, sums]) b.destroy();
  },
);
