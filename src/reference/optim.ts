/** f64 references of the optimizer steps, updating their arrays in place. */

export interface AdamHyperparameters {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/**
 * Adam step number t (1 for the first) as in PyTorch's torch.optim.Adam:
 * m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2,
 * p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps).
 */
export function adamStep(
  params: Float64Array,
  grads: Float64Array,
  m: Float64Array,
  v: Float64Array,
  t: number,
  { lr, beta1, beta2, eps }: AdamHyperparameters,
): void {
  const bias1 = 1 - beta1 ** t, bias2 = 1 - beta2 ** t;
  for (let i = 0; i < params.length; i++) {
    const g = grads[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    params[i] -= (lr * (m[i] / bias1)) / (Math.sqrt(v[i] / bias2) + eps);
  }
}
