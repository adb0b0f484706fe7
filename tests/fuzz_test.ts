/**
 * Deterministic fuzzing of the two parsers that read files from users: IDX (images, labels)
 * and safetensors. Thousands of seeded mutations of a valid file (truncation, extension, bit
 * flips, byte overwrites, header fields set to edge values, and for safetensors the JSON
 * header's offsets, shapes and dtypes rewritten); each must end in a typed error (DataError,
 * CheckpointError) or a result that holds together, never a hang, crash or other error type.
 */

import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { DataError, parseIdxImages, parseIdxLabels, readIdxImages } from "../src/data/idx.ts";
import { CheckpointError, decodeSafetensors, encodeSafetensors } from "../src/safetensors.ts";
import { mulberry32 } from "../src/random.ts";

const CASES = 20_000;
/** Per-call bound: parsing a few kilobytes takes microseconds; a loop would take far longer. */
const MAX_MS = 200;

type Mutator = (b: Uint8Array, next: () => number) => Uint8Array;

const EDGE_U32 = [0, 1, 27, 28, 29, 0x7fffffff, 0x80000000, 0xffffffff, 0x803, 0x801];

/** Generic byte-level mutations; `fields` are offsets of 4-byte big- or little-endian fields. */
function _mutators(fields: number[], littleEndian: boolean): Mutator[] {
  return [
    (b, r) => b.slice(0, r() % (b.length + 1)), // truncate
    (b, r) => {
      const out = new Uint8Array(b.length + 1 + (r() % 64));
      out.set(b);
      for (let i = b.length; i < out.length; i++) out[i] = r() & 0xff;
      return out; // extend
    },
    (b, r) => {
      const out = b.slice();
      for (let k = 0, n = 1 + (r() % 8); k < n && out.length; k++) {
        out[r() % out.length] ^= 1 << (r() % 8);
      }
      return out; // bit flips
    },
    (b, r) => {
      const out = b.slice(), at = r() % Math.max(1, Math.min(out.length, 64));
      if (out.length) out[at] = r() & 0xff;
      return out; // a header byte overwritten
    },
    (b, r) => {
      const out = b.slice(), f = fields[r() % fields.length];
      if (f + 4 <= out.length) {
        new DataView(out.buffer).setUint32(f, EDGE_U32[r() % EDGE_U32.length], littleEndian);
      }
      return out; // a header field at an edge value
    },
  ];
}

/** Runs `parse` on `count` mutations; returns how many parsed, how many threw the typed error. */
function _fuzz(
  valid: Uint8Array,
  mutators: Mutator[],
  parse: (b: Uint8Array) => void,
  typed: (e: unknown) => boolean,
  seed: number,
): { ok: number; rejected: number; ms: number } {
  const r = mulberry32(seed);
  let ok = 0, rejected = 0;
  const t0 = performance.now();
  for (let i = 0; i < CASES; i++) {
    let b = valid;
    for (let k = 0, n = 1 + (r() % 3); k < n; k++) b = mutators[r() % mutators.length](b, r);
    const t = performance.now();
    try {
      parse(b);
      ok++;
    } catch (e) {
      if (!typed(e)) {
        throw new Error(
          `case ${i} (seed ${seed}): ${(e as Error).name}: ${(e as Error).message}\n` +
            `  bytes (first 64): ${Array.from(b.subarray(0, 64)).join(",")}`,
        );
      }
      rejected++;
    }
    const ms = performance.now() - t;
    if (ms > MAX_MS) throw new Error(`case ${i} (seed ${seed}) took ${ms.toFixed(0)} ms`);
  }
  return { ok, rejected, ms: performance.now() - t0 };
}

function _idxImages(n: number): Uint8Array {
  const b = new Uint8Array(16 + n * 784), v = new DataView(b.buffer);
  [0x803, n, 28, 28].forEach((x, i) => v.setUint32(4 * i, x));
  for (let i = 16; i < b.length; i++) b[i] = (i * 37) & 0xff;
  return b;
}

Deno.test(`IDX parsers: ${CASES} seeded mutations each end in a DataError or hold together`, () => {
  const images = _idxImages(5);
  const labels = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 5, 3, 1, 4, 1, 5]);
  const typed = (e: unknown) => e instanceof DataError && e.message.includes("f.idx");
  const a = _fuzz(
    images,
    _mutators([0, 4, 8, 12], false),
    (b) => {
      const r = parseIdxImages(b, "f.idx");
      if (r.pixels.length !== r.count * 784 || r.rows !== 28 || r.cols !== 28) {
        throw new Error(`parsed ${r.count} images but holds ${r.pixels.length} bytes`);
      }
    },
    typed,
    1,
  );
  const b = _fuzz(
    labels,
    _mutators([0, 4], false),
    (x) => {
      const r = parseIdxLabels(x, "f.idx");
      const count = new DataView(x.buffer, x.byteOffset).getUint32(4);
      if (r.length !== count) throw new Error(`parsed ${r.length} labels, header says ${count}`);
    },
    typed,
    2,
  );
  // Both kinds of outcome occur, so the mutations reach past the first check.
  if (a.ok === 0 || a.rejected === 0 || b.ok === 0 || b.rejected === 0) {
    throw new Error(`outcomes: images ${JSON.stringify(a)}, labels ${JSON.stringify(b)}`);
  }
  console.log(`IDX: images ${JSON.stringify(a)}, labels ${JSON.stringify(b)}`);
});

/** Rewrites one number or string of the JSON header, keeping the length field honest. */
function _headerMutator(): Mutator {
  const values = ["-1", "0", "1", "3", "1e300", "2e9", "9007199254740993", "0.5", '"x"', "null"];
  const dtypes = ['"F32"', '"F64"', '"U8"', '"I64"', '"BF16"', '"f32"', '""'];
  return (b, r) => {
    if (b.length < 8) return b;
    const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
    if (8 + n > b.length) return b;
    const text = new TextDecoder().decode(b.subarray(8, 8 + n));
    const spots = [...text.matchAll(/-?\d+(\.\d+)?(e\d+)?|"F32"|"U32"/g)];
    if (spots.length === 0) return b;
    const m = spots[r() % spots.length], pick = m[0].startsWith('"') ? dtypes : values;
    const changed = text.slice(0, m.index) + pick[r() % pick.length] +
      text.slice(m.index! + m[0].length);
    const head = new TextEncoder().encode(changed);
    const out = new Uint8Array(8 + head.length + (b.length - 8 - n));
    new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
    out.set(head, 8);
    out.set(b.subarray(8 + n), 8 + head.length);
    return out;
  };
}

Deno.test(
  `safetensors parser: ${CASES} seeded mutations each end in a CheckpointError or hold together`,
  () => {
    const valid = encodeSafetensors({
      "enc.weight": {
        dtype: "F32",
        shape: [3, 4],
        data: Float32Array.from({ length: 12 }, (_, i) => i),
      },
      "enc.bias": { dtype: "F32", shape: [4], data: new Float32Array(4) },
      "steps": { dtype: "U32", shape: [2], data: Uint32Array.from([7, 9]) },
    }, { format: "webgpu-vae/1", config: '{"latent":2}' });
    const typed = (e: unknown) => e instanceof CheckpointError && e.message.includes("f.st");
    const mutators = [..._mutators([0, 4], true), _headerMutator(), _headerMutator()];
    const s = _fuzz(
      valid,
      mutators,
      (b) => {
        const c = decodeSafetensors(b, "f.st");
        for (const [name, t] of Object.entries(c.tensors)) {
          const count = t.shape.reduce((a, d) => a * d, 1);
          if (t.data.length !== count) {
            throw new Error(`${name}: shape ${t.shape} but ${t.data.length} values`);
          }
        }
      },
      typed,
      3,
    );
    if (s.ok === 0 || s.rejected === 0) throw new Error(`outcomes: ${JSON.stringify(s)}`);
    console.log(`safetensors: ${JSON.stringify(s)}`);
  },
);

Deno.test("IDX reader: 500 seeded mutations of a gzipped file each end in a DataError or parse", async () => {
  const gz = new Uint8Array(gzipSync(_idxImages(5)));
  const dir = await Deno.makeTempDir();
  try {
    const r = mulberry32(4), mutators = _mutators([4, 8], false);
    let rejected = 0;
    for (let i = 0; i < 500; i++) {
      const path = join(dir, "f.idx.gz");
      await Deno.writeFile(path, mutators[r() % mutators.length](gz, r));
      try {
        await readIdxImages(path);
      } catch (e) {
        if (!(e instanceof DataError && e.message.includes(path))) {
          throw new Error(`case ${i}: ${(e as Error).name}: ${(e as Error).message}`);
        }
        rejected++;
      }
    }
    if (rejected === 0) throw new Error("no mutation was rejected: the fuzzing reached nothing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
