/**
 * f64 references of max pooling 2x2, stride 2. x is (N, C, H, W); y and argmax are
 * (N, C, floor(H / 2), floor(W / 2)); argmax is each window's winner as its place 0..3,
 * row-major, the first maximum on ties (PyTorch's rule).
 */

export interface MaxPool2dDims {
  batch: number;
  channels: number;
  height: number;
  width: number;
}

export function maxPoolForward(
  d: MaxPool2dDims,
  x: Float64Array,
): { y: Float64Array; argmax: Uint32Array } {
  const P = d.batch * d.channels, H = d.height, W = d.width;
  const OH = Math.floor(H / 2), OW = Math.floor(W / 2);
  const y = new Float64Array(P * OH * OW), argmax = new Uint32Array(P * OH * OW);
  for (let p = 0; p < P; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const o = (p * OH + oh) * OW + ow;
        let best = -Infinity, at = 0;
        for (let k = 0; k < 4; k++) {
          const v = x[(p * H + 2 * oh + (k >> 1)) * W + 2 * ow + (k & 1)];
          if (k === 0 || v > best) best = v, at = k;
        }
        y[o] = best;
        argmax[o] = at;
      }
    }
  }
  return { y, argmax };
}

/**
 * dx[winner of window o] = dy[o]; every other element of dx is 0. argmax 4 is "no winner" (the
 * GPU pool of relu(x) records it where the window's max is not above 0): nothing passes back.
 */
export function maxPoolBackward(
  d: MaxPool2dDims,
  dy: Float64Array,
  argmax: Uint32Array,
): Float64Array {
  const P = d.batch * d.channels, H = d.height, W = d.width;
  const OH = Math.floor(H / 2), OW = Math.floor(W / 2);
  const dx = new Float64Array(P * H * W);
  for (let p = 0; p < P; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const o = (p * OH + oh) * OW + ow, k = argmax[o];
        if (k > 3) continue;
        dx[(p * H + 2 * oh + (k >> 1)) * W + 2 * ow + (k & 1)] = dy[o];
      }
    }
  }
  return dx;
}
