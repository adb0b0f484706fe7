/**
 * f64 references of 2-D convolution (cross-correlation, as in every deep
 * learning framework) and its gradients. x is (N, C, H, W), w is (OC, C, KH, KW),
 * b is (OC), y is (N, OC, OH, OW) with OH = floor((H + 2 pad - KH) / stride) + 1.
 */

export interface Conv2dDims {
  batch: number;
  inChannels: number;
  outChannels: number;
  height: number;
  width: number;
  kernelHeight: number;
  kernelWidth: number;
  stride: number;
  pad: number;
}

/** The output's spatial size along one axis. */
export function conv2dOutSize(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/**
 * y[n, o, oh, ow] = b[o] + sum over c, kh, kw of w[o, c, kh, kw] x[n, c, ih, iw] with
 * ih = oh stride - pad + kh, iw = ow stride - pad + kw, and x zero outside its H x W.
 */
export function conv2dForward(
  d: Conv2dDims,
  x: Float64Array,
  w: Float64Array,
  b: Float64Array,
): Float64Array {
  const { batch: N, inChannels: C, outChannels: OC, height: H, width: W } = d;
  const { kernelHeight: KH, kernelWidth: KW, stride: S, pad: P } = d;
  const OH = conv2dOutSize(H, KH, S, P), OW = conv2dOutSize(W, KW, S, P);
  const y = new Float64Array(N * OC * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OC; o++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let s = b[o];
          for (let c = 0; c < C; c++) {
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * S - P + kh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * S - P + kw;
                if (iw < 0 || iw >= W) continue;
                s += w[((o * C + c) * KH + kh) * KW + kw] * x[((n * C + c) * H + ih) * W + iw];
              }
            }
          }
          y[((n * OC + o) * OH + oh) * OW + ow] = s;
        }
      }
    }
  }
  return y;
}

/** Gradients of a loss L with respect to x, w and b, given dy = dL/dy. */
export function conv2dBackward(
  d: Conv2dDims,
  dy: Float64Array,
  x: Float64Array,
  w: Float64Array,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const { batch: N, inChannels: C, outChannels: OC, height: H, width: W } = d;
  const { kernelHeight: KH, kernelWidth: KW, stride: S, pad: P } = d;
  const OH = conv2dOutSize(H, KH, S, P), OW = conv2dOutSize(W, KW, S, P);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(OC);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OC; o++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const g = dy[((n * OC + o) * OH + oh) * OW + ow];
          db[o] += g;
          for (let c = 0; c < C; c++) {
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * S - P + kh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * S - P + kw;
                if (iw < 0 || iw >= W) continue;
                const wi = ((o * C + c) * KH + kh) * KW + kw;
                const xi = ((n * C + c) * H + ih) * W + iw;
                dx[xi] += g * w[wi];
                dw[wi] += g * x[xi];
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw, db };
}
