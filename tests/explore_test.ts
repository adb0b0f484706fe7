/**
 * `deno task explore`'s page in a real headless Chromium with WebGPU (--enable-unsafe-webgpu:
 * SwiftShader, a CPU adapter): the browser rebuilds a conv VAE from the served checkpoint and the
 * same kernel files, and its decoded image for a given z equals Deno's decode of that z (here on
 * lavapipe) within 1e-5; dragging on the latent plane and moving a slider change z and the image;
 * a completion runs to the end; nothing logs an error. CI installs Chromium and sets
 * REQUIRE_CHROMIUM=1, so there it cannot be skipped.
 */

/// <reference lib="dom" />
import assert from "node:assert/strict";
import { join } from "node:path";
import puppeteer, { type Page } from "puppeteer-core";
import { startExplorer } from "../src/app/explore.ts";
import { loadVae } from "../src/app/models.ts";
import { ConvVae } from "../src/conv/conv_vae.ts";
import { bernoulli } from "../src/likelihood/bernoulli.ts";
import { likelihoodByName } from "../src/likelihood/registry.ts";
import type { Gpu } from "../src/gpu/gpu.ts";
import { saveModel } from "../src/train/checkpoint.ts";
import type { ExplorerApi } from "../src/explore/page.ts";
import { chromiumPath, gpuTest } from "./helpers.ts";

const CHROMIUM = chromiumPath();
if (!CHROMIUM && Deno.env.get("REQUIRE_CHROMIUM")) {
  throw new Error("REQUIRE_CHROMIUM is set but no Chromium was found (apt-get install chromium)");
}
if (!CHROMIUM) console.error("explore_test: no Chromium found; the browser test is ignored");

const CHROME_ARGS = [
  "--no-sandbox", // as root (CI) Chromium refuses its sandbox; the page is our own
  "--disable-dev-shm-usage",
  "--enable-unsafe-webgpu",
  "--use-webgpu-adapter=swiftshader",
  "--enable-features=Vulkan",
];

/** The mean image at z from the checkpoint on `gpu` (Deno's side of the comparison). */
async function _denoDecode(gpu: Gpu, path: string, z: number[]): Promise<Float32Array> {
  const vae = await loadVae(gpu, path, "", { model: "conv" });
  const g = await vae.graph(1);
  gpu.write(g.z, Float32Array.from(z));
  const rec = gpu.record("test decode");
  const image = g.decodeMeans(rec);
  await rec.submit();
  return await gpu.readF32(image, 0, 784);
}

const api = (page: Page) => ({
  state: () =>
    page.evaluate(() => (globalThis as unknown as { explorer: ExplorerApi }).explorer.state()),
  idle: () =>
    page.evaluate(() => (globalThis as unknown as { explorer: ExplorerApi }).explorer.idle()),
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

Deno.test({
  name: "explore: the page's decode equals Deno's within 1e-5, drags, slides and completes",
  ignore: !CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { testGpu } = await import("./helpers.ts");
    const gpu = await testGpu();
    assert.ok(gpu, "no WebGPU adapter in Deno");
    const dir = await Deno.makeTempDir({ prefix: "explore_test_" });
    const ckpt = join(dir, "model.safetensors");
    // An untrained model decodes to a near-uniform grey; weights doubled make images that
    // differ from z to z by more than rounding, so that "the image changed" means something.
    const init = ConvVae.init(gpu, { latent: 16 }, bernoulli, 3);
    const params = await gpu.readF32(init.params);
    const state = await gpu.readF32(init.state.buffer);
    const vae = new ConvVae(gpu, { latent: 16 }, { params: params.map((v) => 2 * v), state });
    await saveModel(ckpt, vae, { epoch: 1, adamT: 1, seed: 3, bestEpoch: 1, log: [] });
    const ex = await startExplorer({ checkpoint: ckpt, hint: "", port: 0, images: 60 });
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM!,
      headless: true,
      protocolTimeout: 300_000,
      args: CHROME_ARGS,
    });
    const errors: string[] = [];
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 1000 });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => errors.push(`page: ${(e as Error).message}`));
      page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
      await page.goto(ex.url);
      const adapter = await page.evaluate(() =>
        (globalThis as unknown as { explorer: ExplorerApi }).explorer.ready
      );
      assert.ok(adapter.length > 0, "the page has no adapter name");

      // The same z decoded by the page and by Deno.
      const z = Array.from({ length: 16 }, (_, j) => Math.sin(1.7 * j + 0.3) * 1.5);
      const inPage = await page.evaluate(
        (v) => (globalThis as unknown as { explorer: ExplorerApi }).explorer.decode(v),
        z,
      );
      const inDeno = await _denoDecode(gpu, ckpt, z);
      assert.equal(inPage.length, 784);
      const d = maxDiff(inPage, inDeno);
      console.error(`explore_test: page (${adapter}) and Deno (${gpu.adapterName}) differ by ${d}`);
      assert.ok(d <= 1e-5, `page and Deno decode differ by ${d} (want <= 1e-5)`);

      // A drag on the plane moves z along PC 1 and PC 2 and changes the image.
      const { state, idle } = api(page);
      const before = await state();
      const box = (await (await page.$("#plane"))!.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.3);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.75, { steps: 4 });
      await page.mouse.up();
      await idle();
      const dragged = await state();
      assert.ok(dragged.decodes > before.decodes, "the drag decoded nothing");
      assert.ok(maxDiff(dragged.z, before.z) > 0.1, "the drag did not move z");
      assert.ok(maxDiff(dragged.image!, before.image!) > 1e-3, "the drag did not change the image");
      // The image on show is the page's decode of the z on show (same device: the same bits).
      const again = await page.evaluate(
        (v) => (globalThis as unknown as { explorer: ExplorerApi }).explorer.decode(v),
        dragged.z,
      );
      assert.ok(maxDiff(again, dragged.image!) <= 1e-7, "the image shown is not z's");

      // A slider along PC 3 moves z along that direction only.
      await page.evaluate(() => {
        const s = document.querySelectorAll<HTMLInputElement>("#sliders input")[2];
        s.value = "2.5";
        s.dispatchEvent(new Event("input"));
      });
      await idle();
      const slid = await state();
      const pc3 = ex.model.axes.components[2];
      const step = slid.z.map((v, j) => v - dragged.z[j]);
      const along = step.reduce((a, v, j) => a + v * pc3[j], 0);
      const off = Math.sqrt(step.reduce((a, v, j) => a + (v - along * pc3[j]) ** 2, 0));
      assert.ok(
        Math.abs(along) > 0.05 && off < 1e-6,
        `slider moved z by ${along} along, ${off} off`,
      );
      assert.ok(maxDiff(slid.image!, dragged.image!) > 1e-4, "the slider did not change the image");

      // Two test images, halfway between, then a completion of the first's left half.
      const thumbs = await page.$$("#thumbs canvas");
      await thumbs[0].click();
      await thumbs[1].click();
      await page.evaluate(() => {
        const t = document.getElementById("t") as HTMLInputElement;
        t.value = "0.5";
        t.dispatchEvent(new Event("input"));
      });
      await idle();
      const mid = await state();
      const mu = ex.model.points.mu, L = 16;
      const want = Array.from({ length: L }, (_, j) => (mu[j] + mu[L + j]) / 2);
      assert.ok(maxDiff(mid.z, want) < 1e-4, "t = 0.5 is not halfway between the two mu");
      await page.click("#complete");
      await page.waitForFunction(
        () =>
          /psi\*/.test(document.getElementById("cread")!.textContent!) ||
          (globalThis as unknown as { explorer: ExplorerApi }).explorer.errors.length > 0,
        { timeout: 240_000 },
      );
      const done = await page.$eval("#cread", (e) => e.textContent!);
      assert.match(done, /-ELBO of the left half \d+\.\d nats/);
      await page.screenshot({ path: join(dir, "explore.png") });
    } finally {
      await browser.close();
      await ex.close();
    }
    assert.deepEqual(errors, []);
    await Deno.remove(dir, { recursive: true });
  },
});

gpuTest(
  "explore: a model whose encoder reads noisy data is refused, saying what to pass",
  async (gpu) => {
    const dir = await Deno.makeTempDir({ prefix: "explore_gauss_" });
    const ckpt = join(dir, "model.safetensors");
    const gaussian = likelihoodByName("gaussian");
    await saveModel(ckpt, ConvVae.init(gpu, { latent: 4 }, gaussian, 1), {
      epoch: 1,
      adamT: 1,
      seed: 1,
      bestEpoch: 1,
      log: [],
    });
    await assert.rejects(
      startExplorer({ checkpoint: ckpt, hint: "", port: 0, images: 60 }),
      (e: Error) => {
        assert.equal(e.name, "InputError");
        assert.match(e.message, /Cannot explore a gaussian model: .*Bernoulli or categorical/);
        return true;
      },
    );
    await Deno.remove(dir, { recursive: true });
  },
);
