/**
 * The README's block of results, which `deno task results` rewrites beside docs/results.md:
 * one summary table of the course's -ELBO models with PyTorch beside them, and the splice
 * that puts it between the README's markers.
 */

import { activeUnits, fmt, int, md, table, unique } from "./results_format.ts";
import type { ResultsInput } from "./results_input.ts";
import { matchingPytorch } from "./results_pytorch.ts";

/** The README's block of results, between these markers, is rewritten by `deno task results`. */
const README_MARKERS = ["<!-- results:begin -->", "<!-- results:end -->"] as const;

const README_STEPS = [
  "train-bernoulli",
  "train-gaussian",
  "train-beta",
  "train-categorical",
  "latent-2d",
  "train-mlp",
];

/**
 * The README's summary: one row per -ELBO model of the course (the four likelihoods, the 2-D
 * latent, the MLP) with PyTorch beside it where a run of the same epochs is there, and the
 * protocol in one sentence, all from the runs.
 */
export function readmeSummary(input: ResultsInput): string {
  const steps = input.steps.filter((s) => README_STEPS.includes(s.name) && s.run?.metrics);
  const rows = steps.map((s) => {
    const m = s.run!.metrics!, p = matchingPytorch(s);
    const bpd = typeof m.test_bpd === "number"
      ? `${fmt(m.test_bpd, 3)} / ${fmt(m.test_nll_is_bpd, 3)}`
      : "–";
    return [
      md(s.run!.manifest.title),
      int(m.epochs),
      fmt(m.test_neg_elbo),
      fmt(m.test_nll_is),
      bpd,
      activeUnits(m) + (m.posterior_collapse === true ? " (**collapsed**)" : ""),
      p ? `${fmt(p.test_neg_elbo)} / ${fmt(p.test_nll_is)}` : "–",
    ];
  });
  const c = input.course;
  const budget = c?.budget ?? (c?.quick ? "quick" : "full");
  const ms = steps.map((s) => s.run!.metrics!);
  const iss = unique(ms.map((m) => `K = ${int(m.is_samples)} on ${int(m.is_images)}`));
  const bin = unique(ms.map((m) => String(m.binarize)).filter((b) => b !== "none"));
  const adapters = unique(steps.map((s) => s.run!.manifest.adapter));
  return [
    ...table([
      "model",
      "epochs",
      "test -ELBO",
      "IS NLL",
      "bits/dim (-ELBO / IS)",
      "active units",
      "PyTorch, same epochs: -ELBO / IS NLL",
    ], rows),
    "",
    `The ${budget} course (\`${input.root}\`), nats per image on all 10,000 test images; IS ` +
    `NLL with ${iss.join(", ")} test images; Bernoulli data binarized ${bin.join(", ")}; ` +
    `adapter ${adapters.map(md).join(", ")}.`,
  ].join("\n");
}

/** `text` with the block between README_MARKERS replaced by `block`; null without markers. */
export function spliceReadme(text: string, block: string): string | null {
  const [open, close] = README_MARKERS;
  const a = text.indexOf(open), b = text.indexOf(close);
  if (a < 0 || b < a) return null;
  return `${text.slice(0, a + open.length)}\n\n${block}\n\n${text.slice(b)}`;
}
