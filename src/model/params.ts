/**
 * Named tensors in one flat f32 buffer. Parameters, their gradients and the
 * two Adam moments each live in one buffer with the same layout, so zero-grad
 * and Adam are one dispatch each and a checkpoint is a copy of the buffer.
 * Offsets are multiples of 64 floats (256 bytes), WebGPU's largest
 * minStorageBufferOffsetAlignment, so any tensor can be bound as a range.
 */

import type { Gpu } from "../gpu/gpu.ts";

const ALIGN = 64;

/** Where one named tensor lives in a flat buffer. */
export interface TensorSpec {
  /** The tensor's name, e.g. "enc.fc1.weight". */
  name: string;
  /** Its shape, e.g. (out, in) for a linear weight. */
  shape: number[];
  /** Element offset in the flat buffer. */
  offset: number;
  /** Number of elements: the product of `shape`. */
  size: number;
}

/**
 * The layout of a flat f32 buffer of named tensors, each at an offset aligned to 64 floats
 * (256 bytes), so that any tensor binds as a range of the buffer.
 */
export class ParamLayout {
  readonly #specs = new Map<string, TensorSpec>();
  #total = 0;

  /** Appends a tensor; returns its spec. */
  add(name: string, shape: number[]): TensorSpec {
    if (this.#specs.has(name)) throw new Error(`Cannot add tensor ${name}: the name is taken`);
    const size = shape.reduce((a, b) => a * b, 1);
    const spec = { name, shape: [...shape], offset: this.#total, size };
    this.#specs.set(name, spec);
    this.#total += Math.ceil(size / ALIGN) * ALIGN;
    return spec;
  }

  /** The spec of tensor `name`; throws naming the tensors there are. */
  get(name: string): TensorSpec {
    const spec = this.#specs.get(name);
    if (!spec) {
      throw new Error(`No tensor named ${name}; have ${[...this.#specs.keys()].join(", ")}`);
    }
    return spec;
  }

  /** Total elements including alignment padding. */
  get total(): number {
    return this.#total;
  }

  /** Every tensor's spec, in the order they were added. */
  get specs(): TensorSpec[] {
    return [...this.#specs.values()];
  }

  /** Number of real (unpadded) elements. */
  get count(): number {
    return this.specs.reduce((a, s) => a + s.size, 0);
  }

  /** The range of `buffer` holding tensor `name`. */
  binding(buffer: GPUBuffer, name: string): GPUBufferBinding {
    const s = this.get(name);
    return { buffer, offset: s.offset * 4, size: s.size * 4 };
  }

  /** One zeroed f32 buffer with this layout. */
  allocate(gpu: Gpu, label: string): GPUBuffer {
    return gpu.storage(label, this.#total * 4);
  }

  /** Copies each tensor of a flat host array out into its own array. */
  split(flat: Float32Array): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const s of this.specs) out[s.name] = flat.slice(s.offset, s.offset + s.size);
    return out;
  }

  /** Places named arrays into one flat host array (padding zero). */
  join(tensors: Record<string, ArrayLike<number>>): Float32Array {
    const flat = new Float32Array(this.#total);
    for (const s of this.specs) {
      const t = tensors[s.name];
      if (!t) throw new Error(`Cannot assemble parameters: tensor ${s.name} is missing`);
      if (t.length !== s.size) {
        throw new Error(
          `Cannot assemble parameters: ${s.name} has ${t.length} values, needs ${s.size}`,
        );
      }
      flat.set(t, s.offset);
    }
    return flat;
  }
}

/**
 * PyTorch's default nn.Linear initialisation: weight and bias both
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from a seeded generator.
 */
export function initUniform(n: number, fanIn: number, rand: () => number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rand() - 1) * bound;
  return out;
}
