/**
 * f64 reference of the linear layer, PyTorch layout: x is (N, K), w is (M, K), b is (M),
 * y = x w^T + b is (N, M); all row-major.
 */

export function linearForward(
  x: Float64Array,
  w: Float64Array,
  b: Float64Array,
  N: number,
  K: number,
  M: number,
): Float64Array {
  const y = new Float64Array(N * M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let s = b[m];
      for (let k = 0; k < K; k++) s += x[n * K + k] * w[m * K + k];
      y[n * M + m] = s;
    }
  }
  return y;
}

/** dX = dY w (N, K), dW = dY^T x (M, K), dB = sum over n of dY (M). */
export function linearBackward(
  dY: Float64Array,
  x: Float64Array,
  w: Float64Array,
  N: number,
  K: number,
  M: number,
): { dX: Float64Array; dW: Float64Array; dB: Float64Array } {
  const dX = new Float64Array(N * K);
  const dW = new Float64Array(M * K);
  const dB = new Float64Array(M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = dY[n * M + m];
      dB[m] += g;
      for (let k = 0; k < K; k++) {
        dX[n * K + k] += g * w[m * K + k];
        dW[m * K + k] += g * x[n * K + k];
      }
    }
  }
  return { dX, dW, dB };
}
