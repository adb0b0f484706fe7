/**
 * Text as a grayscale image, for row labels in PNG figures: the npm package js-pixel-fonts
 * renders a string as a 7-pixel-high bitmap, which is upscaled by nearest neighbour.
 */

import { fonts, renderPixels } from "js-pixel-fonts";
import type { GrayImage } from "./png.ts";

/** `text` in black on white, each font pixel `scale` x `scale` output pixels. */
export function textImage(text: string, scale = 2): GrayImage {
  const rows: number[][] = renderPixels(text, fonts.sevenPlus);
  const h = rows.length * scale, w = (rows[0]?.length ?? 0) * scale;
  const data = new Uint8Array(w * h).fill(255);
  rows.forEach((row, y) =>
    row.forEach((on, x) => {
      if (!on) return;
      for (let dy = 0; dy < scale; dy++) {
        data.fill(0, (y * scale + dy) * w + x * scale, (y * scale + dy) * w + (x + 1) * scale);
      }
    })
  );
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
