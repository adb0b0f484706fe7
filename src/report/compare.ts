/**
 * The likelihood comparison's table (compare.md, compare.json): one row per trained model
 * from its metrics.json, with words on which numbers can be compared. Bernoulli and
 * Categorical model other data (binary pixels; k grey-level bins) than the two continuous
 * likelihoods (dequantized grey levels), so their nats compare with nothing else; Gaussian
 * and Beta model the same 8-bit images and compare in bits per dimension.
 */

import type { TableColumn } from "./manifest.ts";

export interface CompareRow {
  likelihood: string;
  data_space: string;
  epochs: number;
  test_neg_elbo: number;
  test_recon: number;
  test_kl: number;
  test_nll_is: number | null;
  is_samples: number;
  test_bpd: number | null;
  test_nll_is_bpd: number | null;
  /** Latent units in use (Var mu > 0.01); null in metrics older than collapse detection. */
  active_units: number | null;
  latent: number | null;
  images_per_s: number;
  test_images: number;
  binarize: string;
  adapter: string;
}

export const COMPARABILITY =
  "Each likelihood's negative ELBO is a density of its own data: Bernoulli of binarized " +
  "pixels, Categorical of k grey-level bins, Gaussian and Beta of the grey levels uniformly " +
  "dequantized to (0, 1). Densities on different data spaces are not directly comparable, so " +
  "the Bernoulli and Categorical nats compare with no other row. Gaussian and Beta model the " +
  "same 8-bit images: their bits per dimension, (NLL + 784 ln 256) / (784 ln 2), are upper " +
  "bounds on the same discrete NLL and are the one comparison across rows. Continuous NLLs " +
  "can be negative (a density above 1).";

/**
 * The columns the report shows, labelled, in this order (compare.json keeps every field):
 * the adapter, data protocol and sample counts are the same for every row and said once in
 * the caption and the section's facts.
 */
export const COMPARE_COLUMNS: readonly TableColumn[] = [
  { key: "likelihood", label: "likelihood" },
  { key: "data_space", label: "data space" },
  { key: "epochs", label: "epochs" },
  { key: "test_neg_elbo", label: "test -ELBO (nats)" },
  { key: "test_recon", label: "recon" },
  { key: "test_kl", label: "KL" },
  { key: "test_nll_is", label: "IS NLL (nats)" },
  { key: "test_bpd", label: "bits/dim (-ELBO)" },
  { key: "test_nll_is_bpd", label: "bits/dim (IS NLL)" },
  { key: "active_units", label: "active units" },
  { key: "images_per_s", label: "train images/s" },
];

/** One table row from a training task's metrics.json. */
export function compareRow(metrics: Record<string, unknown>): CompareRow {
  const num = (
    k: string,
  ) => (metrics[k] === null || metrics[k] === undefined ? null : Number(metrics[k]));
  return {
    likelihood: String(metrics.likelihood) +
      (metrics.bins !== undefined ? ` (k = ${metrics.bins})` : ""),
    data_space: String(metrics.data_space ?? "binary pixels {0, 1}"),
    epochs: Number(metrics.epochs),
    test_neg_elbo: Number(metrics.test_neg_elbo),
    test_recon: Number(metrics.test_recon),
    test_kl: Number(metrics.test_kl),
    test_nll_is: num("test_nll_is"),
    is_samples: Number(metrics.is_samples),
    test_bpd: num("test_bpd"),
    test_nll_is_bpd: num("test_nll_is_bpd"),
    active_units: num("active_units"),
    latent: num("latent"),
    images_per_s: Number(metrics.images_per_s),
    test_images: Number(metrics.test_images),
    binarize: String(metrics.binarize),
    adapter: String(metrics.adapter),
  };
}

const _f = (
  v: number | null,
  digits = 2,
) => (v === null || !Number.isFinite(v) ? "–" : v.toFixed(digits));

/** The table as Markdown, with the comparability note. */
export function compareMarkdown(rows: CompareRow[]): string {
  const head = [
    "likelihood",
    "data space",
    "epochs",
    "test -ELBO (nats)",
    "recon",
    "KL",
    "IS NLL (nats)",
    "bits/dim (-ELBO)",
    "bits/dim (IS NLL)",
    "train images/s",
  ];
  const lines = [
    "# Four likelihoods of the conv VAE",
    "",
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) =>
      `| ${
        [
          r.likelihood,
          r.data_space,
          String(r.epochs),
          _f(r.test_neg_elbo),
          _f(r.test_recon),
          _f(r.test_kl),
          r.test_nll_is === null ? "–" : `${_f(r.test_nll_is)} (K = ${r.is_samples})`,
          _f(r.test_bpd, 3),
          _f(r.test_nll_is_bpd, 3),
          String(Math.round(r.images_per_s)),
        ].join(" | ")
      } |`
    ),
    "",
    COMPARABILITY,
    "",
    `Test metrics on ${[...new Set(rows.map((r) => r.test_images))].join(" / ")} test images, ` +
    `one sampled z per image; adapter: ${[...new Set(rows.map((r) => r.adapter))].join(", ")}.`,
    "",
  ];
  return lines.join("\n");
}
