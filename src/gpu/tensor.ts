/**
 * Checks and shapes of the buffer ranges that ops bind: a Tensor is a whole GPUBuffer or a
 * range of one (parameters and gradients are ranges of flat buffers).
 */

import type { Tensor } from "./gpu.ts";

/** The range `t` covers, checked to hold `elems` f32; `op` and `what` name it in errors. */
export function tensorRange(
  op: string,
  what: string,
  t: Tensor,
  elems: number,
): Required<GPUBufferBinding> {
  const buffer = t instanceof GPUBuffer ? t : t.buffer;
  const offset = t instanceof GPUBuffer ? 0 : t.offset ?? 0;
  const size = t instanceof GPUBuffer || t.size === undefined ? buffer.size - offset : t.size;
  if (size < elems * 4) {
    throw new RangeError(
      `Cannot bind ${what} of ${op}: it needs ${elems} f32 (${elems * 4} bytes), ` +
        `the tensor holds ${size} bytes`,
    );
  }
  return { buffer, offset, size };
}

/**
 * A binding read as array<vec4f>: it must cover whole vec4s, so a range whose size is not a
 * multiple of 16 bytes is widened into the padding that gpu.storage and 256-byte-aligned
 * flat buffers leave after it. Kernels must neither use nor write those extra elements.
 */
export function vec4Tensor(op: string, what: string, t: Tensor, elems: number): Tensor {
  const r = tensorRange(op, what, t, elems);
  const size = Math.ceil(elems / 4) * 16;
  if (r.offset + size > r.buffer.size) {
    throw new RangeError(
      `Cannot bind ${what} of ${op} as vec4: it needs ${size} bytes from offset ` +
        `${r.offset}, the buffer holds ${r.buffer.size}`,
    );
  }
  return t instanceof GPUBuffer && size === t.size ? t : { ...r, size };
}
