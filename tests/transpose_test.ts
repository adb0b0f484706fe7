import { deepStrictEqual as assertEquals, rejects } from "node:assert";
import { Transpose } from "../src/ops/transpose.ts";
import { gpuTest, rng, uniform } from "./helpers.ts";

/** dst (B, C, R) from src (B, R, C), in f64 on the host: the reference of transpose.wgsl. */
function transposeRef(src: Float32Array, batch: number, rows: number, cols: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        dst[(b * cols + c) * rows + r] = src[(b * rows + r) * cols + c];
      }
    }
  }
  return dst;
}

gpuTest(
  "Transpose moves every entry of odd-shaped batches exactly where the reference does",
  async (gpu) => {
    // 1 and 7 and 33 and 257 break indexing; (3, 257, 65) gives many workgroups (3 x 65 rows).
    const shapes: [number, number, number][] = [[1, 1, 1], [1, 7, 33], [2, 33, 7], [3, 257, 65]];
    const random = rng(5);
    for (const [batch, rows, cols] of shapes) {
      const src = Float32Array.from(uniform(random, batch * rows * cols, -1, 1));
      const a = gpu.storage("src", src), b = gpu.storage("dst", src.length * 4);
      const op = await Transpose.create(gpu, batch, rows, cols);
      const rec = gpu.record();
      op.run(rec, b, a);
      await rec.submit();
      // A permutation copies bits: exact equality is the right test here.
      assertEquals(
        (await gpu.readF32(b)).subarray(0, src.length),
        transposeRef(src, batch, rows, cols),
        `${batch}x${rows}x${cols}`,
      );
      op.destroy();
      a.destroy();
      b.destroy();
    }
  },
);

gpuTest("Transpose.create rejects a shape that is not positive integers", async (gpu) => {
  for (const [batch, rows, cols] of [[0, 2, 2], [1, 1.5, 2], [1, 2, -1]]) {
    await rejects(Transpose.create(gpu, batch, rows, cols), RangeError);
  }
});
