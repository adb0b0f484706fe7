/**
 * f64 references of the transposed 2-D convolution (PyTorch's ConvTranspose2d,
 * no output_padding, square kernel) and its gradients, written as the scatter
 * loop: every input pixel adds kernel-weighted copies of itself into the
 * output. The GPU kernels use the gather form, so the two formulations check
 * each other's index arithmetic.
 *
 * x is (N, IC, H, W), w is (IC, OC, K, K), b is (OC), y is (N, OC, OH, OW)
 * with OH = (H - 1) stride - 2 pad + K.
 */

export interface ConvTranspose2dDims {
  batch: number;
  inChannels: number;
  outChannels: number;
  height: number;
  width: number;
  kernel: number;
  stride: number;
  pad: number;
}

/** The output's spatial size along one axis. */
export function convTranspose2dOutSize(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
): number {
  return (size - 1) * stride - 2 * pad + kernel;
}

/** y[n, o, iy s - p + ky, ix s - p + kx] += x[n, c, iy, ix] w[c, o, ky, kx], then + b[o]. */
export function convTranspose2dForward(
  d: ConvTranspose2dDims,
  x: Float64Array,
  w: Float64Array,
  b: Float64Array,
): Float64Array {
  const { batch: N, inChannels: C, outChannels: OC, height: H, width: W } = d;
  const { kernel: K, stride: S, pad: P } = d;
  const OH = convTranspose2dOutSize(H, K, S, P), OW = convTranspose2dOutSize(W, K, S, P);
  const y = new Float64Array(N * OC * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OC; o++) y.fill(b[o], (n * OC + o) * OH * OW, (n * OC + o + 1) * OH * OW);
    for (let c = 0; c < C; c++) {
      for (let iy = 0; iy < H; iy++) {
        for (let ix = 0; ix < W; ix++) {
          const v = x[((n * C + c) * H + iy) * W + ix];
          for (let o = 0; o < OC; o++) {
            for (let ky = 0; ky < K; ky++) {
              const oy = iy * S - P + ky;
              if (oy < 0 || oy >= OH) continue;
              for (let kx = 0; kx < K; kx++) {
                const ox = ix * S - P + kx;
                if (ox < 0 || ox >= OW) continue;
                y[((n * OC + o) * OH + oy) * OW + ox] += v * w[((c * OC + o) * K + ky) * K + kx];
              }
            }
          }
        }
      }
    }
  }
  return y;
}

/** Gradients of a loss L with respect to x, w and b, given dy = dL/dy. */
export function convTranspose2dBackward(
  d: ConvTranspose2dDims,
  dy: Float64Array,
  x: Float64Array,
  w: Float64Array,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const { batch: N, inChannels: C, outChannels: OC, height: H, width: W } = d;
  const { kernel: K, stride: S, pad: P } = d;
  const OH = convTranspose2dOutSize(H, K, S, P), OW = convTranspose2dOutSize(W, K, S, P);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(OC);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OC; o++) {
      const base = (n * OC + o) * OH * OW;
      for (let i = 0; i < OH * OW; i++) db[o] += dy[base + i];
    }
    // The same scatter as the forward, run backwards: each (input pixel, tap)
    // pair that wrote y[oy, ox] reads dy[oy, ox].
    for (let c = 0; c < C; c++) {
      for (let iy = 0; iy < H; iy++) {
        for (let ix = 0; ix < W; ix++) {
          const xi = ((n * C + c) * H + iy) * W + ix;
          const v = x[xi];
          let g = 0;
          for (let o = 0; o < OC; o++) {
            for (let ky = 0; ky < K; ky++) {
              const oy = iy * S - P + ky;
              if (oy < 0 || oy >= OH) continue;
              for (let kx = 0; kx < K; kx++) {
                const ox = ix * S - P + kx;
                if (ox < 0 || ox >= OW) continue;
                const gy = dy[((n * OC + o) * OH + oy) * OW + ox];
                const wi = ((c * OC + o) * K + ky) * K + kx;
                g += gy * w[wi];
                dw[wi] += gy * v;
              }
            }
          }
          dx[xi] = g;
        }
      }
    }
  }
  return { dx, dw, db };
}
