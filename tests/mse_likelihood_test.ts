import { mse } from "../src/likelihood/mse.ts";
import { likelihoodTests } from "./likelihood_harness.ts";
import { assertClose, normal, uniform } from "./helpers.ts";

// Pre-ReLU outputs ~ N(0.3, 0.6^2) (a third of them cut to 0 by the ReLU, as in training);
// gentle cases keep |l| >= 0.05 so central differences never straddle the kink; x grey levels.
likelihoodTests(mse, {
  makeCase(rand, n, d, gentle) {
    const head = normal(rand, n * d).map((v) => 0.3 + 0.6 * v);
    if (gentle) head.forEach((v, i) => (head[i] = Math.abs(v) < 0.05 ? v + 0.1 : v));
    const x = uniform(rand, n * d, 0, 1).map((v) => (v < 0.6 ? 0 : v));
    return { head, x };
  },
  sumTol: { atol: 1e-4, rtol: 1e-5 },
  gradTol: { atol: 1e-7, rtol: 1e-5 },
  meanTol: { atol: 0, rtol: 0 },
  sampleTol: { atol: 0, rtol: 0 },
});

Deno.test("mse reference: the squared error of the ReLU output, with no gradient below zero", () => {
  const cases: [number, number, number, number][] = [
    // l, x, (x - relu(l))^2, d/dl
    [0.5, 0.25, 0.0625, 0.5],
    [-2, 0.25, 0.0625, 0],
    [1.5, 1, 0.25, 1],
  ];
  for (const [l, x, want, dl] of cases) {
    assertClose(`nll(${l}, ${x})`, [mse.reference.nll([l], x, 0)], [want], {
      atol: 1e-15,
      rtol: 0,
    });
    assertClose(`grad(${l}, ${x})`, mse.reference.grad([l], x, 0), [dl], { atol: 1e-15, rtol: 0 });
  }
});
