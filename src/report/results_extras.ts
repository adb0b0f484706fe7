/**
 * docs/results.md's sections of training runs beside the course's (remedies, other seeds): a
 * row per run with the flags that set it apart and what it reached, its reconstructions, and
 * for other seeds each seed beside PyTorch's run of the same seed and budget.
 */

import { activeUnits, figure, fmt, int, md, table } from "./results_format.ts";
import type { ExtraRuns, PytorchRun, StepEntry } from "./results_input.ts";

/**
 * Training runs beside the course's: one row each with the flags that set it apart (its
 * budget, a remedy, a seed) and what it reached, then each run's reconstructions.
 */
export function extrasSection(e: ExtraRuns): string[] {
  const head = [
    "run",
    "task and flags",
    "epochs",
    "test -ELBO",
    "KL",
    "bits/dim (-ELBO)",
    "active units",
    "verdict",
  ];
  const rows = e.runs.map(({ name, run }) => {
    const m = run.metrics ?? {};
    const flags = _flagsBesideOut(run.manifest.args);
    return [
      `\`${md(name)}\``,
      `\`${md([run.manifest.task, ...flags].join(" "))}\``,
      int(m.epochs),
      fmt(m.test_neg_elbo),
      fmt(m.test_kl),
      fmt(m.test_bpd, 3),
      activeUnits(m),
      m.posterior_collapse === true
        ? "**posterior collapse**"
        : m.partial_collapse === true
        ? "partial collapse"
        : typeof m.posterior_collapse === "boolean"
        ? "no collapse"
        : "–",
    ];
  });
  const figures = e.runs.flatMap(({ name, run }) =>
    run.figures.flatMap((f) => figure({ ...f, caption: `${name}: ${f.caption}` }))
  );
  return [
    "",
    `## ${md(e.title)}`,
    "",
    `${e.intro} The runs under \`${md(e.dir)}\`, each read from its manifest.json and ` +
    "metrics.json:",
    "",
    ...table(head, rows),
    ...figures,
  ];
}

/**
 * Per course model with runs of other seeds (same task, same epochs): each seed's test -ELBO and
 * IS NLL beside PyTorch's run of that seed and budget, then how far the seeds spread and how far
 * ours sits from PyTorch on average. Empty where no model has a second seed.
 */
export function seedSpread(steps: StepEntry[], e: ExtraRuns): string[] {
  const rows: string[][] = [], notes: string[] = [];
  for (const s of steps) {
    const m = s.run?.metrics;
    if (!s.pytorch || !m) continue;
    const others = e.runs
      .filter((r) => r.run.manifest.task === s.task && r.run.metrics?.epochs === m.epochs)
      .map((r) => r.run.metrics!);
    const ours = [m, ...others].sort((a, b) => Number(a.seed) - Number(b.seed));
    if (ours.length < 2) continue;
    const torch = [s.pytorch.run, ...(s.pytorch.seeds ?? []).map((x) => x.run)]
      .filter((p): p is PytorchRun => p !== null && p.epochs === m.epochs);
    const pairs = ours.map((o) => ({ o, p: torch.find((t) => t.seed === o.seed) ?? null }));
    for (const { o, p } of pairs) {
      rows.push([
        `\`${md(s.name)}\``,
        int(o.seed),
        int(o.epochs),
        fmt(o.test_neg_elbo),
        fmt(p?.test_neg_elbo),
        fmt(o.test_nll_is),
        fmt(p?.test_nll_is),
      ]);
    }
    const both = pairs.filter(({ o, p }) =>
      p && typeof o.test_neg_elbo === "number" && typeof p.test_neg_elbo === "number"
    );
    const gap = both.length === 0 ? null : both.reduce(
      (a, { o, p }) => a + (o.test_neg_elbo as number) - p!.test_neg_elbo,
      0,
    ) / both.length;
    const ourRange = _range(ours.map((o) => o.test_neg_elbo));
    const torchRange = _range(torch.map((t) => t.test_neg_elbo));
    notes.push(
      `- \`${md(s.name)}\`: ours spread ${fmt(ourRange)} nats of -ELBO over ${ours.length} ` +
        "seeds" +
        (torchRange === null ? "" : `, PyTorch's ${fmt(torchRange)} over ${torch.length}`) +
        (gap === null
          ? "; no PyTorch run of the same seed and budget."
          : `; mean -ELBO of ours - PyTorch's over the seeds both ran (${both.length}): ` +
            `${gap >= 0 ? "+" : ""}${fmt(gap)}.`),
    );
  }
  if (rows.length === 0) return [];
  const head = [
    "model",
    "seed",
    "epochs",
    "test -ELBO",
    "PyTorch -ELBO",
    "IS NLL",
    "PyTorch IS NLL",
  ];
  return [
    "",
    "Each seed beside PyTorch's run of the same seed and budget (nats per image, lower is " +
    "better). The first seed is the course's own run. A seed draws different numbers in the " +
    "two frameworks, so a row pairs two independent runs, not one run twice:",
    "",
    ...table(head, rows),
    "",
    ...notes,
  ];
}

/** Largest minus smallest of the numbers among `xs`; null with fewer than two. */
function _range(xs: unknown[]): number | null {
  const v = xs.filter((x): x is number => typeof x === "number");
  return v.length < 2 ? null : Math.max(...v) - Math.min(...v);
}

/** A run's flags without its --out (the run's directory, named in the row already). */
function _flagsBesideOut(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out") i++;
    else if (!args[i].startsWith("--out=")) out.push(args[i]);
  }
  return out;
}
