/**
 * Checkpoints in the safetensors format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian u64 header length N, N bytes of JSON header
 * `{ "__metadata__": { string: string }, name: { dtype, shape, data_offsets: [begin, end] } }`
 * padded with spaces, then the tensors' raw little-endian bytes, offsets relative to the
 * byte after the header. Files are laid out as the reference serializer does (tensors
 * sorted by descending dtype then name, header padded to a multiple of 8), so every
 * tensor is aligned to its element size, and loading checks every rule the reference
 * deserializer checks.
 */

import { writeFileAtomic } from "./io.ts";

/** The element types this reader and writer support, by their safetensors names. */
export type DType = "I64" | "F64" | "F32" | "U32" | "I32" | "U8";

/** The typed array that holds each DType's elements. */
export interface ArrayOf {
  /** 8-byte signed integers (PyTorch's int64: batch norm's num_batches_tracked). */
  I64: BigInt64Array;
  /** 8-byte floats. */
  F64: Float64Array;
  /** 4-byte floats. */
  F32: Float32Array;
  /** 4-byte unsigned integers. */
  U32: Uint32Array;
  /** 4-byte signed integers. */
  I32: Int32Array;
  /** Bytes. */
  U8: Uint8Array;
}
/** The typed array of dtype D. */
export type TypedArrayOf<D extends DType> = ArrayOf[D];

/** One tensor of a safetensors file. */
export interface TensorEntry<D extends DType = DType> {
  /** Its element type. */
  dtype: D;
  /** Its shape, row-major; [] for a scalar. */
  shape: number[];
  /** Its elements, as many as the shape's product. */
  data: TypedArrayOf<D>;
}

/** A whole safetensors file, as loadSafetensors read and validated it. */
export interface Checkpoint {
  /** Where it was loaded from, for error messages. */
  path: string;
  /** The tensors by name. */
  tensors: Record<string, TensorEntry>;
  /** The header's `__metadata__` strings ({} where it has none). */
  metadata: Record<string, string>;
}

/** A checkpoint that cannot be read or does not fit the model. Message names the file. */
export class CheckpointError extends Error {
  /** The file that could not be loaded. */
  readonly path: string;
  /** `detail` says what is wrong with the file at `path`, and what would fix it. */
  constructor(path: string, detail: string) {
    super(`Cannot load checkpoint ${path}: ${detail}`);
    this.name = "CheckpointError";
    this.path = path;
  }
}

// The reference serializer orders tensors by this rank (its Dtype enum order), descending.
const DTYPES: Record<
  DType,
  { bytes: number; rank: number; ctor: new (b: ArrayBuffer) => ArrayOf[DType] }
> = {
  U8: { bytes: 1, rank: 0, ctor: Uint8Array },
  I32: { bytes: 4, rank: 1, ctor: Int32Array },
  U32: { bytes: 4, rank: 2, ctor: Uint32Array },
  F32: { bytes: 4, rank: 3, ctor: Float32Array },
  F64: { bytes: 8, rank: 4, ctor: Float64Array },
  I64: { bytes: 8, rank: 5, ctor: BigInt64Array },
};
/** The reference implementation refuses larger headers; so do we (a corrupt length field). */
const MAX_HEADER = 100_000_000;

/** The bytes of a safetensors file holding `tensors` and `metadata`. */
export function encodeSafetensors(
  tensors: Record<string, TensorEntry>,
  metadata: Record<string, string> = {},
): Uint8Array {
  for (const [name, t] of Object.entries(tensors)) _checkTensor(name, t);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") {
      throw new TypeError(`Cannot save checkpoint: metadata "${k}" is ${typeof v}, not a string`);
    }
  }
  const names = Object.keys(tensors).sort((a, b) =>
    DTYPES[tensors[b].dtype].rank - DTYPES[tensors[a].dtype].rank || (a < b ? -1 : a > b ? 1 : 0)
  );
  // Entries, not property assignment, so a tensor named "__proto__" stays a tensor.
  const header: [string, unknown][] = [];
  if (Object.keys(metadata).length > 0) header.push(["__metadata__", metadata]);
  let offset = 0;
  for (const name of names) {
    const { dtype, shape, data } = tensors[name];
    header.push([name, { dtype, shape, data_offsets: [offset, offset + data.byteLength] }]);
    offset += data.byteLength;
  }
  let json = JSON.stringify(Object.fromEntries(header));
  let headerBytes = new TextEncoder().encode(json);
  json += " ".repeat((8 - (headerBytes.length % 8)) % 8);
  headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors[name];
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}

function _checkTensor(name: string, t: TensorEntry): void {
  const what = (detail: string) => `Cannot save checkpoint: tensor ${name} ${detail}`;
  if (name === "__metadata__") throw new RangeError(what("has the reserved name __metadata__"));
  const info = Object.hasOwn(DTYPES, t.dtype) ? DTYPES[t.dtype] : undefined;
  if (!info) throw new TypeError(what(`has unknown dtype ${t.dtype}`));
  if (!(t.data instanceof info.ctor)) {
    throw new TypeError(what(`is ${t.dtype} but its data is a ${t.data.constructor.name}`));
  }
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(what(`has shape ${_shape(t.shape)}`));
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new RangeError(
      what(`has ${t.data.length} values, shape ${_shape(t.shape)} needs ${count}`),
    );
  }
}

/** Writes a safetensors file atomically (temp file + rename): a crash keeps the old one. */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, TensorEntry>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/**
 * Reads and validates a safetensors file. `hint` says how to make the file when it is
 * missing, e.g. "run `deno task train-mlp` first".
 */
export async function loadSafetensors(
  path: string,
  opts: { hint?: string } = {},
): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CheckpointError(path, `no such file${opts.hint ? `; ${opts.hint}` : ""}`);
    }
    if (e instanceof Deno.errors.IsADirectory) throw new CheckpointError(path, "it is a directory");
    throw new CheckpointError(path, (e as Error).message);
  }
  return decodeSafetensors(bytes, path);
}

/** Parses safetensors bytes; `path` only names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, path = "<bytes>"): Checkpoint {
  function fail(detail: string): never {
    throw new CheckpointError(path, detail);
  }
  if (bytes.length < 8) {
    fail(`file holds ${bytes.length} bytes, too few for the 8-byte header length`);
  }
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) {
    fail(
      `header length field says ${n64} bytes, more than the ${MAX_HEADER}-byte limit ` +
        "(not a safetensors file?)",
    );
  }
  const n = Number(n64);
  if (8 + n > bytes.length) {
    fail(`header length field says ${n} bytes, file holds ${bytes.length} bytes (truncated?)`);
  }
  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("header is not a JSON object");
  }

  const metaEntries: [string, string][] = [];
  const entries: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail("__metadata__ is not an object");
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") {
          fail(`__metadata__ "${k}" is ${JSON.stringify(v)}, not a string`);
        }
        metaEntries.push([k, v as string]);
      }
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof t !== "object" || t === null) fail(`tensor ${name} is not an object`);
    const { dtype, shape, data_offsets: off } = t;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPES, dtype)) {
      const supported = Object.keys(DTYPES).join(", ");
      fail(`tensor ${name} has dtype ${JSON.stringify(dtype)}; supported: ${supported}`);
    }
    const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      fail(
        `tensor ${name} has shape ${JSON.stringify(shape)}, not a list of non-negative integers`,
      );
    }
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount)) {
      fail(`tensor ${name} has data_offsets ${JSON.stringify(off)}, not [begin, end]`);
    }
    const [begin, end] = off as number[];
    if (end < begin) fail(`tensor ${name} has data_offsets [${begin}, ${end}], end before begin`);
    entries.push({ name, dtype: dtype as DType, shape: shape as number[], begin, end });
  }

  const dataStart = 8 + n, dataLen = bytes.length - dataStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0, prev = "";
  for (const e of entries) {
    if (e.begin < at) {
      fail(`tensors ${prev} and ${e.name} overlap (bytes ${e.begin}..${at} of the data)`);
    }
    if (e.begin > at) {
      fail(
        `no tensor covers data bytes ${at}..${e.begin} before ${e.name} ` +
          "(the format allows no holes)",
      );
    }
    const count = e.shape.reduce((a, b) => a * b, 1);
    const want = count * DTYPES[e.dtype].bytes;
    if (e.end - e.begin !== want) {
      fail(
        `tensor ${e.name} is ${e.dtype} ${_shape(e.shape)} = ${want} bytes, ` +
          `but its data_offsets [${e.begin}, ${e.end}] span ${e.end - e.begin}`,
      );
    }
    at = e.end;
    prev = e.name;
  }
  if (at > dataLen) {
    fail(
      `header names ${entries.length} tensors ending at byte ${dataStart + at}, ` +
        `file holds ${bytes.length} bytes (truncated?)`,
    );
  }
  if (at < dataLen) {
    fail(
      `header names ${entries.length} tensors ending at byte ${dataStart + at}, ` +
        `file holds ${bytes.length} bytes (trailing bytes)`,
    );
  }

  // fromEntries defines own properties, so a tensor named "__proto__" stays a tensor.
  const tensors: Record<string, TensorEntry> = Object.fromEntries(entries.map((e) => {
    // A copy, so each array is aligned and independent of the file buffer.
    const raw = bytes.slice(dataStart + e.begin, dataStart + e.end);
    const data = new DTYPES[e.dtype].ctor(raw.buffer);
    return [e.name, { dtype: e.dtype, shape: e.shape, data }];
  }));
  return { path, tensors, metadata: Object.fromEntries(metaEntries) };
}

/**
 * The data of tensor `name`, checked to have `dtype` and `shape`: the one place a
 * model says what it needs from a checkpoint.
 */
export function expectTensor<D extends DType>(
  ckpt: Checkpoint,
  name: string,
  dtype: D,
  shape: number[],
): TypedArrayOf<D> {
  const t = Object.hasOwn(ckpt.tensors, name) ? ckpt.tensors[name] : undefined;
  if (!t) {
    const have = Object.keys(ckpt.tensors);
    throw new CheckpointError(
      ckpt.path,
      `no tensor ${name} (it holds ${have.length ? have.join(", ") : "no tensors"})`,
    );
  }
  if (t.dtype !== dtype) {
    throw new CheckpointError(ckpt.path, `tensor ${name} is ${t.dtype}, model needs ${dtype}`);
  }
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(
      ckpt.path,
      `tensor ${name} has shape ${_shape(t.shape)}, model needs ${_shape(shape)}`,
    );
  }
  return t.data as TypedArrayOf<D>;
}

function _shape(shape: number[]): string {
  return `[${shape.join(", ")}]`;
}
