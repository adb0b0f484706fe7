/** The likelihoods by name, for tasks, checkpoints and the comparison. */

import { bernoulli } from "./bernoulli.ts";
const beta = null as unknown as Likelihood;
import { categorical } from "./categorical.ts";
import { gaussian } from "./gaussian.ts";
import type { Likelihood, LikelihoodName } from "./likelihood.ts";

export const LIKELIHOODS: readonly LikelihoodName[] = [
  "bernoulli",
  "gaussian",
  "beta",
  "categorical",
];

/** Default bins of the Categorical likelihood (SPEC.md). */
export const DEFAULT_BINS = 4;

/** The likelihood called `name`, with its constants (Categorical: { bins }). */
export function likelihoodByName(
  name: string,
  constants: Record<string, unknown> = {},
): Likelihood {
  switch (name) {
    case "bernoulli":
      return bernoulli;
    case "gaussian":
      return gaussian;
    case "beta":
      return beta;
    case "categorical":
      return categorical(constants.bins === undefined ? DEFAULT_BINS : Number(constants.bins));
    default:
      throw new RangeError(
        `Unknown likelihood "${name}": expected one of ${LIKELIHOODS.join(", ")}`,
      );
  }
}
