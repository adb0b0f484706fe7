/**
 * Reader for IDX files (the format of MNIST and Fashion-MNIST): a big-endian
 * header of a magic number (0x0000 08 ND: unsigned bytes, ND dimensions) and
 * ND u32 sizes, then the bytes. Files may be raw or gzipped (detected by the
 * 1f 8b magic, not the name, so a renamed file still reads).
 */

import { gunzipSync } from "node:zlib";

/** Magic number of an IDX file of unsigned bytes with 3 dimensions (images). */
const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX file of unsigned bytes with 1 dimension (labels). */
const IDX_LABELS_MAGIC = 0x00000801;

/** A missing, unreadable, corrupt, truncated or inconsistent data file. */
export class DataError extends Error {
  /** `message` names the file, what was wrong with it, and what was expected. */
  constructor(message: string) {
    super(message);
    this.name = "DataError";
  }
}

/** The images of one IDX file, as the header announced them. */
export interface IdxImages {
  /** Number of images. */
  count: number;
  /** Pixel rows per image (28 for MNIST). */
  rows: number;
  /** Pixel columns per image (28 for MNIST). */
  cols: number;
  /** (count, rows, cols) row-major, one byte per pixel, 0 = background. */
  pixels: Uint8Array;
}

/**
 * Reads an IDX image file and checks that its images are `rows` x `cols` and
 * that the file holds exactly the bytes its header announces.
 */
export async function readIdxImages(
  path: string,
  shape: { rows?: number; cols?: number } = {},
): Promise<IdxImages> {
  const { bytes, gzipped } = await _readMaybeGzipped(path);
  return parseIdxImages(bytes, path, shape, gzipped);
}

/** parseIdx* of a file's bytes (decompressed); `path` names it in messages. */
export function parseIdxImages(
  bytes: Uint8Array,
  path: string,
  { rows = 28, cols = 28 }: { rows?: number; cols?: number } = {},
  gzipped = false,
): IdxImages {
  _checkMagic(path, bytes, IDX_IMAGES_MAGIC, 16, "images");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(4), r = view.getUint32(8), c = view.getUint32(12);
  if (r !== rows || c !== cols) {
    throw new DataError(
      `Cannot read ${path}: header says images of ${r}x${c}, expected ${rows}x${cols}`,
    );
  }
  const expected = 16 + count * rows * cols;
  if (bytes.byteLength !== expected) {
    throw new DataError(
      `Cannot read ${path}: header says ${count} images of ${rows}x${cols} (${expected} bytes), ` +
        `file holds ${bytes.byteLength} bytes${gzipped ? " once decompressed" : ""}`,
    );
  }
  return { count, rows, cols, pixels: bytes.subarray(16) };
}

/** Reads an IDX label file (one byte per item) and checks its length against its header. */
export async function readIdxLabels(path: string): Promise<Uint8Array> {
  const { bytes, gzipped } = await _readMaybeGzipped(path);
  return parseIdxLabels(bytes, path, gzipped);
}

/** The labels of an IDX label file's bytes (decompressed); `path` names it in messages. */
export function parseIdxLabels(bytes: Uint8Array, path: string, gzipped = false): Uint8Array {
  _checkMagic(path, bytes, IDX_LABELS_MAGIC, 8, "labels");
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
  const expected = 8 + count;
  if (bytes.byteLength !== expected) {
    throw new DataError(
      `Cannot read ${path}: header says ${count} labels (${expected} bytes), ` +
        `file holds ${bytes.byteLength} bytes${gzipped ? " once decompressed" : ""}`,
    );
  }
  return bytes.subarray(8);
}

async function _readMaybeGzipped(path: string): Promise<{ bytes: Uint8Array; gzipped: boolean }> {
  let raw: Uint8Array;
  try {
    raw = await Deno.readFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new DataError(`Cannot read ${path}: ${why}`);
  }
  if (raw.byteLength < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) {
    return { bytes: raw, gzipped: false };
  }
  try {
    const out = gunzipSync(raw);
    return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), gzipped: true };
  } catch (e) {
    throw new DataError(
      `Cannot read ${path}: it starts like gzip but does not decompress (${(e as Error).message})`,
    );
  }
}

function _checkMagic(
  path: string,
  bytes: Uint8Array,
  magic: number,
  headerBytes: number,
  what: string,
): void {
  const short = () =>
    new DataError(
      `Cannot read ${path}: an IDX ${what} header needs ${headerBytes} bytes, ` +
        `file holds ${bytes.byteLength}`,
    );
  if (bytes.byteLength < 4) throw short();
  const found = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  if (found !== magic) {
    const hint = found === IDX_IMAGES_MAGIC
      ? " (an image file)"
      : found === IDX_LABELS_MAGIC
      ? " (a label file)"
      : "";
    throw new DataError(
      `Cannot read ${path}: magic number is ${_hex(found)}${hint}, expected ${_hex(magic)} ` +
        `(IDX ${what})`,
    );
  }
  if (bytes.byteLength < headerBytes) throw short();
}

const _hex = (v: number) => `0x${v.toString(16).padStart(8, "0")}`;
