/**
 * Typed writers for the per-kernel uniform structs. Each kernel's WGSL declares
 * a struct of 4-byte scalars (u32, i32, f32); its TS mirror is
 * `struct({ field: "u32", ... })` with the fields in the same order, and
 * `bytes()` packs a record of values into the std140-compatible layout
 * (4-byte scalars, size rounded up to 16).
 */

/** The WGSL scalar type of one uniform field (all 4 bytes). */
export type ScalarType = "u32" | "i32" | "f32";
/** A uniform struct's fields in WGSL declaration order, each with its scalar type. */
export type StructLayout = Record<string, ScalarType>;
/** One number per field of layout L: the values to write. */
export type StructValues<L extends StructLayout> = { [K in keyof L]: number };

/** The TS mirror of one WGSL uniform struct, made by `struct`. */
export interface UniformStruct<L extends StructLayout> {
  /** The fields, in declaration order. */
  readonly layout: L;
  /** Bytes of the packed struct: 4 per field, rounded up to 16 (at least 16). */
  readonly byteSize: number;
  /** Packs `values` in layout order; throws on a non-finite value or one outside its type. */
  bytes(values: StructValues<L>): ArrayBuffer;
}

/** Declares the TS mirror of a WGSL uniform struct. */
export function struct<L extends StructLayout>(layout: L): UniformStruct<L> {
  const fields = Object.entries(layout);
  const byteSize = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  return {
    layout,
    byteSize,
    bytes(values) {
      const buf = new ArrayBuffer(byteSize);
      const view = new DataView(buf);
      fields.forEach(([name, type], i) => {
        const v = values[name];
        if (typeof v !== "number" || !Number.isFinite(v)) {
          throw new TypeError(`Cannot write uniform field "${name}": expected a number, got ${v}`);
        }
        if (type === "u32") {
          if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
            throw new RangeError(`Cannot write uniform field "${name}": ${v} is not a u32`);
          }
          view.setUint32(i * 4, v, true);
        } else if (type === "i32") {
          if (!Number.isInteger(v)) {
            throw new RangeError(`Cannot write uniform field "${name}": ${v} is not an i32`);
          }
          view.setInt32(i * 4, v, true);
        } else {
          view.setFloat32(i * 4, v, true);
        }
      });
      return buf;
    },
  };
}
