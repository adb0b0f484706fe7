import { deepStrictEqual as assertEquals, ok as assert, rejects, throws } from "node:assert";
import { join } from "node:path";
import {
  type Checkpoint,
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
  expectTensor,
  loadSafetensors,
  saveSafetensors,
  type TensorEntry,
} from "../src/safetensors.ts";
import { writeFileAtomic } from "../src/io.ts";
import { courseAlternatives } from "../src/train/checkpoint.ts";

const enc = new TextEncoder();

/** A file built by hand from the spec: u64 LE header length, header text, data bytes. */
function handBuilt(header: string, data: Uint8Array | number[]): Uint8Array {
  const h = enc.encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const f32Bytes = (v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A validator for node:assert's throws/rejects: the class and a message fragment. */
function errorLike(cls: new (...a: never[]) => Error, fragment: string) {
  return (e: unknown) => {
    assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert(e.message.includes(fragment), `"${e.message}" lacks "${fragment}"`);
    return true;
  };
}

function expectCheckpointError(fn: () => unknown, fragment: string): void {
  throws(fn, errorLike(CheckpointError, fragment));
}

/** Seeded values in [-1, 1); not helpers.ts, whose import opens the GPU these tests never use. */
function values(seed: number, n: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 31 - 1;
  });
}

/** Thirteen tensors of mixed dtypes, odd sizes, an empty one and scalars. */
function sampleTensors(): Record<string, TensorEntry> {
  const t: Record<string, TensorEntry> = {
    params: { dtype: "F32", shape: [257], data: values(1, 257) },
    "enc.w": { dtype: "F32", shape: [7, 33], data: values(2, 231) },
    special: { dtype: "F32", shape: [4], data: Float32Array.of(NaN, -0, Infinity, -Infinity) },
    f64: { dtype: "F64", shape: [3, 1], data: Float64Array.of(Math.PI, -1e-300, 2 ** 60) },
    rng_state: { dtype: "U32", shape: [4], data: Uint32Array.of(0, 1, 0xffffffff, 0x9e3779b9) },
    step: { dtype: "I32", shape: [], data: Int32Array.of(-12345) },
    tracked: { dtype: "I64", shape: [], data: BigInt64Array.of(-(2n ** 62n) - 3n) },
    labels: { dtype: "U8", shape: [7], data: Uint8Array.of(0, 1, 2, 3, 255, 9, 7) },
    empty: { dtype: "F32", shape: [0, 5], data: new Float32Array(0) },
    ["__proto__"]: { dtype: "I32", shape: [1], data: Int32Array.of(42) },
  };
  for (let i = 0; i < 3; i++) {
    t[`layer${i}.b`] = {
      dtype: "F32",
      shape: [i + 1],
      data: values(3 + i, i + 1),
    };
  }
  return t;
}

Deno.test("saveSafetensors and loadSafetensors round-trip every dtype, bit for bit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "nested", "model.safetensors");
    const tensors = sampleTensors();
    const metadata = { config: JSON.stringify({ latent: 2 }), epoch: "3", "ünï": "çødé" };
    await saveSafetensors(path, tensors, metadata);
    const ck = await loadSafetensors(path);
    assertEquals(ck.metadata, metadata);
    assertEquals(Object.keys(ck.tensors).sort(), Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const got = ck.tensors[name];
      assertEquals(got.dtype, t.dtype, name);
      assertEquals(got.shape, t.shape, name);
      assertEquals(got.data.constructor, t.data.constructor, name);
      assertEquals(bytesOf(got.data), bytesOf(t.data), name);
    }
    // Header padded to 8 and every tensor aligned to its element size, as the spec advises.
    const bytes = await Deno.readFile(path);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assertEquals(n % 8, 0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    for (const [name, t] of Object.entries(tensors)) {
      assertEquals(header[name].data_offsets[0] % t.data.BYTES_PER_ELEMENT, 0, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encodeSafetensors writes the same bytes as the reference serializer", () => {
  // The layouts the safetensors crate's own tests expect (tensor.rs, test_serialization,
  // test_serialization_forced_alignement, test_empty): no padding when the header is
  // already a multiple of 8, spaces otherwise, __metadata__ first.
  const data = Float32Array.of(0, 1, 2, 3, 4, 5);
  assertEquals(
    encodeSafetensors({ "attn.0": { dtype: "F32", shape: [1, 2, 3], data } }),
    handBuilt('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', bytesOf(data)),
  );
  assertEquals(
    encodeSafetensors({ attn0: { dtype: "F32", shape: [1, 1, 2, 3], data } }),
    handBuilt(
      '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}' + " ".repeat(7),
      bytesOf(data),
    ),
  );
  assertEquals(encodeSafetensors({}), handBuilt("{}" + " ".repeat(6), []));
  assertEquals(
    encodeSafetensors({}, { framework: "pt" }),
    handBuilt('{"__metadata__":{"framework":"pt"}}' + " ".repeat(5), []),
  );
  // Descending dtype, then name: I64 before F64 before F32 before U32 before I32 before U8.
  const mixed = encodeSafetensors({
    a: { dtype: "U8", shape: [1], data: Uint8Array.of(1) },
    b: { dtype: "F32", shape: [1], data: Float32Array.of(1) },
    c: { dtype: "I32", shape: [1], data: Int32Array.of(1) },
    d: { dtype: "F64", shape: [1], data: Float64Array.of(1) },
    e: { dtype: "U32", shape: [1], data: Uint32Array.of(1) },
    f: { dtype: "F32", shape: [1], data: Float32Array.of(1) },
    g: { dtype: "I64", shape: [1], data: BigInt64Array.of(1n) },
  });
  const n = Number(new DataView(mixed.buffer).getBigUint64(0, true));
  const keys = Object.keys(JSON.parse(new TextDecoder().decode(mixed.subarray(8, 8 + n))));
  assertEquals(keys, ["g", "d", "b", "f", "e", "c", "a"]);
});

Deno.test("loadSafetensors reads hand-built spec files: unpadded header, any key order", () => {
  // The example file in the safetensors crate's docs: a 60-byte header, no padding.
  const ref = handBuilt(
    '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}',
    new Uint8Array(16),
  );
  assertEquals(ref[0], 60);
  const a = decodeSafetensors(ref);
  assertEquals(a.tensors.test.shape, [2, 2]);
  assertEquals(a.tensors.test.data, new Int32Array(4));
  assertEquals(a.metadata, {});

  // Header keys out of offset order, metadata last, pretty-printed with newlines.
  const data = new Uint8Array([...f32Bytes([1.5, -2]), 7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  const header = `{
    "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "z": {"dtype": "I32", "shape": [1, 1], "data_offsets": [12, 16]},
    "k": {"dtype": "U32", "shape": [1], "data_offsets": [8, 12]},
    "__metadata__": {"format": "pt"}
  }`;
  const b = decodeSafetensors(handBuilt(header, data), "hand.safetensors");
  assertEquals(b.path, "hand.safetensors");
  assertEquals(b.metadata, { format: "pt" });
  assertEquals(b.tensors.w.data, Float32Array.of(1.5, -2));
  assertEquals(b.tensors.k.data, Uint32Array.of(7));
  assertEquals(b.tensors.z.data, Int32Array.of(-1));
  assertEquals(expectTensor(b, "w", "F32", [2]), Float32Array.of(1.5, -2));
});

Deno.test("loadSafetensors names the missing file and the caller's hint", async () => {
  const path = join(await Deno.makeTempDir(), "none.safetensors");
  await rejects(
    () => loadSafetensors(path, { hint: "run `deno task train-mlp` first" }),
    errorLike(
      CheckpointError,
      `Cannot load checkpoint ${path}: no such file; run \`deno task train-mlp\` first`,
    ),
  );
  await rejects(() => loadSafetensors(Deno.cwd()), errorLike(CheckpointError, "directory"));
});

Deno.test("decodeSafetensors rejects truncated files with the tensor count and byte positions", () => {
  const good = encodeSafetensors(sampleTensors());
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  const cut = good.subarray(0, good.length - 100);
  expectCheckpointError(
    () => decodeSafetensors(cut, "x.safetensors"),
    `Cannot load checkpoint x.safetensors: header names 13 tensors ending at byte ${good.length}, ` +
      `file holds ${cut.length} bytes`,
  );
  expectCheckpointError(
    () => decodeSafetensors(good.subarray(0, 8 + n - 1)),
    `header length field says ${n} bytes, file holds ${8 + n - 1} bytes`,
  );
  expectCheckpointError(() => decodeSafetensors(good.subarray(0, 5)), "file holds 5 bytes");
  expectCheckpointError(
    () => decodeSafetensors(new Uint8Array([...good, 0, 0, 0])),
    "trailing bytes",
  );
});

Deno.test("decodeSafetensors rejects a corrupt header with a CheckpointError naming the problem", () => {
  const t = (shape: number[], a: number, b: number, dtype = "F32") =>
    JSON.stringify({ dtype, shape, data_offsets: [a, b] });
  const cases: [string, Uint8Array, string][] = [
    ["bad JSON", handBuilt('{"a":{"dtype":"F32",', []), "header is not valid UTF-8 JSON"],
    ["invalid UTF-8", handBuilt("{}", []).map((v, i) => (i === 8 ? 0xff : v)), "UTF-8 JSON"],
    ["not an object", handBuilt("[1,2]", []), "header is not a JSON object"],
    [
      "overlap",
      handBuilt(`{"a":${t([4], 0, 16)},"b":${t([4], 8, 24)}}`, new Uint8Array(24)),
      "tensors a and b overlap",
    ],
    [
      "hole",
      handBuilt(`{"a":${t([2], 0, 8)},"b":${t([2], 16, 24)}}`, new Uint8Array(24)),
      "no tensor covers data bytes 8..16 before b",
    ],
    [
      "end before begin",
      handBuilt(`{"a":${t([0], 8, 4)}}`, new Uint8Array(8)),
      "tensor a has data_offsets [8, 4], end before begin",
    ],
    [
      "shape product",
      handBuilt(`{"params":${t([3], 0, 16)}}`, new Uint8Array(16)),
      "tensor params is F32 [3] = 12 bytes, but its data_offsets [0, 16] span 16",
    ],
    [
      "dtype size",
      handBuilt(`{"a":${t([4], 0, 16, "F64")}}`, new Uint8Array(16)),
      "tensor a is F64 [4] = 32 bytes",
    ],
    [
      "unknown dtype",
      handBuilt(`{"a":${t([2], 0, 4, "BF16")}}`, new Uint8Array(4)),
      'tensor a has dtype "BF16"; supported:',
    ],
    ["negative shape", handBuilt(`{"a":${t([-1], 0, 0)}}`, []), "tensor a has shape [-1]"],
    [
      "offsets not a pair",
      handBuilt('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', []),
      "not [begin, end]",
    ],
    ["tensor not an object", handBuilt('{"a":3}', []), "tensor a is not an object"],
    [
      "metadata value",
      handBuilt('{"__metadata__":{"epoch":3}}', []),
      '__metadata__ "epoch" is 3, not a string',
    ],
    [
      "header too long",
      new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 0x7b]),
      "more than the 100000000-byte limit",
    ],
  ];
  for (const [what, bytes, message] of cases) {
    try {
      decodeSafetensors(bytes, "c.safetensors");
      throw new Error(`${what}: no error`);
    } catch (e) {
      assert(e instanceof CheckpointError, `${what}: got ${e}`);
      assert(e.message.startsWith("Cannot load checkpoint c.safetensors: "), e.message);
      assert(e.message.includes(message), `${what}: "${e.message}" lacks "${message}"`);
    }
  }
});

Deno.test("expectTensor rejects a tensor the model cannot use, saying what it needs", () => {
  const ck: Checkpoint = decodeSafetensors(
    encodeSafetensors({ params: { dtype: "F32", shape: [100], data: new Float32Array(100) } }),
    "m.safetensors",
  );
  assertEquals(expectTensor(ck, "params", "F32", [100]).length, 100);
  expectCheckpointError(
    () => expectTensor(ck, "params", "F32", [120]),
    "Cannot load checkpoint m.safetensors: tensor params has shape [100], model needs [120]",
  );
  expectCheckpointError(
    () => expectTensor(ck, "params", "F32", [10, 10]),
    "has shape [100], model needs [10, 10]",
  );
  expectCheckpointError(() => expectTensor(ck, "params", "U32", [100]), "is F32, model needs U32");
  expectCheckpointError(
    () => expectTensor(ck, "adam_m", "F32", [100]),
    "no tensor adam_m (it holds params)",
  );
  expectCheckpointError(() => expectTensor(ck, "constructor", "F32", [1]), "no tensor constructor");
});

Deno.test("encodeSafetensors rejects tensors whose data does not match dtype and shape", () => {
  throws(
    () => encodeSafetensors({ w: { dtype: "F32", shape: [3], data: new Float32Array(2) } }),
    errorLike(RangeError, "tensor w has 2 values, shape [3] needs 3"),
  );
  throws(
    () =>
      encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float64Array(2) as never } }),
    errorLike(TypeError, "is F32 but its data is a Float64Array"),
  );
  throws(
    () => encodeSafetensors({ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array() } }),
    errorLike(RangeError, "reserved"),
  );
});

Deno.test("writeFileAtomic replaces the file whole and leaves no temp file, even on failure", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a", "b", "model.safetensors");
    await saveSafetensors(path, sampleTensors(), { epoch: "1" });
    await saveSafetensors(path, sampleTensors(), { epoch: "2" });
    assertEquals((await loadSafetensors(path)).metadata.epoch, "2");
    const names = [...Deno.readDirSync(join(dir, "a", "b"))].map((e) => e.name);
    assertEquals(names, ["model.safetensors"]);

    // Renaming onto a non-empty directory fails: the error surfaces, the temp file goes.
    const blocker = join(dir, "blocker");
    await Deno.mkdir(join(blocker, "inside"), { recursive: true });
    await rejects(() => writeFileAtomic(blocker, "text"));
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(left, ["a", "blocker"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("courseAlternatives points a missing default at the budgeted courses' copies", async () => {
  const dir = await Deno.makeTempDir(), here = Deno.cwd();
  try {
    Deno.chdir(dir);
    await Deno.mkdir("out/quick/train-mlp", { recursive: true });
    await Deno.writeTextFile("out/quick/train-mlp/model.safetensors", "x");
    assertEquals(courseAlternatives("out/train-mlp/model.safetensors"), [
      "out/quick/train-mlp/model.safetensors",
    ]);
    assertEquals(courseAlternatives("out/train-bernoulli/model.safetensors"), []);
    assertEquals(courseAlternatives("elsewhere/train-mlp/model.safetensors"), []);
    await Deno.mkdir("out/train-mlp");
    await Deno.writeTextFile("out/train-mlp/model.safetensors", "x");
    assertEquals(courseAlternatives("out/train-mlp/model.safetensors"), [], "it is there");
  } finally {
    Deno.chdir(here);
    await Deno.remove(dir, { recursive: true });
  }
});
