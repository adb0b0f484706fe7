/**
 * Text in PNG figures: the npm package js-pixel-fonts renders a string as a 7-pixel-high
 * bitmap (9 with descenders), upscaled here by nearest neighbour. Row labels, column headers
 * and axis ticks all go through `annotate`, so every figure read on its own says what its
 * rows, columns and axes are.
 */

import { fonts, renderPixels } from "js-pixel-fonts";
import { type GrayImage, imageGrid, vconcat } from "./png.ts";

/** Font pixels from one line's top to the next's: 7 rows, 2 of descender, 1 of space. */
const LINE_PITCH = 10;

/**
 * `text` in black on white, each font pixel `scale` x `scale` output pixels. Lines split at
 * "\n" are stacked LINE_PITCH font pixels apart and aligned left, centred or right.
 */
export function textImage(
  text: string,
  scale = 2,
  align: "left" | "center" | "right" = "center",
): GrayImage {
  const lines = text.split("\n").map((l): number[][] => renderPixels(l, fonts.sevenPlus));
  const fw = Math.max(...lines.map((rows) => rows[0]?.length ?? 0));
  const fh = (lines.length - 1) * LINE_PITCH + lines[lines.length - 1].length;
  const w = fw * scale, h = fh * scale;
  const data = new Uint8Array(w * h).fill(255);
  lines.forEach((rows, i) => {
    const lw = rows[0]?.length ?? 0;
    const dx = align === "left" ? 0 : align === "right" ? fw - lw : Math.floor((fw - lw) / 2);
    rows.forEach((row, y) =>
      row.forEach((on, x) => {
        if (!on) return;
        const x0 = (dx + x) * scale;
        for (let dy = 0; dy < scale; dy++) {
          const at = ((i * LINE_PITCH + y) * scale + dy) * w;
          data.fill(0, at + x0, at + x0 + scale);
        }
      })
    );
  });
  return { width: w, height: h, data };
}

/** `img` with `text` to its left, in a column `labelWidth` pixels wide, vertically centred. */
export function labelled(text: string, img: GrayImage, labelWidth: number, scale = 2): GrayImage {
  const t = textImage(text, scale);
  const width = labelWidth + img.width, height = Math.max(img.height, t.height);
  const data = new Uint8Array(width * height).fill(255);
  const ty = Math.floor((height - t.height) / 2);
  for (let y = 0; y < t.height; y++) {
    const row = t.data.subarray(y * t.width, y * t.width + Math.min(t.width, labelWidth - 4));
    data.set(row, (ty + y) * width);
  }
  for (let y = 0; y < img.height; y++) {
    data.set(img.data.subarray(y * img.width, (y + 1) * img.width), y * width + labelWidth);
  }
  return { width, height, data };
}

/** A label at pixel `at` of the image it annotates: x for top and bottom, y for left. */
export interface Tick {
  at: number;
  text: string;
}

/** An annotated image: the original's top-left pixel is at (offsetX, offsetY). */
export type Annotated = GrayImage & { offsetX: number; offsetY: number };

/** What `annotate` draws around an image; every part is optional. */
export interface Annotations {
  /** Column headers, centred above the image at x = `at` ("\n" for a second line). */
  top?: Tick[];
  /** One line centred above the headers, over the whole image. */
  topTitle?: string;
  /** Labels centred below the image at x = `at`. */
  bottom?: Tick[];
  /** One line centred below the bottom labels: the horizontal axis's name. */
  bottomTitle?: string;
  /** Labels right-aligned left of the image, centred on y = `at`: row labels or axis ticks. */
  left?: Tick[];
  /** One line left of the left labels, read upwards, centred on the image's height. */
  leftTitle?: string;
  /** Short tick marks from the image's edge to each bottom and left label. Default false. */
  marks?: boolean;
  /** Font pixel size in output pixels. Default 2. */
  scale?: number;
}

/**
 * `img` on a white canvas grown to hold its labels: column headers above, axis ticks below
 * and to the left, and axis names outside those. Labels near a corner may reach past the
 * image's edge; the canvas grows to hold them, plus a margin of 2 font pixels all round.
 * `img` is copied unchanged at (offsetX, offsetY) of the result, which callers use to place
 * anything else relative to the image.
 */
export function annotate(img: GrayImage, a: Annotations): Annotated {
  const s = a.scale ?? 2, gap = 3 * s, mark = a.marks ? 3 * s : 0, cap = 7 * s;
  const items: { t: GrayImage; x: number; y: number }[] = [];
  const rects: { x: number; y: number; w: number; h: number }[] = [];
  const put = (t: GrayImage, x: number, y: number) =>
    items.push({ t, x: Math.round(x), y: Math.round(y) });

  const tops = (a.top ?? []).map((k) => ({ k, t: textImage(k.text, s) }));
  const topH = Math.max(0, ...tops.map(({ t }) => t.height));
  // On one baseline, whatever their lines and descenders (which reach into the gap).
  const block = (text: string) => (text.split("\n").length - 1) * LINE_PITCH * s + cap;
  for (const { k, t } of tops) put(t, k.at - t.width / 2, -gap - block(k.text));
  if (a.topTitle) {
    const t = textImage(a.topTitle, s);
    put(t, (img.width - t.width) / 2, -gap - (tops.length ? topH + gap : 0) - t.height);
  }

  const bottoms = (a.bottom ?? []).map((k) => ({ k, t: textImage(k.text, s) }));
  const below = img.height + mark + gap;
  for (const { k, t } of bottoms) {
    put(t, k.at - t.width / 2, below);
    if (a.marks) rects.push({ x: Math.round(k.at - s / 2), y: img.height, w: s, h: mark });
  }
  if (a.bottomTitle) {
    const t = textImage(a.bottomTitle, s);
    const bh = Math.max(0, ...bottoms.map(({ t }) => t.height));
    put(t, (img.width - t.width) / 2, bottoms.length ? below + bh + gap : img.height + gap);
  }

  const lefts = (a.left ?? []).map((k) => ({ k, t: textImage(k.text, s, "right") }));
  const leftW = Math.max(0, ...lefts.map(({ t }) => t.width));
  for (const { k, t } of lefts) {
    // Centred on the capital letters' height, so descenders do not push a label up.
    put(t, -mark - gap - t.width, k.at - block(k.text) / 2);
    if (a.marks) rects.push({ x: -mark, y: Math.round(k.at - s / 2), w: mark, h: s });
  }
  if (a.leftTitle) {
    const t = _rotateLeft(textImage(a.leftTitle, s));
    const x = -mark - gap - (lefts.length ? leftW + 2 * gap : 0) - t.width;
    put(t, x, (img.height - t.height) / 2);
  }

  const margin = 2 * s;
  const x0 = Math.min(0, ...items.map((i) => i.x), ...rects.map((r) => r.x)) - margin;
  const y0 = Math.min(0, ...items.map((i) => i.y), ...rects.map((r) => r.y)) - margin;
  const x1 = Math.max(img.width, ...items.map((i) => i.x + i.t.width)) + margin;
  const y1 = Math.max(img.height, ...items.map((i) => i.y + i.t.height), img.height + mark) +
    margin;
  const width = x1 - x0, height = y1 - y0;
  const data = new Uint8Array(width * height).fill(255);
  const blit = (t: GrayImage, x: number, y: number) => {
    for (let r = 0; r < t.height; r++) {
      data.set(t.data.subarray(r * t.width, (r + 1) * t.width), (y - y0 + r) * width + x - x0);
    }
  };
  for (const { t, x, y } of items) blit(t, x, y);
  for (const r of rects) {
    for (let y = r.y; y < r.y + r.h; y++) {
      data.fill(0, (y - y0) * width + r.x - x0, (y - y0) * width + r.x - x0 + r.w);
    }
  }
  blit(img, 0, 0);
  return { width, height, data, offsetX: -x0, offsetY: -y0 };
}

/** Pixel centres of the `n` cells of a grid axis: cells `cell` wide with `pad` between. */
export function cellCentres(n: number, cell: number, pad = 0): number[] {
  return Array.from({ length: n }, (_, i) => i * (cell + pad) + cell / 2);
}

/**
 * Several images of each of `count` items (`images` item-major: item i's image of kind j at
 * (i * kinds.length + j) * h * w) as one row per kind, named on its left, and one column per
 * item, at most `perRow` items across; further items go in bands below, `gap` pixels apart.
 */
export function labelledRows(
  images: Float32Array,
  kinds: string[],
  opts: { h: number; w: number; scale?: number; pad?: number; perRow?: number; gap?: number },
): GrayImage {
  const { h, w } = opts, k = kinds.length, px = h * w;
  const scale = opts.scale ?? 1, pad = opts.pad ?? 2, perRow = opts.perRow ?? 10;
  if (k < 1 || images.length % (k * px) !== 0 || images.length === 0) {
    throw new RangeError(
      `Cannot lay out labelled rows: ${images.length} values are not a whole number of ` +
        `items of ${k} ${h}x${w} images`,
    );
  }
  const count = images.length / (k * px);
  const left = kinds.map((text, j) => ({ at: cellCentres(k, h * scale, pad)[j], text }));
  const bands: GrayImage[] = [];
  for (let i0 = 0; i0 < count; i0 += perRow) {
    const m = Math.min(perRow, count - i0);
    const band = new Float32Array(k * m * px);
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < m; i++) {
        const src = ((i0 + i) * k + j) * px;
        band.set(images.subarray(src, src + px), (j * m + i) * px);
      }
    }
    bands.push(annotate(imageGrid(band, { h, w, rows: k, cols: m, scale, pad }), { left }));
  }
  return bands.reduce((a, b) => vconcat(a, b, opts.gap ?? 4 * scale));
}

/** `t` turned a quarter turn anticlockwise, so its text reads from the bottom up. */
function _rotateLeft(t: GrayImage): GrayImage {
  const data = new Uint8Array(t.data.length);
  for (let y = 0; y < t.width; y++) {
    for (let x = 0; x < t.height; x++) {
      data[y * t.height + x] = t.data[x * t.width + t.width - 1 - y];
    }
  }
  return { width: t.height, height: t.width, data };
}
