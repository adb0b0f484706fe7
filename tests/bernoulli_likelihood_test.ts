import { bernoulli } from "../src/likelihood/bernoulli.ts";
import { likelihoodTests } from "./likelihood_harness.ts";
import { normal, uniform } from "./helpers.ts";

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
