/**
 * f64 references of 2-D batch normalization (PyTorch BatchNorm2d semantics). x and y are
 * (N, C, H, W); gamma, beta, running mean and variance are (C); statistics are per channel
 * over the M = N*H*W elements of (n, h, w).
 */

export interface BatchNorm2dDims {
  batch: number;
  channels: number;
  height: number;
  width: number;
}

/** Per-channel mean and biased variance, two-pass (mean first, then squared deviations). */
function _batchNormStats(
  d: BatchNorm2dDims,
  x: Float64Array,
): { mean: Float64Array; variance: Float64Array } {
  const { batch: N, channels: C } = d, HW = d.height * d.width, M = N * HW;
  const mean = new Float64Array(C), variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) {
      for (let i = (n * C + c) * HW, e = i + HW; i < e; i++) s += x[i];
    }
    const mu = s / M;
    let q = 0;
    for (let n = 0; n < N; n++) {
      for (let i = (n * C + c) * HW, e = i + HW; i < e; i++) q += (x[i] - mu) ** 2;
    }
    mean[c] = mu;
    variance[c] = q / M;
  }
  return { mean, variance };
}

/** y = gamma * (x - mean) * invStd + beta with per-channel mean and invStd. */
function _batchNormNormalize(
  d: BatchNorm2dDims,
  x: Float64Array,
  gamma: Float64Array,
  beta: Float64Array,
  mean: Float64Array,
  invStd: Float64Array,
): Float64Array {
  const C = d.channels, HW = d.height * d.width;
  return x.map((v, i) => {
    const c = Math.floor(i / HW) % C;
    return gamma[c] * (v - mean[c]) * invStd[c] + beta[c];
  });
}

/**
 * Training forward: normalizes by the batch mean and biased variance, and returns the
 * running statistics moved toward the batch mean and UNBIASED variance:
 * running = (1 - momentum) * running + momentum * batch.
 */
export function batchNormTrainForward(
  d: BatchNorm2dDims,
  x: Float64Array,
  gamma: Float64Array,
  beta: Float64Array,
  runningMean: Float64Array,
  runningVar: Float64Array,
  momentum = 0.1,
  eps = 1e-5,
): {
  y: Float64Array;
  mean: Float64Array;
  invStd: Float64Array;
  runningMean: Float64Array;
  runningVar: Float64Array;
} {
  const M = d.batch * d.height * d.width;
  const { mean, variance } = _batchNormStats(d, x);
  const invStd = variance.map((v) => 1 / Math.sqrt(v + eps));
  return {
    y: _batchNormNormalize(d, x, gamma, beta, mean, invStd),
    mean,
    invStd,
    runningMean: runningMean.map((r, c) => (1 - momentum) * r + momentum * mean[c]),
    runningVar: runningVar.map((r, c) => (1 - momentum) * r + momentum * variance[c] * M / (M - 1)),
  };
}

/** Evaluation forward: normalizes by the running statistics. */
export function batchNormEvalForward(
  d: BatchNorm2dDims,
  x: Float64Array,
  gamma: Float64Array,
  beta: Float64Array,
  runningMean: Float64Array,
  runningVar: Float64Array,
  eps = 1e-5,
): Float64Array {
  const invStd = runningVar.map((v) => 1 / Math.sqrt(v + eps));
  return _batchNormNormalize(d, x, gamma, beta, runningMean, invStd);
}

/** Per-channel sum dy and sum dy * xhat, xhat = (x - mean) * invStd. */
function _sums(
  d: BatchNorm2dDims,
  dy: Float64Array,
  x: Float64Array,
  mean: Float64Array,
  invStd: Float64Array,
): { dGamma: Float64Array; dBeta: Float64Array } {
  const C = d.channels, HW = d.height * d.width;
  const dGamma = new Float64Array(C), dBeta = new Float64Array(C);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / HW) % C;
    dBeta[c] += dy[i];
    dGamma[c] += dy[i] * (x[i] - mean[c]) * invStd[c];
  }
  return { dGamma, dBeta };
}

/**
 * Gradients of the training forward, through the batch mean and variance:
 * dx = gamma * invStd / M * (M dy - sum dy - xhat * sum dy xhat), dgamma = sum dy xhat,
 * dbeta = sum dy.
 */
export function batchNormBackward(
  d: BatchNorm2dDims,
  dy: Float64Array,
  x: Float64Array,
  gamma: Float64Array,
  eps = 1e-5,
): { dx: Float64Array; dGamma: Float64Array; dBeta: Float64Array } {
  const C = d.channels, HW = d.height * d.width, M = d.batch * HW;
  const { mean, variance } = _batchNormStats(d, x);
  const invStd = variance.map((v) => 1 / Math.sqrt(v + eps));
  const { dGamma, dBeta } = _sums(d, dy, x, mean, invStd);
  const dx = dy.map((g, i) => {
    const c = Math.floor(i / HW) % C;
    const xhat = (x[i] - mean[c]) * invStd[c];
    return (gamma[c] * invStd[c] / M) * (M * g - dBeta[c] - xhat * dGamma[c]);
  });
  return { dx, dGamma, dBeta };
}

/** Gradients of the evaluation forward (the running statistics are constants). */
export function batchNormEvalBackward(
  d: BatchNorm2dDims,
  dy: Float64Array,
  x: Float64Array,
  gamma: Float64Array,
  runningMean: Float64Array,
  runningVar: Float64Array,
  eps = 1e-5,
): { dx: Float64Array; dGamma: Float64Array; dBeta: Float64Array } {
  const C = d.channels, HW = d.height * d.width;
  const invStd = runningVar.map((v) => 1 / Math.sqrt(v + eps));
  const { dGamma, dBeta } = _sums(d, dy, x, runningMean, invStd);
  const dx = dy.map((g, i) => {
    const c = Math.floor(i / HW) % C;
    return gamma[c] * invStd[c] * g;
  });
  return { dx, dGamma, dBeta };
}
