import type { Gpu, Tensor } from "../src/gpu/gpu.ts";
import { deepStrictEqual, rejects } from "node:assert";
import {
  CONV_TRANSPOSE_SUBGROUP_LANES,
  ConvTranspose2d,
  type ConvTranspose2dOptions,
  convTransposeSubgroupKernels,
  type ConvTransposeVariant,
  convTransposeVariantFor,
} from "../src/ops/conv_transpose2d.ts";
import {
  convTranspose2dBackward,
  convTranspose2dForward,
  convTranspose2dOutSize,
} from "../src/reference/conv_transpose2d.ts";
import { assertClose, f32, gpuTest, normal, numericGrad, rng } from "./helpers.ts";

const dims = (
  batch: number,
  inChannels: number,
  outChannels: number,
  height: number,
  width: number,
  kernel: number,
  stride: number,
  pad: number,
): ConvTranspose2dOptions => ({
  batch,
  inChannels,
  outChannels,
  height,
  width,
  kernel,
  stride,
  pad,
});

const name = (d: ConvTranspose2dOptions) =>
  `N${d.batch} ${d.inChannels}->${d.outChannels} ${d.height}x${d.width} ` +
  `k${d.kernel} s${d.stride} p${d.pad}`;

Deno.test("convTranspose2d reference backward matches central differences in f64", () => {
  const rand = rng(1);
  for (
    const d of [
      dims(2, 3, 2, 1, 1, 5, 2, 1), // the decoder's first layer: 1x1 -> 3x3
      dims(1, 2, 3, 3, 3, 5, 2, 1), // 3x3 -> 7x7
      dims(2, 2, 2, 3, 2, 4, 3, 2),
      dims(1, 2, 3, 4, 3, 3, 1, 0),
    ]
  ) {
    const { inChannels: C, outChannels: OC, kernel: K } = d;
    const OH = convTranspose2dOutSize(d.height, K, d.stride, d.pad);
    const OW = convTranspose2dOutSize(d.width, K, d.stride, d.pad);
    const x = normal(rand, d.batch * C * d.height * d.width);
    const w = normal(rand, C * OC * K * K);
    const b = normal(rand, OC);
    const g = normal(rand, d.batch * OC * OH * OW);
    const loss = (xx: Float64Array, ww: Float64Array, bb: Float64Array) =>
      convTranspose2dForward(d, xx, ww, bb).reduce((s, v, i) => s + v * g[i], 0);
    const { dx, dw, db } = convTranspose2dBackward(d, g, x, w);
    const tol = { atol: 1e-7, rtol: 1e-6 };
    assertClose(`dx ${name(d)}`, dx, numericGrad((v) => loss(v, w, b), x), tol);
    assertClose(`dw ${name(d)}`, dw, numericGrad((v) => loss(x, v, b), w), tol);
    assertClose(`db ${name(d)}`, db, numericGrad((v) => loss(x, w, v), b), tol);
  }
});

/** Tensors inside shared flat buffers at 256-byte-aligned offsets, as parameters live. */
function _ranges(gpu: Gpu, label: string, parts: Float32Array[]): Tensor[] {
  const offsets: number[] = [];
  let bytes = 256; // nothing at offset 0, so a kernel that ignores offsets reads garbage
  for (const p of parts) {
    offsets.push(bytes);
    bytes += Math.ceil(Math.max(p.byteLength, 4) / 256) * 256;
  }
  const buffer = gpu.storage(label, bytes);
  parts.forEach((p, i) => gpu.write(buffer, p, offsets[i]));
  return parts.map((p, i) => ({ buffer, offset: offsets[i], size: Math.max(p.byteLength, 4) }));
}

async function _read(gpu: Gpu, t: Tensor, length: number): Promise<Float32Array> {
  if (t instanceof GPUBuffer) return await gpu.readF32(t, 0, length);
  return await gpu.readF32(t.buffer, (t.offset ?? 0) / 4, length);
}

/** Runs forward and backward on the GPU and compares with the f64 reference. */
async function _check(
  gpu: Gpu,
  d: ConvTranspose2dOptions,
  seed: number,
  variant?: ConvTransposeVariant,
): Promise<void> {
  const rand = rng(seed);
  const { inChannels: C, outChannels: OC, kernel: K } = d;
  const op = await ConvTranspose2d.create(gpu, d, variant);
  const OH = op.outHeight, OW = op.outWidth;
  const nx = d.batch * C * d.height * d.width, ny = d.batch * OC * OH * OW;
  const x = f32(normal(rand, nx)), w = f32(normal(rand, C * OC * K * K).map((v) => v * 0.2));
  const b = f32(normal(rand, OC)), dy = f32(normal(rand, ny));
  const bx = gpu.storage("x", x), bdy = gpu.storage("dy", dy);
  const by = gpu.storage("y", ny * 4), bdx = gpu.storage("dx", nx * 4);
  const [tw, tb] = _ranges(gpu, "params", [w, b]);
  const [tdw, tdb] = _ranges(gpu, "grads", [new Float32Array(w.length), new Float32Array(OC)]);
  const rec = gpu.record();
  op.forward(rec, by, bx, tw, tb);
  op.backward(rec, bdx, tdw, tdb, bdy, bx, tw);
  await rec.submit();
  // The f32 inputs are what the kernels saw: the reference gets exactly those.
  const [x64, w64, b64, dy64] = [x, w, b, dy].map((a) => Float64Array.from(a));
  const ref = convTranspose2dBackward(d, dy64, x64, w64);
  const tol = { atol: 1e-4, rtol: 1e-4 };
  const label = `${name(d)}${variant ? ` ${JSON.stringify(variant)}` : ""}`;
  assertClose(
    `y ${label}`,
    await gpu.readF32(by, 0, ny),
    convTranspose2dForward(d, x64, w64, b64),
    tol,
  );
  assertClose(`dx ${label}`, await gpu.readF32(bdx, 0, nx), ref.dx, tol);
  assertClose(`dw ${label}`, await _read(gpu, tdw, w.length), ref.dw, { atol: 1e-3, rtol: 1e-4 });
  assertClose(`db ${label}`, await _read(gpu, tdb, OC), ref.db, { atol: 1e-3, rtol: 1e-4 });
  op.destroy();
  for (const t of [bx, bdy, by, bdx, tw, tdw]) (t instanceof GPUBuffer ? t : t.buffer).destroy();
}

gpuTest(
  "ConvTranspose2d matches the f64 reference along the decoder chain 1->3->7->15->31",
  async (gpu) => {
    const channels = [3, 5, 6, 2, 1];
    const sizes = [1, 3, 7, 15];
    for (const batch of [1, 3]) {
      for (let l = 0; l < 4; l++) {
        const d = dims(batch, channels[l], channels[l + 1], sizes[l], sizes[l], 5, 2, 1);
        await _check(gpu, d, 10 * batch + l);
      }
    }
  },
);

gpuTest(
  "ConvTranspose2d matches the f64 reference for other strides, pads and kernels",
  async (gpu) => {
    const cases = [
      dims(2, 3, 5, 4, 5, 3, 1, 0),
      dims(3, 2, 7, 4, 3, 4, 3, 2),
      dims(2, 5, 3, 5, 2, 4, 2, 1), // non-square input
      dims(1, 7, 9, 6, 9, 3, 2, 0),
      dims(5, 1, 33, 1, 1, 5, 2, 1), // the first decoder layer with a 1-D latent
    ];
    for (const [i, d] of cases.entries()) await _check(gpu, d, 100 + i);
  },
);

gpuTest("ConvTranspose2d matches the f64 reference with every register-block size", async (gpu) => {
  // Channel counts that leave partial blocks; 5 images leave a partial image quad (OQ = 0)
  // and an uneven last chunk when the batch is split in 3.
  const d = dims(5, 17, 19, 5, 9, 5, 2, 1);
  const weightBlocks = [[1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2]];
  for (const [i, OQ] of [0, 1, 2, 4].entries()) {
    for (const PQ of [1, 2]) {
      const [wi, wo] = weightBlocks[(2 * i + PQ) % weightBlocks.length];
      const blocks = 25 * Math.ceil(17 / (4 * wi)) * (wo === 0 ? 19 : Math.ceil(19 / (4 * wo)));
      const variant: ConvTransposeVariant = {
        wg: 64,
        forward: { OQ, PQ },
        backwardInput: { IQ: Math.max(OQ, 1), PQ },
        backwardWeight: { IQ: wi, OQ: wo },
        reduceLanes: [1, 3 * blocks, 1e9][(i + PQ) % 3], // 1, 3 or 5 chunks
        weightGradViaConv2d: (i + PQ) % 2 === 0,
        subgroups: false,
        gemm: { forward: false, backward: false },
      };
      await _check(gpu, d, 200 + OQ * 10 + PQ, variant);
    }
  }
});

gpuTest(
  "ConvTranspose2d's subgroup kernels match the f64 reference at every block size",
  async (gpu) => {
    if (gpu.subgroupSize !== CONV_TRANSPOSE_SUBGROUP_LANES) {
      // Without 8-lane subgroups the variant must be refused.
      await rejects(
        () =>
          ConvTranspose2d.create(gpu, dims(8, 4, 4, 3, 3, 3, 2, 1), {
            ...convTransposeVariantFor(gpu, dims(8, 4, 4, 3, 3, 3, 2, 1)),
            subgroups: true,
          }),
        (e: Error) => e instanceof RangeError && e.message.includes("needs subgroups of 8"),
      );
      return;
    }
    // Batch 8 makes every forward and input-gradient block eligible; partial channel blocks.
    const d = dims(8, 17, 19, 5, 9, 5, 2, 1);
    for (const [i, OQ] of [2, 4].entries()) {
      for (const PQ of [1, 2]) {
        const variant: ConvTransposeVariant = {
          ...convTransposeVariantFor(gpu, d),
          forward: { OQ, PQ },
          backwardInput: { IQ: [1, 2, 4][(2 * i + PQ) % 3], PQ },
          subgroups: true,
        };
        const sub = convTransposeSubgroupKernels(d.batch, variant);
        if (!sub.forward || !sub.backwardInput) throw new Error(`not run: ${JSON.stringify(sub)}`);
        await _check(gpu, d, 500 + OQ * 10 + PQ, variant);
      }
    }
  },
);

gpuTest(
  "ConvTranspose2d's GEMM path matches the f64 reference, alone and beside the direct kernels",
  async (gpu) => {
    // Odd channel counts (Linear's element reads), strides 1-3, pads past the kernel's reach,
    // non-square inputs, the decoder's 3 x 3 layer and its one-channel last layer.
    const cases = [
      dims(3, 5, 7, 3, 3, 5, 2, 1),
      dims(2, 3, 5, 4, 5, 3, 1, 0),
      dims(3, 2, 7, 4, 3, 4, 3, 2),
      dims(2, 5, 3, 5, 2, 4, 2, 1),
      dims(8, 128, 64, 3, 3, 5, 2, 1),
      dims(4, 32, 1, 15, 15, 5, 2, 1),
    ];
    const paths = [[true, true], [true, false], [false, true]];
    for (const [i, d] of cases.entries()) {
      const [forward, backward] = paths[i % paths.length];
      const variant = { ...convTransposeVariantFor(gpu, d), gemm: { forward, backward } };
      await _check(gpu, d, 600 + i, variant);
    }
    // A frozen layer's input gradient alone, by the GEMM path.
    const d = cases[0];
    const op = await ConvTranspose2d.create(gpu, d, {
      ...convTransposeVariantFor(gpu, d),
      gemm: { forward: false, backward: true },
    });
    const rand = rng(700);
    const nx = d.batch * d.inChannels * d.height * d.width;
    const ny = d.batch * d.outChannels * op.outHeight * op.outWidth;
    const x = f32(normal(rand, nx)), dy = f32(normal(rand, ny));
    const w = f32(normal(rand, d.inChannels * d.outChannels * d.kernel ** 2));
    const [bdy, bw, bdx] = [gpu.storage("dy", dy), gpu.storage("w", w), gpu.storage("dx", nx * 4)];
    const rec = gpu.record();
    op.backwardInput(rec, bdx, bdy, bw);
    await rec.submit();
    const ref = convTranspose2dBackward(
      d,
      Float64Array.from(dy),
      Float64Array.from(x),
      Float64Array.from(w),
    );
    assertClose("dx alone (gemm)", await gpu.readF32(bdx, 0, nx), ref.dx, {
      atol: 1e-4,
      rtol: 1e-4,
    });
    op.destroy();
    for (const b of [bdy, bw, bdx]) b.destroy();
  },
);

gpuTest(
  "ConvTranspose2d refuses a GEMM path whose cols would not fit in one buffer",
  async (gpu) => {
    const limit = gpu.limits.maxStorageBufferBindingSize;
    // N H W x OC K K floats just past the limit.
    const d = dims(Math.ceil(limit / (4 * 64 * 25)) + 1, 1, 64, 1, 1, 5, 2, 1);
    await rejects(
      () =>
        ConvTranspose2d.create(gpu, d, {
          ...convTransposeVariantFor(gpu, d),
          gemm: { forward: true, backward: false },
        }),
      (e: Error) => e instanceof RangeError && e.message.includes("maxStorageBufferBindingSize"),
    );
    deepStrictEqual(convTransposeVariantFor(gpu, d).gemm, { forward: false, backward: false });
  },
);

gpuTest(
  "ConvTranspose2d matches the f64 reference on the decoder's layer shapes at batch 8",
  async (gpu) => {
    const latent = 16;
    const layers = [
      dims(8, latent, 128, 1, 1, 5, 2, 1),
      dims(8, 128, 64, 3, 3, 5, 2, 1),
      dims(8, 64, 32, 7, 7, 5, 2, 1),
      dims(8, 32, 1, 15, 15, 5, 2, 1),
    ];
    for (const [i, d] of layers.entries()) await _check(gpu, d, 300 + i);
  },
);

gpuTest("ConvTranspose2d spans more than 65,535 workgroups (2-D grid)", async (gpu) => {
  // One invocation per workgroup: the forward and input-gradient dispatches need 66,048 each.
  const d = dims(258, 2, 3, 32, 32, 3, 1, 1);
  await _check(gpu, d, 400, {
    ...convTransposeVariantFor(gpu, d),
    wg: 1,
    forward: { OQ: 1, PQ: 1 },
    backwardInput: { IQ: 1, PQ: 1 },
  });
});

Deno.test("ConvTranspose2d rejects shapes with no output", async () => {
  const gpu = null as unknown as Gpu; // validation runs before any GPU use
  const bad = dims(1, 1, 1, 1, 1, 2, 1, 1);
  let message = "";
  try {
    await ConvTranspose2d.create(gpu, bad);
  } catch (e) {
    message = (e as Error).message;
  }
  if (!message.includes("output would be 0 x 0")) throw new Error(`unexpected: "${message}"`);
});
