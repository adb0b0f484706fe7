/** The likelihoods by name, for tasks, checkpoints and the comparison. */

import { bernoulli } from "./bernoulli.ts";
import { beta } from "./beta.ts";
import { categorical, DEFAULT_BINS } from "./categorical.ts";
import { gaussian } from "./gaussian.ts";
import { mse } from "./mse.ts";
import type { Likelihood, LikelihoodName } from "./likelihood.ts";

/** The conv VAE's four likelihoods by name, in the course's order ("mse" is the blog's extra). */
export const LIKELIHOODS: readonly LikelihoodName[] = [
  "bernoulli",
  "gaussian",
  "beta",
  "categorical",
];

export { DEFAULT_BINS };

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
    case "mse":
      return mse;
    default:
      throw new RangeError(
        `Unknown likelihood "${name}": expected one of ${LIKELIHOODS.join(", ")}, mse`,
      );
  }
}
