import type { Gpu } from "../src/gpu/gpu.ts";
import { struct } from "../src/gpu/uniform.ts";
import { digamma, digammaDiff, lgamma, logBeta } from "../src/reference/special.ts";
import { assertClose, f32, gpuTest, rng } from "./helpers.ts";

const EULER = 0.57721566490153286;
const LN_SQRT_PI = 0.5 * Math.log(Math.PI);

/** Shapes on a log grid over [1e-4, 1e4], 20 per decade, as f32 (what the kernels see). */
const GRID = Array.from({ length: 161 }, (_, i) => Math.fround(10 ** (-4 + i / 20)));

/** ln((n - 1)!) by summing logs: independent of the Stirling series under test. */
function lnFactorial(n: number): number {
  let s = 0;
  for (let k = 2; k <= n; k++) s += Math.log(k);
  return s;
}

function check(name: string, ok: boolean, detail: string): void {
  if (!ok) throw new Error(`${name}: ${detail}`);
}

Deno.test("lgamma and digamma f64 reproduce known values", () => {
  assertClose("lgamma(1/2)", [lgamma(0.5)], [LN_SQRT_PI], { atol: 1e-15, rtol: 1e-15 });
  assertClose("lgamma(1), lgamma(2)", [lgamma(1), lgamma(2)], [0, 0], { atol: 2e-15, rtol: 0 });
  assertClose("digamma(1)", [digamma(1)], [-EULER], { atol: 1e-15, rtol: 1e-15 });
  assertClose("digamma(1/2)", [digamma(0.5)], [-EULER - 2 * Math.LN2], {
    atol: 1e-15,
    rtol: 1e-15,
  });
  // The positive zero of digamma (Abramowitz and Stegun 6.3.19).
  assertClose("digamma(1.4616321449683623)", [digamma(1.4616321449683623)], [0], {
    atol: 1e-15,
    rtol: 0,
  });
  const ns = [1, 2, 3, 5, 10, 11, 20, 50, 171, 1000, 10_000];
  assertClose("lgamma(n) = ln((n - 1)!)", ns.map(lgamma), ns.map((n) => lnFactorial(n - 1)), {
    atol: 1e-14,
    rtol: 1e-14,
  });
  const harmonic = (n: number) => {
    let h = 0;
    for (let k = n - 1; k >= 1; k--) h += 1 / k;
    return h;
  };
  assertClose(
    "digamma(n) = H(n - 1) - gamma",
    ns.map(digamma),
    ns.map((n) => harmonic(n) - EULER),
    {
      atol: 1e-15,
      rtol: 1e-14,
    },
  );
  // Small x: lgamma(x) = -ln x - gamma x + (pi^2 / 12) x^2 + O(x^3).
  const x = 1e-8;
  assertClose(
    "lgamma(1e-8)",
    [lgamma(x)],
    [-Math.log(x) - EULER * x + (Math.PI ** 2 / 12) * x * x],
    {
      atol: 0,
      rtol: 1e-15,
    },
  );
});

Deno.test("lgamma and digamma f64 satisfy the recurrence, reflection and duplication", () => {
  const xs = Array.from({ length: 81 }, (_, i) => 10 ** (-4 + i / 10));
  // Compared as lgamma(x + 1) = lgamma(x) + ln x: the difference would cancel for large x.
  assertClose(
    "lgamma(x + 1) = lgamma(x) + ln x",
    xs.map((x) => lgamma(x + 1)),
    xs.map((x) => lgamma(x) + Math.log(x)),
    { atol: 2e-14, rtol: 1e-14 },
  );
  assertClose(
    "digamma(x + 1) - digamma(x) = 1 / x",
    xs.map((x) => digamma(x + 1) - digamma(x)),
    xs.map((x) => 1 / x),
    { atol: 2e-14, rtol: 1e-14 },
  );
  // Reflection, used only as a check: both sides need positive arguments for x in (0, 1).
  const us = Array.from({ length: 99 }, (_, i) => (i + 1) / 100);
  assertClose(
    "lgamma(x) + lgamma(1 - x) = ln(pi / sin(pi x))",
    us.map((u) => lgamma(u) + lgamma(1 - u)),
    us.map((u) => Math.log(Math.PI / Math.sin(Math.PI * u))),
    { atol: 1e-14, rtol: 1e-14 },
  );
  assertClose(
    "digamma(1 - x) - digamma(x) = pi cot(pi x)",
    us.map((u) => digamma(1 - u) - digamma(u)),
    us.map((u) => Math.PI / Math.tan(Math.PI * u)),
    { atol: 1e-13, rtol: 1e-14 },
  );
  // Legendre: lgamma(2x) = (2x - 1) ln 2 - ln(pi) / 2 + lgamma(x) + lgamma(x + 1/2).
  assertClose(
    "duplication",
    xs.map((x) => lgamma(2 * x)),
    xs.map((x) => (2 * x - 1) * Math.LN2 - LN_SQRT_PI + lgamma(x) + lgamma(x + 0.5)),
    { atol: 1e-13, rtol: 1e-14 },
  );
});

Deno.test("logBeta and digammaDiff f64 match closed forms and the plain differences", () => {
  const bs = [1e-4, 0.3, 1, 7.5, 10, 123.4, 1e4];
  assertClose("ln B(1, b) = -ln b", bs.map((b) => logBeta(1, b)), bs.map((b) => -Math.log(b)), {
    atol: 1e-14,
    rtol: 1e-14,
  });
  assertClose("ln B(a, 1) = -ln a", bs.map((a) => logBeta(a, 1)), bs.map((a) => -Math.log(a)), {
    atol: 1e-14,
    rtol: 1e-14,
  });
  assertClose("ln B(1/2, 1/2) = ln pi", [logBeta(0.5, 0.5)], [Math.log(Math.PI)], {
    atol: 1e-15,
    rtol: 1e-15,
  });
  const pairs: [number, number][] = [[3, 4], [20, 7], [1000, 10_000], [10_000, 10_000]];
  assertClose(
    "ln B(n, m) = ln((n-1)! (m-1)! / (n+m-1)!)",
    pairs.map(([n, m]) => logBeta(n, m)),
    pairs.map(([n, m]) => lnFactorial(n - 1) + lnFactorial(m - 1) - lnFactorial(n + m - 1)),
    { atol: 1e-12, rtol: 1e-13 },
  );
  // B(a, a) = 2^(1 - 2a) B(1/2, a): the large-a Stirling form against the lifted small one.
  const as = [8, 10.5, 100, 1e3, 1e4];
  assertClose(
    "ln B(a, a) = (1 - 2a) ln 2 + ln B(1/2, a)",
    as.map((a) => logBeta(a, a)),
    as.map((a) => (1 - 2 * a) * Math.LN2 + logBeta(0.5, a)),
    { atol: 1e-12, rtol: 1e-14 },
  );
  // Where the plain forms do not cancel badly (moderate arguments), they agree.
  const ms = [1e-4, 0.01, 0.5, 1.5, 3, 9.99, 10, 25];
  for (const a of ms) {
    for (const b of ms) {
      const plain = lgamma(a) + lgamma(b) - lgamma(a + b);
      assertClose(`ln B(${a}, ${b})`, [logBeta(a, b)], [plain], { atol: 1e-13, rtol: 1e-14 });
      assertClose(`ln B symmetric (${a}, ${b})`, [logBeta(b, a)], [logBeta(a, b)], {
        atol: 1e-14,
        rtol: 1e-14,
      });
      const pd = digamma(a) - digamma(a + b);
      assertClose(`D(${a}, ${b})`, [digammaDiff(a, b)], [pd], { atol: 1e-13, rtol: 1e-13 });
    }
  }
  // Tiny b: D(a, b) / b -> -trigamma(a); trigamma(1) = pi^2 / 6, trigamma(x) ~ 1/x + 1/(2x^2).
  assertClose(
    "D(1, 1e-9) / 1e-9",
    [digammaDiff(1, 1e-9) / 1e-9],
    [-(Math.PI ** 2) / 6 + 1e-9 * 1.2020569031595942],
    { atol: 0, rtol: 1e-12 },
  );
  const a = 1e4;
  assertClose(
    "D(1e4, 1e-4) / 1e-4",
    [digammaDiff(a, 1e-4) / 1e-4],
    // -trigamma(a) - (b / 2) tetragamma(a), tetragamma(a) ~ -1 / a^2.
    [-(1 / a + 1 / (2 * a * a) + 1 / (6 * a ** 3)) + 1e-4 / (2 * a * a)],
    { atol: 0, rtol: 1e-10 },
  );
  // Additivity: D(a, b1 + b2) = D(a, b1) + D(a + b1, b2), exact in exact arithmetic.
  for (const [x, b1, b2] of [[1e-4, 1e-4, 1e4], [5, 0.25, 3], [1e4, 1e-4, 1e-4]]) {
    assertClose(
      `D additivity (${x}, ${b1}, ${b2})`,
      [digammaDiff(x, b1 + b2)],
      [digammaDiff(x, b1) + digammaDiff(x + b1, b2)],
      { atol: 1e-14, rtol: 1e-13 },
    );
  }
});

// Columns of kernels/beta_special.wgsl's output rows.
const LOG_BETA = 0, PSI_DIFF = 1, LGAMMA = 2, LN = 3, LN1P = 4, COLS = 5;
const SpecialShape = struct({ n: "u32" });

async function evaluate(gpu: Gpu, pairs: number[]): Promise<Float32Array> {
  const n = pairs.length / 2;
  const kernel = await gpu.kernel("beta_special", { WG: 256 });
  const args = gpu.storage("beta_special args", f32(pairs));
  const out = gpu.storage("beta_special out", n * COLS * 4);
  const shape = gpu.uniform(SpecialShape, { n });
  const rec = gpu.record();
  rec.dispatchItems(kernel, gpu.bind(kernel, [shape, args, out]), n);
  await rec.submit();
  const got = await gpu.readF32(out, 0, n * COLS);
  args.destroy();
  out.destroy();
  return got;
}

/** Errors of one column as |got - want| / max(floor, |want|). */
function maxScaled(
  got: Float32Array,
  col: number,
  want: number[],
  floor: number,
): { err: number; at: number } {
  let err = 0, at = -1;
  want.forEach((w, i) => {
    const e = Math.abs(got[COLS * i + col] - w) / Math.max(floor, Math.abs(w));
    if (!(e <= err)) [err, at] = [e, i];
  });
  return { err, at };
}

// Bounds measured on lavapipe over the grid and 20,000 random pairs (observed maxima in
// brackets), stated in beta_kl_forward.wgsl: ln B: 1e-6 max(1, |ln B|) [7.0e-7]; psi(a) -
// psi(a + b): 5e-7 relative [3.8e-7]; lgamma: 4e-7 max(1, |lgamma|) [2.0e-7]; ln: 1.2e-7
// relative, one ulp [7.6e-8].
const LOG_BETA_TOL = 1e-6, PSI_DIFF_TOL = 5e-7, LGAMMA_TOL = 4e-7, LN_TOL = 1.2e-7;

gpuTest(
  "beta_special ln B, psi difference, lgamma and ln match the f64 reference on [1e-4, 1e4]",
  async (gpu) => {
    const rand = rng(401);
    const pairs: number[] = [];
    for (const a of GRID) for (const b of GRID) pairs.push(a, b);
    // Log-uniform random pairs between the grid points.
    for (let i = 0; i < 20_000; i++) {
      pairs.push(Math.fround(10 ** (-4 + 8 * rand())), Math.fround(10 ** (-4 + 8 * rand())));
    }
    const got = await evaluate(gpu, pairs);
    const n = pairs.length / 2;
    const a = Array.from({ length: n }, (_, i) => pairs[2 * i]);
    const b = Array.from({ length: n }, (_, i) => pairs[2 * i + 1]);
    const describe = (i: number, col: number, want: number) =>
      `at (${a[i]}, ${b[i]}): got ${got[COLS * i + col]}, want ${want}`;
    for (
      const [what, col, want, floor, tol] of [
        ["ln B", LOG_BETA, a.map((x, i) => logBeta(x, b[i])), 1, LOG_BETA_TOL],
        ["psi(a) - psi(a + b)", PSI_DIFF, a.map((x, i) => digammaDiff(x, b[i])), 0, PSI_DIFF_TOL],
        ["lgamma", LGAMMA, a.map(lgamma), 1, LGAMMA_TOL],
        ["ln", LN, a.map(Math.log), 0, LN_TOL],
      ] as const
    ) {
      const { err, at } = maxScaled(got, col, want, floor);
      check(
        what,
        err <= tol,
        `error ${err.toExponential(2)} > ${tol} ${describe(at, col, want[at])}`,
      );
    }
  },
);

gpuTest(
  "beta_special ln and ln1p are accurate near 1, at the extremes and at subnormals",
  async (gpu) => {
    const xs = [
      2 ** -149,
      1e-40,
      2 ** -126,
      2 ** -33,
      1e-4,
      0.5,
      Math.fround(1 - 2 ** -24),
      1,
      Math.fround(1 + 2 ** -23),
      Math.SQRT2,
      2,
      1e4,
      3e38,
    ].map(Math.fround);
    // ln1p arguments: tiny, at the polynomial's edges, near -1 (1 - y for y up to 1 - 2^-24).
    const ps = [
      1e-30,
      -1e-30,
      2 ** -24,
      -(2 ** -24),
      1e-4,
      -0.2928932,
      -0.2929,
      0.4142135,
      0.4143,
      -0.5,
      -(1 - 2 ** -24),
      -(1 - 2 ** -9),
      3,
      1e4,
    ].map(Math.fround);
    const pairs = xs.flatMap((x, i) => [x, ps[i % ps.length]]).concat(
      ps.flatMap((p) => [1, p]),
    );
    const got = await evaluate(gpu, pairs);
    const n = pairs.length / 2;
    for (let i = 0; i < n; i++) {
      const x = pairs[2 * i], p = pairs[2 * i + 1];
      // Adapters may flush subnormals to zero (WGSL allows it): then ln gets 0 and says -3.4e38.
      const lnX = got[COLS * i + LN];
      if (x >= 2 ** -126) {
        check(
          `ln(${x})`,
          Math.abs(lnX - Math.log(x)) <= LN_TOL * Math.abs(Math.log(x)) + 1e-38,
          `got ${lnX}`,
        );
      } else {
        const ok = Math.abs(lnX - Math.log(x)) <= LN_TOL * Math.abs(Math.log(x)) || lnX === -3.4e38;
        check(`ln(${x})`, ok, `got ${lnX}`);
      }
      const want = Math.log1p(p), l1p = got[COLS * i + LN1P];
      check(
        `ln1p(${p})`,
        Math.abs(l1p - want) <= 2 * LN_TOL * Math.abs(want),
        `got ${l1p}, want ${want}`,
      );
    }
  },
);
