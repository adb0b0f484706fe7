/** f64 references of the activations and their derivatives. */

import type { ActivationKind } from "../ops/activation.ts";

export function activationForward(
  kind: ActivationKind,
  x: Float64Array,
  slope = 0.01,
): Float64Array {
  return x.map((v) => {
    switch (kind) {
      case "tanh":
        return Math.tanh(v);
      case "relu":
        return Math.max(v, 0);
      case "leaky_relu":
        return v > 0 ? v : slope * v;
      case "sigmoid":
        return 1 / (1 + Math.exp(-v));
    }
  });
}

/** dx = dy * act'(x), written in terms of the input x. */
export function activationBackward(
  kind: ActivationKind,
  dy: Float64Array,
  x: Float64Array,
  slope = 0.01,
): Float64Array {
  return dy.map((g, i) => {
    const v = x[i];
    switch (kind) {
      case "tanh": {
        const t = Math.tanh(v);
        return g * (1 - t * t);
      }
      case "relu":
        return v > 0 ? g : 0;
      case "leaky_relu":
        return v > 0 ? g : slope * g;
      case "sigmoid": {
        const s = 1 / (1 + Math.exp(-v));
        return g * s * (1 - s);
      }
    }
  });
}
