/**
 * Grayscale image grids as PNG: a batch of images in [0, 1] laid out in rows and
 * columns, upscaled by nearest neighbour, encoded with fast-png and written atomically.
 */

import { encode } from "fast-png";
import { writeFileAtomic } from "../io.ts";

/** An 8-bit grayscale image, row-major: `data[y * width + x]`. */
export interface GrayImage {
  /** Columns, in pixels. */
  width: number;
  /** Rows, in pixels. */
  height: number;
  /** width * height grey levels, 0 black to 255 white. */
  data: Uint8Array;
}

/** The layout of an imageGrid: the input images' size, the cells, and the spacing. */
export interface GridOptions {
  /** Height of one image in the input, in pixels. */
  h: number;
  /** Width of one image in the input, in pixels. */
  w: number;
  /** Rows of cells. */
  rows: number;
  /** Columns of cells. */
  cols: number;
  /** Nearest-neighbour upscale factor per input pixel (integer >= 1). Default 1. */
  scale?: number;
  /** Output pixels between neighbouring cells (not around the edge). Default 2. */
  pad?: number;
  /** Output pixels around the whole grid. Default 0. */
  margin?: number;
  /** Grey level in [0, 1] of padding, margin and empty cells. Default 1 (white). */
  background?: number;
}

/**
 * Lays out `images` (count * h * w values in [0, 1], image-major, row-major within
 * an image) in `rows` x `cols` cells, filling row by row; cells past `count` stay
 * background. Output size: cols*w*scale + (cols-1)*pad + 2*margin wide (likewise
 * high), so 50 x 50 cells of 28 x 28 with pad 0 give exactly 1400 x 1400. Values
 * outside [0, 1] are clamped; NaN draws as 0.
 */
export function imageGrid(images: Float32Array | Float64Array, opts: GridOptions): GrayImage {
  const { h, w, rows, cols } = opts;
  const scale = opts.scale ?? 1, pad = opts.pad ?? 2, margin = opts.margin ?? 0;
  const checks = { h, w, rows, cols, scale } as Record<string, number>;
  for (const [name, v] of Object.entries(checks)) _checkInt(name, v, 1);
  _checkInt("pad", pad, 0);
  _checkInt("margin", margin, 0);
  const px = h * w;
  if (images.length % px !== 0) {
    throw new RangeError(
      `Cannot lay out image grid: ${images.length} values are not a whole number ` +
        `of ${h}x${w} images`,
    );
  }
  const count = images.length / px;
  if (count > rows * cols) {
    throw new RangeError(
      `Cannot lay out image grid: ${count} images do not fit ${rows} x ${cols} cells`,
    );
  }
  const cellW = w * scale, cellH = h * scale;
  const width = cols * cellW + (cols - 1) * pad + 2 * margin;
  const height = rows * cellH + (rows - 1) * pad + 2 * margin;
  const data = new Uint8Array(width * height).fill(_toByte(opts.background ?? 1));
  for (let k = 0; k < count; k++) {
    const x0 = margin + (k % cols) * (cellW + pad);
    const y0 = margin + Math.floor(k / cols) * (cellH + pad);
    for (let y = 0; y < cellH; y++) {
      const src = k * px + Math.floor(y / scale) * w;
      const dst = (y0 + y) * width + x0;
      for (let x = 0; x < cellW; x++) data[dst + x] = _toByte(images[src + Math.floor(x / scale)]);
    }
  }
  return { width, height, data };
}

/** `a` and `b` side by side with `gap` background pixels between, top-aligned. */
export function hconcat(a: GrayImage, b: GrayImage, gap = 8, background = 1): GrayImage {
  const width = a.width + gap + b.width, height = Math.max(a.height, b.height);
  const data = new Uint8Array(width * height).fill(_toByte(background));
  _blit(data, width, a, 0, 0);
  _blit(data, width, b, a.width + gap, 0);
  return { width, height, data };
}

/** `a` above `b` with `gap` background pixels between, left-aligned. */
export function vconcat(a: GrayImage, b: GrayImage, gap = 8, background = 1): GrayImage {
  const width = Math.max(a.width, b.width), height = a.height + gap + b.height;
  const data = new Uint8Array(width * height).fill(_toByte(background));
  _blit(data, width, a, 0, 0);
  _blit(data, width, b, 0, a.height + gap);
  return { width, height, data };
}

/** PNG bytes of an 8-bit grayscale image. */
export function encodePng(img: GrayImage): Uint8Array {
  if (img.data.length !== img.width * img.height) {
    throw new RangeError(
      `Cannot encode PNG: ${img.data.length} pixels for a ${img.width} x ${img.height} image`,
    );
  }
  return encode({ width: img.width, height: img.height, data: img.data, channels: 1, depth: 8 });
}

/** Encodes `img` and writes it to `path` atomically (see writeFileAtomic). */
export async function writePng(path: string, img: GrayImage): Promise<void> {
  await writeFileAtomic(path, encodePng(img));
}

function _toByte(v: number): number {
  if (!(v > 0)) return 0; // also NaN
  return v >= 1 ? 255 : Math.round(v * 255);
}

function _checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(
      `Cannot lay out image grid: ${name} must be an integer >= ${min}, got ${v}`,
    );
  }
}

function _blit(dst: Uint8Array, dstWidth: number, src: GrayImage, x0: number, y0: number): void {
  for (let y = 0; y < src.height; y++) {
    dst.set(src.data.subarray(y * src.width, (y + 1) * src.width), (y0 + y) * dstWidth + x0);
  }
}
