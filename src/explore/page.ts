/// <reference lib="dom" />
/**
 * The explorer's page (bundled for the browser by src/app/explore.ts): fetches the kernels and
 * the model from the server, rebuilds the VAE in this browser's WebGPU (ExploreSession) and wires
 * the controls: the latent plane, the principal-direction sliders, the slide between two test
 * images and the completion of a half-drawn digit. `globalThis.explorer` exposes the state for
 * the browser test (tests/explore_test.ts).
 */

import { schemeCategory10 } from "d3-scale-chromatic";
import { Gpu } from "../gpu/gpu.ts";
import { fetchKernelFiles } from "../gpu/kernel_source.ts";
import type { ExploreModel } from "./protocol.ts";
import { ExploreSession } from "./session.ts";

/** What the browser test reads and drives. */
export interface ExplorerApi {
  /** Resolves with the adapter's description once the model is built and a first image shown. */
  ready: Promise<string>;
  /** The decoder's mean image at z (L numbers), as the page computes it. */
  decode(z: number[]): Promise<number[]>;
  /** The z on show, its image, and how many decodes the controls have run. */
  state(): { z: number[]; image: number[] | null; decodes: number };
  /** Resolves when no decode is pending. */
  idle(): Promise<void>;
  /** Errors the page caught (also shown in the header). */
  errors: string[];
}

const W = 28, P = 784, HALF = 14;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const errors: string[] = [];

function _fail(e: unknown) {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  errors.push(msg);
  $("status").textContent = msg;
  console.error(msg);
}
globalThis.addEventListener("error", (e) => _fail(e.error ?? e.message));
globalThis.addEventListener("unhandledrejection", (e) => _fail(e.reason));

/** Draws 784 values in [0, 1] (or 0-255 with `bytes`) into a 28 x 28 canvas. */
function _show(canvas: HTMLCanvasElement, px: ArrayLike<number>, bytes = false) {
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(W, W);
  for (let p = 0; p < P; p++) {
    const v = bytes ? px[p] : Math.round(255 * Math.min(1, Math.max(0, px[p])));
    img.data.set([v, v, v, 255], 4 * p);
  }
  ctx.putImageData(img, 0, 0);
}

async function _start(): Promise<{ api: Omit<ExplorerApi, "ready" | "errors">; adapter: string }> {
  const info: ExploreModel = await (await fetch("/api/model")).json();
  const names: string[] = await (await fetch("/kernels/")).json();
  const files = await fetchKernelFiles(new URL("/kernels/", location.href), names);
  // Pipelines on first use: decoding needs none of the training kernels, which a software
  // adapter's compiler (SwiftShader's) can take minutes over.
  const gpu = await Gpu.create({ files, compile: "first-use" });
  gpu.device.lost.then((l) =>
    _fail(new Error(`The WebGPU device was lost (${l.reason}): ${l.message}`))
  );
  const f32 = async (path: string) => new Float32Array(await (await fetch(path)).arrayBuffer());
  const params = await f32("/api/params"), state = info.state > 0 ? await f32("/api/state") : null;
  const session = ExploreSession.create(gpu, info, params, state);
  const L = info.latent, { mean, components: C, sd } = info.axes;
  $("about").textContent = `${info.model} VAE, ${info.likelihood.name} likelihood, ${L}-D ` +
    `latent, ${info.epoch} epochs (${info.checkpoint}); decoding here on ${gpu.adapterName}`;
  if (L !== 2) {
    $("plane-how").textContent += ` Its axes are the first two principal directions of the ` +
      `${L}-D mu; the other directions stay where the sliders put them.`;
  }

  // The state: z itself; the plane and the sliders show and move its coordinates along C.
  const z = Float64Array.from(mean);
  const coord = (i: number, v: ArrayLike<number> = z) => {
    let s = 0;
    for (let j = 0; j < L; j++) s += (v[j] - mean[j]) * C[i][j];
    return s;
  };
  const setCoord = (i: number, c: number) => {
    const d = c - coord(i);
    for (let j = 0; j < L; j++) z[j] += d * C[i][j];
  };
  let image: Float32Array | null = null, decodes = 0, busy: Promise<void> | null = null;
  let again = false;
  const redraw = () => {
    drawPlane();
    sliders.forEach((s, i) => {
      s.input.value = String(sd[i] > 0 ? coord(i) / sd[i] : 0);
      s.label.textContent = s.input.value.slice(0, 5);
    });
    $("zread").textContent = "z = [" + Array.from(z, (v) => v.toFixed(2)).join(", ") + "]";
  };
  const refresh = () => {
    redraw();
    if (busy) {
      again = true;
      return;
    }
    busy = (async () => {
      do {
        again = false;
        image = await session.decode(z);
        decodes++;
        _show($("decoded"), image);
      } while (again);
      busy = null;
    })().catch(_fail) as Promise<void>;
  };

  // The plane: each axis spans three spreads of the points either side of the mean.
  const plane = $<HTMLCanvasElement>("plane"), pctx = plane.getContext("2d")!;
  const R = [0, 1].map((i) => 3 * (sd[i] > 0 ? sd[i] : 1));
  const toPx = (a: number, b: number) => [
    (a / R[0] + 1) * plane.width / 2,
    (1 - b / R[1]) * plane.height / 2,
  ];
  const n = info.points.labels.length;
  const mu = (i: number) => info.points.mu.slice(i * L, (i + 1) * L);
  const dots = Array.from({ length: n }, (_, i) => [coord(0, mu(i)), coord(1, mu(i))]);
  function drawPlane() {
    pctx.fillStyle = "#fff";
    pctx.fillRect(0, 0, plane.width, plane.height);
    pctx.strokeStyle = "#ddd";
    pctx.beginPath();
    pctx.moveTo(plane.width / 2, 0), pctx.lineTo(plane.width / 2, plane.height);
    pctx.moveTo(0, plane.height / 2), pctx.lineTo(plane.width, plane.height / 2);
    pctx.stroke();
    dots.forEach(([a, b], i) => {
      const [x, y] = toPx(a, b);
      pctx.fillStyle = schemeCategory10[info.points.labels[i]];
      pctx.globalAlpha = 0.55;
      pctx.fillRect(x - 1.5, y - 1.5, 3, 3);
    });
    pctx.globalAlpha = 1;
    const [x, y] = toPx(coord(0), coord(1));
    pctx.strokeStyle = "#000";
    pctx.lineWidth = 2;
    pctx.beginPath();
    pctx.arc(x, y, 7, 0, 2 * Math.PI);
    pctx.stroke();
    pctx.lineWidth = 1;
    pctx.fillStyle = "#555";
    pctx.fillText(L === 2 ? "z1" : "PC 1", plane.width - 30, plane.height / 2 - 4);
    pctx.fillText(L === 2 ? "z2" : "PC 2", plane.width / 2 + 4, 12);
  }
  const drag = (e: PointerEvent) => {
    const r = plane.getBoundingClientRect();
    const a = ((e.clientX - r.left) / r.width * 2 - 1) * R[0];
    const b = (1 - (e.clientY - r.top) / r.height * 2) * R[1];
    setCoord(0, a), setCoord(1, b);
    refresh();
  };
  plane.addEventListener("pointerdown", (e) => {
    plane.setPointerCapture(e.pointerId);
    drag(e);
  });
  plane.addEventListener("pointermove", (e) => {
    if (e.buttons & 1) drag(e);
  });
  $("legend").innerHTML = schemeCategory10.map((c: string, d: number) =>
    `<span style="background:${c}">${d}</span>`
  )
    .join("");

  // Sliders along the principal directions (a 2-D latent has the plane alone).
  const sliders = L === 2 ? [] : C.map((_, i) => {
    const row = document.createElement("div");
    row.className = "slider";
    row.innerHTML = `<span>PC ${i + 1}</span><input type="range" min="-3" max="3" step="0.05">` +
      "<span></span>";
    $("sliders").append(row);
    const input = row.querySelector("input")!, label = row.querySelector("span:last-child")!;
    input.addEventListener("input", () => {
      setCoord(i, Number(input.value) * sd[i]);
      refresh();
    });
    return { input, label };
  });
  if (sliders.length > 0) $("sliders-box").hidden = false;

  // Two test images and the slide between their mu.
  const picked: number[] = [];
  const thumbs = info.thumbs.map((t) => {
    const c = document.createElement("canvas");
    c.width = c.height = W;
    c.title = `test image ${t.index}: a ${t.label}`;
    _show(c, t.pixels, true);
    c.addEventListener("click", () => {
      picked.push(t.index);
      if (picked.length > 2) picked.splice(0, picked.length - 2);
      thumbs.forEach((el, i) => {
        el.className = info.thumbs[i].index === picked[0]
          ? "a"
          : info.thumbs[i].index === picked[1]
          ? "b"
          : "";
      });
      startFrom(t.pixels);
      slide();
    });
    $("thumbs").append(c);
    return c;
  });
  const slide = () => {
    const t = Number($<HTMLInputElement>("t").value);
    $("tval").textContent = t.toFixed(2);
    if (picked.length === 0) return;
    const a = mu(picked[0]), b = mu(picked[picked.length - 1]);
    for (let j = 0; j < L; j++) z[j] = (1 - t) * a[j] + t * b[j];
    refresh();
  };
  $("t").addEventListener("input", slide);

  // Completion: the left half is drawn (or taken from a test image), the right half inferred.
  const drawn = new Uint8Array(P), draw = $<HTMLCanvasElement>("draw");
  const showDrawn = () => {
    const shown = Uint8Array.from(drawn, (v, p) => (p % W >= HALF ? 40 + v / 4 : v));
    _show(draw, shown, true);
  };
  const startFrom = (pixels: number[]) => {
    drawn.set(pixels.map((v, p) => (p % W < HALF ? v : 0)));
    showDrawn();
  };
  const paint = (e: PointerEvent) => {
    const r = draw.getBoundingClientRect();
    const cx = (e.clientX - r.left) / r.width * W, cy = (e.clientY - r.top) / r.height * W;
    for (let y = Math.floor(cy - 1.5); y <= cy + 1.5; y++) {
      for (let x = Math.floor(cx - 1.5); x <= Math.min(cx + 1.5, HALF - 1); x++) {
        if (x < 0 || y < 0 || y >= W) continue;
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        drawn[y * W + x] = Math.max(drawn[y * W + x], Math.round(255 * Math.max(0, 1.4 - d)));
      }
    }
    showDrawn();
  };
  draw.addEventListener("pointerdown", (e) => {
    draw.setPointerCapture(e.pointerId);
    paint(e);
  });
  draw.addEventListener("pointermove", (e) => {
    if (e.buttons & 1) paint(e);
  });
  $("clear").addEventListener("click", () => startFrom(new Array(P).fill(0)));
  const mask = Float32Array.from({ length: P }, (_, p) => (p % W < HALF ? 1 : 0));
  $("complete").addEventListener("click", async () => {
    const out = $("cread");
    if (!drawn.some((v, p) => v > 127 && p % W < HALF)) {
      out.textContent = "draw something in the left half first";
      return;
    }
    out.textContent = "optimizing psi...";
    try {
      const c = await session.complete(drawn, mask, (track, step) => {
        out.textContent = `step ${step}: -ELBO of the left half ${track.bestLoss.toFixed(1)} nats`;
      });
      const both = Float32Array.from(c.image, (v, p) => (p % W < HALF ? drawn[p] / 255 : v));
      _show($("completed"), both);
      out.textContent = `psi*: -ELBO of the left half ${c.track.bestLoss.toFixed(1)} nats, ` +
        `best at step ${c.track.bestStep} of ${c.track.steps}`;
      for (let j = 0; j < L; j++) z[j] = c.psi[j];
      refresh();
    } catch (e) {
      _fail(e);
    }
  });

  startFrom(info.thumbs[0]?.pixels ?? new Array(P).fill(0));
  // The first image outside `refresh`, so that a failure (a kernel this browser's compiler
  // refuses) rejects `ready` rather than only showing in the header.
  redraw();
  image = await session.decode(z);
  decodes++;
  _show($("decoded"), image);
  return {
    adapter: gpu.adapterName,
    api: {
      decode: async (v) => Array.from(await session.decode(v)),
      state: () => ({ z: Array.from(z), image: image ? Array.from(image) : null, decodes }),
      idle: async () => {
        while (busy) await busy;
      },
    },
  };
}

const started = _start();
const api: ExplorerApi = {
  ready: started.then((s) => s.adapter),
  decode: (z) => started.then((s) => s.api.decode(z)),
  state: () => ({ z: [], image: null, decodes: 0 }),
  idle: () => started.then((s) => s.api.idle()),
  errors,
};
started.then((s) => (api.state = s.api.state), _fail);
(globalThis as unknown as { explorer: ExplorerApi }).explorer = api;
