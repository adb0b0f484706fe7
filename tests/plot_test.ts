import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert";
import { join } from "node:path";
import { decode } from "fast-png";
import { schemeTableau10 } from "d3-scale-chromatic";
import {
  encodePng,
  type GrayImage,
  hconcat,
  imageGrid,
  vconcat,
  writePng,
} from "../src/plot/png.ts";
import { annotate, cellCentres, labelledRows, textImage } from "../src/plot/label.ts";
import { axisTicks, latticeAxes, latticeCoords, normalQuantile } from "../src/plot/lattice.ts";
import { escapeXml, lineChart, scatterPlot, writeSvg } from "../src/plot/svg.ts";

/** Seeded values in [0, 1); not helpers.ts, whose import opens a GPU these tests never use. */
function values(seed: number, n: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 32;
  });
}

const byte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);

/**
 * Throws unless `svg` is well-formed enough for browsers and rsvg: tags balance, every
 * attribute is quoted, `&` only starts an entity, and no number came out as NaN.
 */
function assertWellFormedSvg(svg: string): void {
  assert(!svg.includes("NaN"), "SVG contains NaN");
  assert(!svg.includes("undefined"), "SVG contains undefined");
  assert(svg.startsWith("<svg "), "SVG does not start with <svg");
  assert(!/&(?!#\d+;|amp;|lt;|gt;|quot;|apos;)/.test(svg), "unescaped & in SVG");
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let at = 0;
  for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
    const between = svg.slice(at, m.index);
    assert(!between.includes("<") && !between.includes(">"), `stray < or > near ${m.index}`);
    at = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) assertEquals(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClose) stack.push(name);
  }
  assertEquals(svg.slice(at).trim(), "", "text after the last tag");
  assertEquals(stack, [], "unclosed elements");
}

Deno.test("imageGrid makes a 50 x 50 lattice of 28 x 28 images exactly 1400 x 1400 with pad 0", () => {
  const h = 28, w = 28, n = 2500;
  const images = values(1, n * h * w);
  const img = imageGrid(images, { h, w, rows: 50, cols: 50, pad: 0 });
  assertEquals([img.width, img.height, img.data.length], [1400, 1400, 1400 * 1400]);
  // Cell (r, c) holds image r * 50 + c, pixel for pixel.
  for (const [k, i, j] of [[0, 0, 0], [49, 27, 27], [50, 3, 5], [2499, 27, 0], [1234, 13, 21]]) {
    const r = Math.floor(k / 50), c = k % 50;
    assertEquals(img.data[(r * 28 + i) * 1400 + c * 28 + j], byte(images[k * 784 + i * 28 + j]));
  }
  const png = decode(encodePng(img));
  assertEquals([png.width, png.height, png.channels, png.depth], [1400, 1400, 1, 8]);
  assertEquals(Uint8Array.from(png.data), img.data);
});

Deno.test("imageGrid upscales by nearest neighbour and pads cells with the background", () => {
  const h = 3, w = 2, scale = 2, pad = 3, margin = 1;
  const images = values(2, 5 * h * w);
  images[0] = NaN, images[1] = 7, images[2] = -1;
  const img = imageGrid(images, { h, w, rows: 2, cols: 3, scale, pad, margin, background: 0.5 });
  assertEquals(img.width, 3 * w * scale + 2 * pad + 2 * margin);
  assertEquals(img.height, 2 * h * scale + 1 * pad + 2 * margin);
  const at = (x: number, y: number) => img.data[y * img.width + x];
  for (let k = 0; k < 5; k++) {
    const x0 = margin + (k % 3) * (w * scale + pad),
      y0 = margin + Math.floor(k / 3) * (h * scale + pad);
    for (let y = 0; y < h * scale; y++) {
      for (let x = 0; x < w * scale; x++) {
        const v = images[k * h * w + Math.floor(y / scale) * w + Math.floor(x / scale)];
        assertEquals(at(x0 + x, y0 + y), Number.isNaN(v) ? 0 : byte(v), `image ${k} (${x}, ${y})`);
      }
    }
  }
  const bg = byte(0.5);
  assertEquals([at(0, 0), at(margin + w * scale, margin), at(margin, margin + h * scale)], [
    bg,
    bg,
    bg,
  ]);
  // The sixth cell is empty.
  assertEquals(at(img.width - margin - 1, img.height - margin - 1), bg);
  // NaN draws black, values past 1 white, below 0 black.
  assertEquals([at(margin, margin), at(margin + 2, margin), at(margin, margin + 2)], [0, 255, 0]);
});

Deno.test("imageGrid rejects images that do not fit the grid", () => {
  throws(() => imageGrid(new Float32Array(7 * 4), { h: 2, w: 2, rows: 2, cols: 3 }), /7 images/);
  throws(() => imageGrid(new Float32Array(5), { h: 2, w: 2, rows: 2, cols: 3 }), /whole number/);
  throws(() => imageGrid(new Float32Array(4), { h: 2, w: 2, rows: 1, cols: 1, scale: 0 }), /scale/);
  throws(() => imageGrid(new Float32Array(4), { h: 2, w: 2, rows: 1, cols: 1, pad: -1 }), /pad/);
});

Deno.test("hconcat and vconcat place grids side by side and stacked with a gap", () => {
  const a = imageGrid(Float64Array.of(0, 0, 0, 0), { h: 2, w: 2, rows: 1, cols: 1 });
  const b = imageGrid(new Float64Array(18).fill(1), { h: 3, w: 3, rows: 2, cols: 1, pad: 0 });
  const s = hconcat(a, b, 4, 0.5);
  assertEquals([s.width, s.height], [2 + 4 + 3, 6]);
  assertEquals(Array.from(s.data.subarray(0, 9)), [0, 0, 128, 128, 128, 128, 255, 255, 255]);
  assertEquals(s.data[5 * 9 + 0], 128); // below the shorter image
  const v = vconcat(a, b, 1, 0);
  assertEquals([v.width, v.height], [3, 2 + 1 + 6]);
  assertEquals(Array.from(v.data.subarray(0, 9)), [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals(Array.from(v.data.subarray(9, 12)), [255, 255, 255]);
});

Deno.test("writePng writes a PNG that decodes to the same pixels and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = imageGrid(values(3, 10 * 4 * 28 * 28), { h: 28, w: 28, rows: 10, cols: 4 });
    const path = join(dir, "out", "prior_grid.png");
    await writePng(path, img);
    const png = decode(await Deno.readFile(path));
    assertEquals([png.width, png.height], [4 * 28 + 3 * 2, 10 * 28 + 9 * 2]);
    assertEquals(Uint8Array.from(png.data), img.data);
    assertEquals([...Deno.readDirSync(join(dir, "out"))].map((e) => e.name), ["prior_grid.png"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Pixels darker than mid-grey in the rectangle [x0, x1) x [y0, y1) of `img`. */
function dark(img: GrayImage, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) {
      if (img.data[y * img.width + x] < 128) n++;
    }
  }
  return n;
}

/** Throws unless `inner` lies pixel for pixel in `outer` with its top-left at (x0, y0). */
function assertContains(outer: GrayImage, inner: GrayImage, x0: number, y0: number): void {
  for (let y = 0; y < inner.height; y++) {
    const a = outer.data.subarray(
      (y0 + y) * outer.width + x0,
      (y0 + y) * outer.width + x0 + inner.width,
    );
    assertEquals(a, inner.data.subarray(y * inner.width, (y + 1) * inner.width), `row ${y}`);
  }
}

Deno.test("textImage keeps one line's size and stacks lines 10 font pixels apart", () => {
  const x = textImage("x", 2);
  assertEquals([x.width, x.height], [8, 14]);
  const two = textImage("mean at\nmu", 3, "right");
  const [a, b] = [textImage("mean at", 3), textImage("mu", 3)];
  assertEquals([two.width, two.height], [a.width, (10 + 7) * 3]);
  // The shorter line is right-aligned: nothing left of it on its rows.
  assertEquals(dark(two, 0, 30, a.width - b.width, two.height), 0);
  assert(dark(two, a.width - b.width, 30, a.width, two.height) > 0);
});

Deno.test("annotate draws a header above each column in a band and copies the image unchanged", () => {
  const img = imageGrid(new Float32Array(3 * 784).fill(0.5), { h: 28, w: 28, rows: 1, cols: 3 });
  const xs = cellCentres(3, 28, 2);
  assertEquals(xs, [14, 44, 74]);
  const out = annotate(img, { top: xs.map((at, i) => ({ at, text: ["a", "0.5", "b"][i] })) });
  // A band of 7-pixel text at scale 2, a gap of 6 and a margin of 4 above; 4 around the rest.
  assertEquals([out.offsetX, out.offsetY], [4, 4 + 14 + 6]);
  assertEquals([out.width, out.height], [img.width + 8, img.height + 4 + 14 + 6 + 4]);
  assertContains(out, img, out.offsetX, out.offsetY);
  for (const at of xs) {
    const x = out.offsetX + at;
    assert(dark(out, x - 14, 0, x + 14, out.offsetY) > 0, `no header over column ${at}`);
  }
  // Nothing but the headers: white below and beside the image.
  assertEquals(dark(out, 0, out.offsetY + img.height, out.width, out.height), 0);
  assertEquals(dark(out, 0, out.offsetY, out.offsetX, out.height), 0);
});

Deno.test("annotate puts row labels to the left, right-aligned, and axis names outside ticks", () => {
  const img = imageGrid(new Float32Array(2 * 784), { h: 28, w: 28, rows: 2, cols: 1, scale: 2 });
  const ys = cellCentres(2, 56, 2);
  const out = annotate(img, {
    left: [{ at: ys[0], text: "original" }, { at: ys[1], text: "mean\ncompletion" }],
  });
  const labelW = textImage("completion", 2).width;
  assertEquals(out.offsetX, 4 + labelW + 6);
  assertEquals([out.width, out.height], [out.offsetX + img.width + 4, img.height + 8]);
  assertContains(out, img, out.offsetX, out.offsetY);
  // Each label sits beside its row, none across the gap between rows.
  const band = (y0: number, y1: number) =>
    dark(out, 0, out.offsetY + y0, out.offsetX, out.offsetY + y1);
  assert(band(0, 56) > 0 && band(58, 114) > 0);
  assertEquals(band(56, 58), 0);

  const axes = annotate(img, {
    bottom: [{ at: 56, text: "0" }],
    bottomTitle: "z1",
    left: [{ at: 57, text: "0" }],
    leftTitle: "z2",
    marks: true,
  });
  const { offsetX: ox, offsetY: oy } = axes;
  assertContains(axes, img, ox, oy);
  // Tick marks: 6 pixels out from the edge, 2 wide, on the tick.
  assertEquals(dark(axes, ox + 55, oy + img.height, ox + 57, oy + img.height + 6), 12);
  assertEquals(dark(axes, ox - 6, oy + 56, ox, oy + 58), 12);
  // The axis names lie outside their ticks' labels: "z1" below "0", "z2" left of "0".
  const below0 = oy + img.height + 6 + 6, belowTitle = below0 + 14 + 6;
  assert(dark(axes, 0, below0, axes.width, below0 + 14) > 0);
  assert(dark(axes, 0, belowTitle, axes.width, belowTitle + 14) > 0);
  assert(dark(axes, 0, oy, 4 + 14, oy + img.height) > 0, "z2 is drawn, turned, at the left");
});

Deno.test("axisTicks puts round values where the lattice passes them, quantile or linear", () => {
  const q = latticeCoords(20, { quantile: true }), centres = cellCentres(20, 56);
  assertEquals(q[0], Math.fround(normalQuantile(0.5 / 20)));
  const ticks = axisTicks(q, centres);
  assertEquals(ticks.map((t) => t.text), ["-2", "-1", "0", "1", "2"]);
  // On the quantile lattice the pixel of z is about 1120 Phi(z): 0 in the middle exactly.
  const phi1 = 0.8413447460685429;
  assert(Math.abs(ticks[2].at - 560) < 1e-3, `${ticks[2].at}`);
  assert(Math.abs(ticks[3].at - 1120 * phi1) < 3, `${ticks[3].at}`);
  assert(Math.abs(ticks[1].at - 1120 * (1 - phi1)) < 3, `${ticks[1].at}`);
  // z2 runs up the rows: the same values, mirrored.
  const up = axisTicks(q, [...centres].reverse());
  assertEquals(up.map((t) => Math.round(t.at)), ticks.map((t) => Math.round(1120 - t.at)));
  // The blog's [0, 1] in 20 steps: 0 and 1 on the end cells' centres.
  const lin = axisTicks(Array.from({ length: 20 }, (_, i) => i / 19), centres);
  assertEquals(lin.map((t) => t.text), ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
  assertEquals([lin[0].at, lin[5].at], [28, 1092]);
  assert(Math.abs(lin[1].at - (28 + 0.2 * 1064)) < 1e-9);
  throws(() => axisTicks([0], [0]), RangeError);
});

Deno.test("latticeAxes ticks z1 below and z2 left of a 20 x 20 lattice and keeps its pixels", () => {
  const k = 20,
    grid = imageGrid(values(5, k * k * 784), { h: 28, w: 28, rows: k, cols: k, pad: 0 });
  const out = latticeAxes(grid, latticeCoords(k, { quantile: true }), { cell: 28 });
  assertEquals([grid.width, grid.height], [560, 560]);
  assertContains(out, grid, out.offsetX, out.offsetY);
  assert(
    out.width > 560 && out.width < 640 && out.height > 560 && out.height < 640,
    `${out.width} x ${out.height}`,
  );
  const { offsetX: ox, offsetY: oy } = out;
  // Five ticks below (marks 2 x 6 each) with labels, and a band of labels to the left.
  assertEquals(dark(out, ox, oy + 560, ox + 560, oy + 566), 5 * 12);
  assert(dark(out, ox + 270, oy + 566, ox + 290, out.height) > 0, "no label under z1 = 0");
  assertEquals(dark(out, ox - 6, oy, ox, oy + 560), 5 * 12);
  assert(dark(out, 0, oy + 270, ox - 6, oy + 290) > 0, "no label beside z2 = 0");
  throws(() => latticeAxes(grid, latticeCoords(19, { quantile: true }), { cell: 28 }), /19 cells/);
});

Deno.test("labelledRows shows each kind as a named row and wraps items past perRow", () => {
  const items = 12, kinds = ["x", "mean"], px = 4;
  const images = new Float32Array(items * 2 * px);
  for (let i = 0; i < items; i++) images.fill(i % 2, (i * 2 + 1) * px, (i * 2 + 2) * px);
  const out = labelledRows(images, kinds, { h: 2, w: 2, scale: 10, pad: 2, perRow: 5 });
  const labelW = 4 + textImage("mean", 2).width + 6;
  const bandH = 2 * 20 + 2 + 8, rowW = 5 * 20 + 4 * 2;
  // Three bands (5, 5, 2 items), 40 pixels apart.
  assertEquals([out.width, out.height], [labelW + rowW + 4, 3 * bandH + 2 * 40]);
  const at = (x: number, y: number) => out.data[y * out.width + x];
  // The second band's "mean" row: items 5 (odd: white) and 6 (even: black).
  const y = bandH + 40 + 4 + 22 + 10;
  assertEquals([at(labelW + 10, y), at(labelW + 22 + 10, y)], [255, 0]);
  assert(dark(out, 0, 0, labelW - 6, bandH) > 0, "the first band names its rows");
  throws(() => labelledRows(new Float32Array(5), kinds, { h: 2, w: 2 }), RangeError);
});

Deno.test("lineChart draws every series with a legend entry and no NaN", () => {
  const epochs = Array.from({ length: 30 }, (_, i) => i + 1);
  const svg = lineChart({
    series: [
      { name: "train", x: epochs, y: epochs.map((e) => 100 + 80 / e) },
      { name: "validation <held out>", x: epochs, y: epochs.map((e) => 104 + 75 / e) },
    ],
    xLabel: "epoch",
    yLabel: "negative ELBO (nats / image)",
    title: "ELBO & friends",
  });
  assertWellFormedSvg(svg);
  assert(svg.includes(">train</text>"));
  assert(svg.includes(">validation &#60;held out&#62;</text>"));
  assert(svg.includes("ELBO &#38; friends"));
  assertEquals(svg.match(/<path /g)?.length, 2);
  assertEquals(svg.match(/<circle /g)?.length, 2 * 30 + 2); // points + legend markers
  assert(svg.includes(schemeTableau10[0]) && svg.includes(schemeTableau10[1]));
  // Integer x (epochs) gets whole-number ticks only.
  const xTicks = [...svg.matchAll(/text-anchor="middle">([^<]+)<\/text>/g)].map((m) => m[1]);
  assert(xTicks.includes("30") && xTicks.every((t) => !t.includes(".")), `${xTicks}`);
});

Deno.test("lineChart handles one epoch, a constant series, gaps and no data without NaN", () => {
  const one = lineChart({
    series: [{ name: "train", x: [1], y: [178.3] }, { name: "validation", x: [1], y: [180.1] }],
    xLabel: "epoch",
    yLabel: "loss",
    title: "one epoch",
  });
  assertWellFormedSvg(one);
  assertEquals(one.match(/<circle /g)?.length, 4);
  const flat = lineChart({
    series: [{ name: "a", x: [1, 2, 3], y: [0, 0, 0] }, {
      name: "b",
      x: [1, 2, 3],
      y: [5, NaN, 5],
    }],
    xLabel: "x",
    yLabel: "y",
    title: "flat",
  });
  assertWellFormedSvg(flat);
  assert(/d="M[^"L]*"/.test(flat), "the NaN breaks series b into separate points");
  assertWellFormedSvg(lineChart({ series: [], xLabel: "x", yLabel: "y", title: "empty" }));
  throws(
    () =>
      lineChart({ series: [{ name: "s", x: [1, 2], y: [1] }], xLabel: "", yLabel: "", title: "" }),
    RangeError,
  );
});

Deno.test("scatterPlot colours points by digit with a ten-entry legend and a caption", () => {
  const n = 1000, rand = values(4, 3 * n);
  const x = Array.from({ length: n }, (_, i) => 4 * rand[i] - 2);
  const y = Array.from({ length: n }, (_, i) => 100 * rand[n + i]);
  const labels = Array.from({ length: n }, (_, i) => Math.floor(10 * rand[2 * n + i]));
  x[5] = NaN;
  const svg = scatterPlot({
    x,
    y,
    labels,
    title: "Latent means",
    xLabel: "PC 1",
    yLabel: "PC 2",
    caption: "Explained variance: PC 1 31.2%, PC 2 18.7%. " + "Long caption text. ".repeat(10),
  });
  assertWellFormedSvg(svg);
  const legend = [
    ...svg.matchAll(
      /<g class="legend-entry"><circle [^>]*fill="(#[0-9a-f]+)"\/><text [^>]*>([^<]*)<\/text><\/g>/g,
    ),
  ];
  assertEquals(legend.map((m) => m[2]), ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  assertEquals(legend.map((m) => m[1]), [...schemeTableau10]);
  assertEquals(svg.match(/<circle /g)?.length, n - 1 + 10); // the NaN point is skipped
  for (let d = 0; d < 10; d++) {
    const count = labels.filter((l, i) => l === d && i !== 5).length;
    const drawn = svg.match(new RegExp(`r="2.6" fill="${schemeTableau10[d]}"`, "g"))?.length ?? 0;
    assertEquals(drawn, count, `digit ${d}`);
  }
  assert(svg.includes(">digit</text>"));
  assert(svg.includes("Explained variance: PC 1 31.2%"));
  assert((svg.match(/font-size="12.5"/g)?.length ?? 0) >= 2, "long caption wraps to lines");
});

Deno.test("scatterPlot rejects labels outside 0..9 and mismatched lengths", () => {
  const base = { title: "t", xLabel: "x", yLabel: "y" };
  throws(
    () => scatterPlot({ ...base, x: [0, 1], y: [0, 1], labels: [1, 10] }),
    /label 10 at index 1/,
  );
  throws(() => scatterPlot({ ...base, x: [0, 1], y: [0], labels: [1, 1] }), RangeError);
});

Deno.test("escapeXml and writeSvg keep text safe and write the file atomically", async () => {
  assertEquals(escapeXml(`a<b>&"c'`), "a&#60;b&#62;&#38;&#34;c&#39;");
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "elbo.svg");
    const svg = lineChart({
      series: [{ name: "t", x: [1, 2], y: [2, 1] }],
      xLabel: "",
      yLabel: "",
      title: "",
    });
    await writeSvg(path, svg);
    assertEquals(await Deno.readTextFile(path), svg);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["elbo.svg"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
