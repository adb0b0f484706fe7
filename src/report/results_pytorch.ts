/**
 * docs/results.md's PyTorch comparison: a PyTorch reference file (tools/pytorch_reference.py)
 * checked field by field, the reference run that matches one of ours (the same epochs), and
 * each likelihood model's "PyTorch at the same budget" section.
 */

import { fmt, int, md, table } from "./results_format.ts";
import type { PytorchRun, StepEntry } from "./results_input.ts";

/** The PyTorch reference's fields, checked; a string says what is wrong with it. */
export function pytorchRun(v: unknown): PytorchRun | string {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "it is not a JSON object";
  const o = v as Record<string, unknown>;
  for (const k of ["epochs", "test_neg_elbo"]) {
    if (typeof o[k] !== "number") return `its ${k} is not a number`;
  }
  const num = (k: string) => (typeof o[k] === "number" ? o[k] as number : null);
  return {
    likelihood: String(o.likelihood),
    epochs: o.epochs as number,
    test_neg_elbo: o.test_neg_elbo as number,
    test_nll_is: num("test_nll_is"),
    is_samples: num("is_samples") ?? 0,
    is_images: num("is_images") ?? 0,
    test_bpd: num("test_bpd"),
    test_nll_is_bpd: num("test_nll_is_bpd"),
    active_units: num("active_units"),
    seed: num("seed") ?? 0,
    framework: String(o.framework ?? "PyTorch"),
    threads: num("threads") ?? 0,
    images_per_s: num("images_per_s"),
  };
}

/** The step's PyTorch run when it trained as many epochs as ours; null otherwise. */
export function matchingPytorch(s: StepEntry): PytorchRun | null {
  const p = s.pytorch?.run, m = s.run?.metrics;
  return p && m && p.epochs === m.epochs ? p : null;
}

/** A likelihood step's numbers beside PyTorch's of the same budget, or why there are none. */
export function pytorchSection(s: StepEntry): string[] {
  const py = s.pytorch!, m = s.run?.metrics;
  if (!m) return [`No metrics of ours to set beside PyTorch's (${py.file}).`];
  if (!py.run) return [`No PyTorch run at this budget: ${md(py.problem ?? "none")}.`];
  const p = matchingPytorch(s);
  if (!p) {
    return [
      `No PyTorch run at this budget: \`${py.file}\` trained ${int(py.run.epochs)} epochs, ` +
      `this run ${int(m.epochs)}.`,
    ];
  }
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  const row = (label: string, a: unknown, b: number | null, digits = 2) => {
    const x = num(a);
    const d = x === null || b === null
      ? "–"
      : fmt(x - b, digits).replace(/^(?=[1-9]|0\.0*[1-9])/, "+");
    return [label, fmt(a, digits), fmt(b, digits), d];
  };
  const rows = [
    row("test -ELBO (nats)", m.test_neg_elbo, p.test_neg_elbo),
    row("test IS NLL (nats)", m.test_nll_is, p.test_nll_is),
    [
      "IS samples K, images",
      `${int(m.is_samples)}, ${int(m.is_images)}`,
      `${int(p.is_samples)}, ${int(p.is_images)}`,
      "",
    ],
    row("bits/dim (-ELBO)", m.test_bpd, p.test_bpd, 3),
    row("bits/dim (IS NLL)", m.test_nll_is_bpd, p.test_nll_is_bpd, 3),
    row("active units", m.active_units, p.active_units, 0),
  ].filter((r) => r[1] !== "–" || r[2] !== "–");
  const seeds = (py.seeds ?? []).filter((x) => x.run.epochs === p.epochs);
  return [
    ...table(["", "ours (WebGPU)", "PyTorch", "ours - PyTorch"], rows),
    "",
    `PyTorch: ${md(p.framework)}, ${int(p.threads)} threads, seed ${int(p.seed)}, ` +
    `${int(p.epochs)} epochs (\`${py.file}\`). Lower -ELBO and NLL are better: a negative ` +
    "difference means ours is lower. Speed is not compared here (the runs shared the machine " +
    "with others): `deno task bench --torch` does that, on a quiet machine only.",
    ...(seeds.length > 0
      ? [
        "",
        "PyTorch with other seeds, the same budget: " + seeds.map((x) =>
          `seed ${int(x.run.seed)} test -ELBO ${fmt(x.run.test_neg_elbo)}, IS NLL ` +
          `${fmt(x.run.test_nll_is)}` +
          (x.run.test_bpd === null ? "" : `, ${fmt(x.run.test_bpd, 3)} bits/dim`) +
          `, ${int(x.run.active_units)} active units (\`${x.file}\`)`
        ).join("; ") + ".",
      ]
      : []),
  ];
}
