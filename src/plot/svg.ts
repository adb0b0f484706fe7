/**
 * Report figures as standalone SVG: a line chart (training curves) and a scatter plot
 * coloured by digit (latent spaces). Scales and ticks come from d3-scale, colours from
 * d3-scale-chromatic's Tableau 10, so ten digits get ten distinct colours.
 */

import { scaleLinear as d3ScaleLinear } from "d3-scale";
import { schemeTableau10 } from "d3-scale-chromatic";
import { writeFileAtomic } from "../io.ts";

/** The part of d3-scale's linear scale used here (the npm package ships no types). */
interface LinearScale {
  (v: number): number;
  domain(d: number[]): LinearScale;
  range(r: number[]): LinearScale;
  nice(count?: number): LinearScale;
  ticks(count?: number): number[];
  tickFormat(count?: number, specifier?: string): (v: number) => string;
}
const scaleLinear: () => LinearScale = d3ScaleLinear;
const PALETTE: readonly string[] = schemeTableau10;

const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
/** Rough advance of one character at 12 px, to size margins from label lengths. */
const CHAR_W = 7;

export interface Series {
  name: string;
  x: number[];
  y: number[];
  /** Mark each point with a circle (default); false for a dense curve. */
  markers?: boolean;
}

export interface LineChartOptions {
  series: Series[];
  xLabel: string;
  yLabel: string;
  title: string;
  width?: number;
  height?: number;
}

export interface ScatterOptions {
  x: number[];
  y: number[];
  /** Class of each point, an integer in 0..9. */
  labels: number[];
  title: string;
  xLabel: string;
  yLabel: string;
  /** Text under the plot, wrapped to the figure's width. */
  caption?: string;
  /** Heading of the legend. Default "digit". */
  legendTitle?: string;
  /** Legend text per class (e.g. Fashion-MNIST names). Default "0".."9". */
  labelNames?: string[];
  width?: number;
  height?: number;
}

/** Escapes text for SVG/XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * One line per series with its points marked, on shared axes, legend at the right.
 * Non-finite values break the line rather than poisoning the path; a single point or
 * a constant series gets a widened axis range instead of a zero-width one.
 */
export function lineChart(opts: LineChartOptions): string {
  const width = opts.width ?? 720, height = opts.height ?? 420;
  for (const s of opts.series) {
    if (s.x.length !== s.y.length) {
      throw new RangeError(
        `Cannot draw line chart: series "${s.name}" has ${s.x.length} x values ` +
          `and ${s.y.length} y values`,
      );
    }
  }
  const xs = opts.series.flatMap((s) => s.x), ys = opts.series.flatMap((s) => s.y);
  const integerX = xs.every((v) => !Number.isFinite(v) || Number.isInteger(v));
  const legendW = opts.series.length === 0
    ? 0
    : 48 + CHAR_W * Math.max(...opts.series.map((s) => s.name.length));
  const top = 48, bottom = 56, right = 20 + legendW;
  const ph = height - top - bottom;
  const y = scaleLinear().domain(_extent(ys, 0.04, false)).range([top + ph, top]).nice(ph / 50);
  const yTicks = _ticks(y, ph / 50, false);
  const left = 40 + CHAR_W * Math.max(3, ...yTicks.map(([, l]) => l.length));
  const pw = width - left - right;
  const x = scaleLinear().domain(_extent(xs, 0, integerX)).range([left, left + pw]).nice(pw / 80);
  const xTicks = _ticks(x, pw / 80, integerX);

  const body: string[] = [];
  const marked = opts.series.filter((s) => s.markers !== false);
  const r = Math.max(...marked.map((s) => s.x.length), 0) > 60 ? 2 : 3.2;
  opts.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const pts: string[] = [];
    let d = "", pen = false;
    for (let k = 0; k < s.x.length; k++) {
      if (!Number.isFinite(s.x[k]) || !Number.isFinite(s.y[k])) {
        pen = false;
        continue;
      }
      const px = _n(x(s.x[k])), py = _n(y(s.y[k]));
      d += `${pen ? "L" : "M"}${px},${py}`;
      pen = true;
      if (s.markers !== false) pts.push(`<circle cx="${px}" cy="${py}" r="${r}"/>`);
    }
    body.push(
      `<g class="series" data-name="${escapeXml(s.name)}">`,
      d
        ? `<path d="${d}" fill="none" stroke="${colour}" stroke-width="2" ` +
          `stroke-linejoin="round" stroke-linecap="round"/>`
        : "",
      `<g fill="${colour}" stroke="#fff" stroke-width="0.8">${pts.join("")}</g>`,
      `</g>`,
    );
  });

  const legend = opts.series.map((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const ly = top + 10 + 22 * i, lx = left + pw + 20;
    return `<g class="legend-entry"><line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" ` +
      `stroke="${colour}" stroke-width="2"/>` +
      (s.markers === false ? "" : `<circle cx="${lx + 12}" cy="${ly}" r="3.2" ` +
        `fill="${colour}" stroke="#fff" stroke-width="0.8"/>`) +
      `<text x="${lx + 32}" y="${ly}" ` +
      `dominant-baseline="central" font-size="12">${escapeXml(s.name)}</text></g>`;
  });

  return _svg(width, height, [
    _title(opts.title, width),
    _axes(xTicks, yTicks, { left, top, pw, ph }, opts.xLabel, opts.yLabel),
    ...body,
    ...legend,
  ]);
}

/**
 * Several line charts side by side in one SVG, `cols` to a row, under one title: small
 * multiples for series that share no axis (densities of different data spaces), each panel
 * with its own y range.
 */
export function chartPanels(
  opts: {
    title: string;
    panels: LineChartOptions[];
    cols: number;
    width?: number;
    height?: number;
  },
): string {
  const cols = Math.max(1, Math.min(opts.cols, opts.panels.length));
  const w = opts.width ?? 480, h = opts.height ?? 320, head = 40;
  const rows = Math.ceil(opts.panels.length / cols);
  const width = cols * w, height = head + rows * h;
  const nested = opts.panels.map((p, i) => {
    const svg = lineChart({ ...p, width: w, height: h });
    const x = (i % cols) * w, y = head + Math.floor(i / cols) * h;
    // The panel's own <svg> element, placed by x/y, without the XML prolog of a file.
    return svg.replace(/^<svg /, `<svg x="${x}" y="${y}" `).trimEnd();
  });
  return _svg(width, height, [_title(opts.title, width), ...nested]);
}

/**
 * Points coloured by class (0..9) as small semi-transparent circles, drawn in the
 * order given, with a legend of all ten classes and an optional wrapped caption.
 */
export function scatterPlot(opts: ScatterOptions): string {
  const n = opts.x.length;
  if (opts.y.length !== n || opts.labels.length !== n) {
    throw new RangeError(
      `Cannot draw scatter plot: ${n} x values, ${opts.y.length} y values, ` +
        `${opts.labels.length} labels (must be equal)`,
    );
  }
  const bad = opts.labels.findIndex((l) => !Number.isInteger(l) || l < 0 || l > 9);
  if (bad >= 0) {
    throw new RangeError(
      `Cannot draw scatter plot: label ${opts.labels[bad]} at index ${bad} is not a digit 0..9`,
    );
  }
  const names = opts.labelNames ?? PALETTE.map((_, i) => String(i));
  const legendTitle = opts.legendTitle ?? "digit";
  const width = opts.width ?? 640;
  const legendW = 44 + CHAR_W * Math.max(legendTitle.length - 2, ...names.map((s) => s.length));
  const captionLines = opts.caption ? _wrap(opts.caption, Math.floor((width - 40) / 6.6)) : [];
  const captionH = captionLines.length ? 16 + 18 * captionLines.length : 0;
  const top = 48, bottom = 56 + captionH, right = 16 + legendW;
  const y0 = scaleLinear().domain(_extent(opts.y, 0.04, false));
  const yLabels = _ticks(y0, 10, false).map(([, l]) => l);
  const left = 40 + CHAR_W * Math.max(3, ...yLabels.map((l) => l.length));
  const pw = width - left - right;
  const ph = opts.height ? opts.height - top - bottom : pw;
  const height = top + ph + bottom;
  // No nice(): rounding out to tick values can waste a third of a latent plot's area.
  const x = scaleLinear().domain(_extent(opts.x, 0.04, false)).range([left, left + pw]);
  const y = y0.range([top + ph, top]);

  const byClass: string[] = [];
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(opts.x[i]) || !Number.isFinite(opts.y[i])) continue;
    byClass.push(
      `<circle cx="${_n(x(opts.x[i]))}" cy="${_n(y(opts.y[i]))}" r="2.6" ` +
        `fill="${PALETTE[opts.labels[i]]}"/>`,
    );
  }
  const lx = left + pw + 20;
  const legend = [
    `<text x="${lx - 4}" y="${top + 6}" font-size="12" font-weight="600">` +
    `${escapeXml(legendTitle)}</text>`,
    ...names.slice(0, 10).map((name, i) => {
      const ly = top + 28 + 20 * i;
      return `<g class="legend-entry"><circle cx="${lx + 5}" cy="${ly}" r="5" ` +
        `fill="${PALETTE[i]}"/><text x="${lx + 18}" y="${ly}" dominant-baseline="central" ` +
        `font-size="12">${escapeXml(name)}</text></g>`;
    }),
  ];
  const caption = captionLines.map((line, i) =>
    `<text x="${width / 2}" y="${top + ph + 68 + 18 * i}" text-anchor="middle" font-size="12.5" ` +
    `fill="#333">${escapeXml(line)}</text>`
  );

  return _svg(width, height, [
    _title(opts.title, width),
    _axes(
      _ticks(x, pw / 80, false),
      _ticks(y, ph / 60, false),
      { left, top, pw, ph },
      opts.xLabel,
      opts.yLabel,
    ),
    `<g fill-opacity="0.6">${byClass.join("")}</g>`,
    ...legend,
    ...caption,
  ]);
}

/** Writes an SVG string atomically (see writeFileAtomic). */
export async function writeSvg(path: string, svg: string): Promise<void> {
  await writeFileAtomic(path, svg);
}

type Tick = [pos: number, label: string];

function _svg(width: number, height: number, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="${FONT}" fill="#222">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n` +
    parts.filter((p) => p !== "").join("\n") + "\n</svg>\n";
}

function _title(title: string, width: number): string {
  return `<text x="${width / 2}" y="28" text-anchor="middle" font-size="16" font-weight="600">` +
    `${escapeXml(title)}</text>`;
}

/** Gridlines, frame, tick marks and labels, and the two axis titles. */
function _axes(
  xTicks: Tick[],
  yTicks: Tick[],
  box: { left: number; top: number; pw: number; ph: number },
  xLabel: string,
  yLabel: string,
): string {
  const { left, top, pw, ph } = box;
  const bottom = top + ph, right = left + pw;
  const out: string[] = ['<g class="grid" stroke="#e6e6e6" stroke-width="1">'];
  for (const [px] of xTicks) out.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${bottom}"/>`);
  for (const [py] of yTicks) out.push(`<line x1="${left}" y1="${py}" x2="${right}" y2="${py}"/>`);
  out.push("</g>", '<g class="axes" stroke="#444" stroke-width="1">');
  out.push(`<rect x="${left}" y="${top}" width="${_n(pw)}" height="${_n(ph)}" fill="none"/>`);
  for (const [px] of xTicks) {
    out.push(`<line x1="${px}" y1="${bottom}" x2="${px}" y2="${bottom + 5}"/>`);
  }
  for (const [py] of yTicks) {
    out.push(`<line x1="${left - 5}" y1="${py}" x2="${left}" y2="${py}"/>`);
  }
  out.push("</g>", '<g class="tick-labels" font-size="11.5" fill="#333">');
  for (const [px, l] of xTicks) {
    out.push(`<text x="${px}" y="${bottom + 19}" text-anchor="middle">${escapeXml(l)}</text>`);
  }
  for (const [py, l] of yTicks) {
    out.push(
      `<text x="${left - 8}" y="${py}" text-anchor="end" dominant-baseline="central">` +
        `${escapeXml(l)}</text>`,
    );
  }
  out.push("</g>");
  out.push(
    `<text x="${_n(left + pw / 2)}" y="${bottom + 44}" text-anchor="middle" font-size="13">` +
      `${escapeXml(xLabel)}</text>`,
    `<text transform="translate(18 ${_n(top + ph / 2)}) rotate(-90)" text-anchor="middle" ` +
      `dominant-baseline="central" font-size="13">${escapeXml(yLabel)}</text>`,
  );
  return out.join("\n");
}

/** Tick positions and labels; integer axes (epochs) keep only whole-number ticks. */
function _ticks(scale: LinearScale, count: number, integer: boolean): Tick[] {
  const n = Math.max(2, Math.round(count));
  let values = scale.ticks(n);
  if (integer) values = values.filter((v) => Number.isInteger(v));
  const fmt = integer ? (v: number) => v.toLocaleString("en-US") : scale.tickFormat(n);
  return values.map((v) => [_n(scale(v)), fmt(v)]);
}

/**
 * [min, max] of the finite values, widened by `padFrac` of the span. An empty input
 * gives [0, 1]; a single value gets a span of 2 around it (integer axes) or 10% of
 * its magnitude, so scales never divide by zero.
 */
function _extent(values: number[], padFrac: number, integer: boolean): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  if (lo === hi) {
    const half = integer || lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - half, hi + half];
  }
  const pad = (hi - lo) * padFrac;
  return [lo - pad, hi + pad];
}

/** Greedy word wrap to at most `max` characters a line. */
function _wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > max) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}

/** Coordinates to 0.1 px: enough for any display, and keeps files small. */
function _n(v: number): number {
  return Math.round(v * 10) / 10;
}
