import {
  Conv2d,
  CONV2D_PAIRS,
  CONV2D_SUBGROUP_LANES,
  CONV2D_TAPS_UNIFORM_BYTES,
  conv2dForwardTapsFits,
  conv2dInputTapsParts,
  type Conv2dOptions,
  type Conv2dPair,
  type Conv2dVariant,
  conv2dWeightBlocksShareChannels,
} from "../src/ops/conv2d.ts";
import { deepStrictEqual, ok } from "node:assert";
import type { Gpu } from "../src/gpu/gpu.ts";
import {
  conv2dBackward,
  type Conv2dDims,
  conv2dForward,
  conv2dOutSize,
} from "../src/reference/conv2d.ts";
import { assertClose, f32, gpuTest, numericGrad, rng, uniform } from "./helpers.ts";

function dims(o: Conv2dOptions): Conv2dDims {
  return {
    batch: o.batch,
    inChannels: o.inChannels,
    outChannels: o.outChannels,
    height: o.height,
    width: o.width,
    kernelHeight: o.kernel,
    kernelWidth: o.kernel,
    stride: o.stride ?? 1,
    pad: o.pad ?? 0,
  };
}

const sizes = (o: Conv2dOptions, oh: number, ow: number) => ({
  x: o.batch * o.inChannels * o.height * o.width,
  w: o.outChannels * o.inChannels * o.kernel * o.kernel,
  y: o.batch * o.outChannels * oh * ow,
});

Deno.test("conv2d reference backward matches central differences in f64", () => {
  const rand = rng(11);
  const cases: Conv2dOptions[] = [
    { batch: 2, inChannels: 3, outChannels: 2, height: 5, width: 6, kernel: 3, stride: 1, pad: 1 },
    { batch: 1, inChannels: 2, outChannels: 3, height: 7, width: 6, kernel: 3, stride: 2, pad: 0 },
    { batch: 2, inChannels: 1, outChannels: 2, height: 6, width: 5, kernel: 5, stride: 2, pad: 2 },
  ];
  for (const o of cases) {
    const d = dims(o);
    const oh = conv2dOutSize(o.height, o.kernel, d.stride, d.pad);
    const ow = conv2dOutSize(o.width, o.kernel, d.stride, d.pad);
    const n = sizes(o, oh, ow);
    const x = uniform(rand, n.x), w = uniform(rand, n.w), b = uniform(rand, o.outChannels);
    const dy = uniform(rand, n.y);
    const loss = (xx: Float64Array, ww: Float64Array, bb: Float64Array) =>
      conv2dForward(d, xx, ww, bb).reduce((s, v, i) => s + v * dy[i], 0);
    const { dx, dw, db } = conv2dBackward(d, dy, x, w);
    const tol = { atol: 1e-7, rtol: 1e-6 };
    const label = JSON.stringify(o);
    assertClose(`dx ${label}`, dx, numericGrad((v) => loss(v, w, b), x), tol);
    assertClose(`dw ${label}`, dw, numericGrad((v) => loss(x, v, b), w), tol);
    assertClose(`db ${label}`, db, numericGrad((v) => loss(x, w, v), b), tol);
  }
});

/**
 * Runs forward and backward on the GPU for `o` with seeded inputs and compares y, dx, dw, db
 * with the f64 reference at the f32-rounded inputs. With `ranges`, w, b, dW and dB are
 * 256-byte-aligned ranges of shared flat buffers (as parameters and gradients are in training).
 */
async function checkAgainstReference(
  gpu: Gpu,
  o: Conv2dOptions,
  seed: number,
  { backward = true, ranges = false } = {},
): Promise<void> {
  const conv = await Conv2d.create(gpu, o);
  const d = dims(o);
  const n = sizes(o, conv.outHeight, conv.outWidth);
  const rand = rng(seed);
  const x = f32(uniform(rand, n.x)), w = f32(uniform(rand, n.w));
  const b = f32(uniform(rand, o.outChannels)), dy = f32(uniform(rand, n.y));
  const label = JSON.stringify(o);

  // Parameters live at aligned offsets of one buffer, as in training.
  const wOff = ranges ? 64 : 0; // floats; 256 bytes
  const bOff = ranges ? wOff + Math.ceil(n.w / 64) * 64 : 0;
  const flat = ranges ? new Float32Array(bOff + Math.ceil(o.outChannels / 64) * 64) : null;
  flat?.set(w, wOff);
  flat?.set(b, bOff);
  const params = flat ? gpu.storage("params", flat) : null;
  const grads = flat ? gpu.storage("grads", flat.length * 4) : null;
  const range = (buf: GPUBuffer, off: number, len: number) => ({
    buffer: buf,
    offset: off * 4,
    size: len * 4,
  });
  const bx = gpu.storage("x", x), by = gpu.storage("y", n.y * 4);
  const bw = params ? range(params, wOff, n.w) : gpu.storage("w", w);
  const bb = params ? range(params, bOff, o.outChannels) : gpu.storage("b", b);
  const bdy = gpu.storage("dy", dy), bdx = gpu.storage("dx", n.x * 4);
  const bdw = grads ? range(grads, wOff, n.w) : gpu.storage("dw", n.w * 4);
  const bdb = grads ? range(grads, bOff, o.outChannels) : gpu.storage("db", o.outChannels * 4);

  const rec = gpu.record();
  conv.forward(rec, by, bx, bw, bb);
  if (backward) conv.backward(rec, ranges ? null : bdx, bdw, bdb, bdy, bx, bw);
  await rec.submit();

  const xs = Float64Array.from(x), ws = Float64Array.from(w);
  const yRef = conv2dForward(d, xs, ws, Float64Array.from(b));
  // Each output sums C K K products of values in [-1, 1); f32 rounding grows with that count.
  const terms = o.inChannels * o.kernel * o.kernel;
  assertClose(`y ${label}`, await gpu.readF32(by, 0, n.y), yRef, {
    atol: 2e-7 * terms,
    rtol: 1e-5,
  });
  if (backward) {
    const ref = conv2dBackward(d, Float64Array.from(dy), xs, ws);
    if (!ranges) {
      const dxTerms = o.outChannels * o.kernel * o.kernel;
      assertClose(`dx ${label}`, await gpu.readF32(bdx, 0, n.x), ref.dx, {
        atol: 2e-7 * dxTerms,
        rtol: 1e-5,
      });
    }
    const dwTerms = o.batch * conv.outHeight * conv.outWidth;
    const readRange = (t: GPUBuffer | GPUBufferBinding, len: number) =>
      t instanceof GPUBuffer ? gpu.readF32(t, 0, len) : gpu.readF32(t.buffer, t.offset! / 4, len);
    assertClose(`dw ${label}`, await readRange(bdw, n.w), ref.dw, {
      atol: 2e-7 * dwTerms,
      rtol: 1e-5,
    });
    assertClose(`db ${label}`, await readRange(bdb, o.outChannels), ref.db, {
      atol: 2e-7 * dwTerms,
      rtol: 1e-5,
    });
  }
  for (const buf of [bx, by, bdy, bdx, bw, bb, bdw, bdb]) {
    if (buf instanceof GPUBuffer) buf.destroy();
  }
  params?.destroy();
  grads?.destroy();
}

gpuTest("conv2d forward and backward match the f64 reference on odd shapes", async (gpu) => {
  const cases: Conv2dOptions[] = [
    { batch: 1, inChannels: 1, outChannels: 1, height: 7, width: 9, kernel: 3, pad: 1 },
    { batch: 3, inChannels: 3, outChannels: 5, height: 7, width: 9, kernel: 3, pad: 1 },
    {
      batch: 3,
      inChannels: 5,
      outChannels: 3,
      height: 13,
      width: 13,
      kernel: 5,
      stride: 2,
      pad: 2,
    },
    { batch: 1, inChannels: 3, outChannels: 5, height: 13, width: 13, kernel: 5, pad: 0 },
    { batch: 3, inChannels: 5, outChannels: 17, height: 9, width: 7, kernel: 3, stride: 2 },
    { batch: 2, inChannels: 17, outChannels: 5, height: 11, width: 10, kernel: 5, pad: 2 },
    { batch: 1, inChannels: 33, outChannels: 33, height: 5, width: 19, kernel: 3, pad: 1 },
    { batch: 2, inChannels: 2, outChannels: 3, height: 8, width: 11, kernel: 3, stride: 3, pad: 1 },
    { batch: 1, inChannels: 3, outChannels: 2, height: 6, width: 5, kernel: 1 },
    { batch: 2, inChannels: 3, outChannels: 4, height: 12, width: 10, kernel: 7, pad: 3 },
    { batch: 1, inChannels: 2, outChannels: 3, height: 9, width: 8, kernel: 2, stride: 2, pad: 1 },
  ];
  let seed = 100;
  for (const o of cases) await checkAgainstReference(gpu, o, seed++);
});

// Every block shape on both adapters' paths: odd and even row counts and batches (a second block
// past the edge), strides 1 to 3, 3 x 3 and 5 x 5 kernels with and without their whole-row
// weight-gradient blocks, blocks 7 and 8 pixels wide over rows that they divide or do not, and the
// subgroup and taps kernels where the device has 8-lane subgroups.
gpuTest("every conv2d variant matches the f64 reference", async (gpu) => {
  const cases: Conv2dOptions[] = [
    { batch: 3, inChannels: 3, outChannels: 17, height: 7, width: 9, kernel: 5, pad: 2 },
    { batch: 1, inChannels: 17, outChannels: 5, height: 8, width: 10, kernel: 5, pad: 1 },
    {
      batch: 2,
      inChannels: 5,
      outChannels: 3,
      height: 13,
      width: 12,
      kernel: 5,
      stride: 2,
      pad: 2,
    },
    { batch: 1, inChannels: 4, outChannels: 6, height: 11, width: 8, kernel: 3, stride: 3, pad: 1 },
    { batch: 2, inChannels: 2, outChannels: 3, height: 9, width: 9, kernel: 3, pad: 1 },
    { batch: 1, inChannels: 3, outChannels: 5, height: 8, width: 7, kernel: 3, stride: 2, pad: 1 },
    // Weight-gradient blocks in whole groups of 8 per channel group (the subgroup kernel's
    // condition) with and without whole-row taps, a last channel group part empty.
    {
      batch: 3,
      inChannels: 6,
      outChannels: 19,
      height: 9,
      width: 10,
      kernel: 5,
      stride: 2,
      pad: 2,
    },
    { batch: 2, inChannels: 10, outChannels: 9, height: 7, width: 7, kernel: 3, pad: 1 },
    { batch: 2, inChannels: 3, outChannels: 12, height: 8, width: 9, kernel: 5, pad: 2 },
    // Three blocks of 16 output channels, the last partial (one forward taps dispatch each).
    { batch: 2, inChannels: 3, outChannels: 37, height: 6, width: 7, kernel: 3, pad: 1 },
  ];
  // Each pair for each pass, both weight-gradient blocks, both block widths and the subgroup
  // kernels (where the device has 8-lane subgroups), over four variants (every combination
  // would compile over a hundred pipelines per stride: minutes on a software adapter).
  const sg = gpu.subgroupSize === CONV2D_SUBGROUP_LANES;
  const variants: Conv2dVariant[] = CONV2D_PAIRS.map((forwardPair, i) => ({
    forwardPair,
    inputPair: CONV2D_PAIRS[(i + 1) % CONV2D_PAIRS.length],
    kernelTaps: i !== 1,
    forwardWidth: i === 1 ? 7 as const : 8 as const,
    inputWidth: i === 1 ? 8 as const : 7 as const,
    subgroups: sg && i !== 1,
    forwardTaps: sg && i === 0,
    inputTaps: sg && i === 2,
  }));
  variants.push({
    forwardPair: "rows",
    inputPair: "none",
    kernelTaps: false,
    forwardWidth: 8,
    inputWidth: 8,
    subgroups: sg,
    forwardTaps: false,
    inputTaps: false,
  }, {
    forwardPair: "none",
    inputPair: "none",
    kernelTaps: false,
    forwardWidth: 7,
    inputWidth: 8,
    subgroups: sg,
    forwardTaps: sg,
    inputTaps: sg,
  });
  const weightSubgroups = cases.filter((o) =>
    variants.some((v) =>
      v.subgroups &&
      conv2dWeightBlocksShareChannels(o.inChannels, o.kernel, {
        kernelTaps: v.kernelTaps && (o.kernel === 3 || o.kernel === 5),
      })
    )
  );
  if (sg && weightSubgroups.length < 3) {
    throw new Error(`only ${weightSubgroups.length} cases run the subgroup weight gradient`);
  }
  let seed = 400;
  for (const o of cases) {
    for (const v of variants) {
      const k35 = o.kernel === 3 || o.kernel === 5;
      const variant = {
        ...v,
        kernelTaps: v.kernelTaps && k35,
        forwardTaps: v.forwardTaps && k35 && (o.stride ?? 1) === 1,
        inputTaps: v.inputTaps && k35 && (o.stride ?? 1) === 1,
      };
      await checkAgainstReference(gpu, { ...o, variant }, seed++);
    }
  }
});

gpuTest("conv2d takes parameters and gradients as ranges of flat buffers", async (gpu) => {
  await checkAgainstReference(
    gpu,
    { batch: 3, inChannels: 5, outChannels: 7, height: 9, width: 8, kernel: 3, pad: 1 },
    7,
    { ranges: true },
  );
});

// The conv VAE's encoder layers. Batch 16 keeps the f64 reference's backward to a few seconds
// on a shared CPU; conv1's forward alone also runs at the training batch, 256.
gpuTest("conv2d matches the f64 reference on the conv VAE's layers at batch 16", async (gpu) => {
  const layers: Conv2dOptions[] = [
    { batch: 16, inChannels: 1, outChannels: 32, height: 28, width: 28, kernel: 5, pad: 2 },
    { batch: 16, inChannels: 32, outChannels: 64, height: 14, width: 14, kernel: 5, pad: 2 },
    { batch: 16, inChannels: 64, outChannels: 128, height: 7, width: 7, kernel: 3, pad: 1 },
  ];
  let seed = 200;
  for (const o of layers) await checkAgainstReference(gpu, o, seed++);
});

gpuTest("conv2d forward matches the f64 reference on conv1 at batch 256", async (gpu) => {
  await checkAgainstReference(
    gpu,
    { batch: 256, inChannels: 1, outChannels: 32, height: 28, width: 28, kernel: 5, pad: 2 },
    300,
    { backward: false },
  );
});

gpuTest("Conv2d.create rejects shapes it cannot run", async (gpu) => {
  const base = { batch: 1, inChannels: 1, outChannels: 1, height: 4, width: 4, kernel: 3 };
  const rows2 = {
    forwardPair: "rows",
    inputPair: "rows",
    kernelTaps: false,
    forwardWidth: 8,
    inputWidth: 8,
    subgroups: false,
    forwardTaps: false,
    inputTaps: false,
  } as const;
  for (
    const bad of [
      { kernel: 5 },
      { stride: 0 },
      { pad: -1 },
      { batch: 1.5 },
      { variant: { ...rows2, forwardPair: "columns" as Conv2dPair } },
      { variant: { ...rows2, inputPair: "" as Conv2dPair } },
      { kernel: 4, variant: { ...rows2, kernelTaps: true } },
      { variant: { ...rows2, forwardWidth: 4 as 8 } },
      { variant: { ...rows2, inputWidth: 16 as 8 } },
      ...(gpu.subgroupSize === CONV2D_SUBGROUP_LANES
        ? []
        : [{ variant: { ...rows2, subgroups: true as false } }]),
      // forwardTaps without subgroups, and (where there are subgroups) with a forward pair,
      // stride 2, or a block of weights past one uniform buffer (C K K > 1024).
      { variant: { ...rows2, forwardPair: "none" as const, forwardTaps: true as false } },
      { variant: { ...rows2, inputPair: "none" as const, inputTaps: true as false } },
      ...(gpu.subgroupSize === CONV2D_SUBGROUP_LANES
        ? [
          { variant: { ...rows2, subgroups: true as false, forwardTaps: true as false } },
          {
            stride: 2,
            variant: {
              ...rows2,
              forwardPair: "none" as const,
              subgroups: true as false,
              forwardTaps: true as false,
            },
          },
          {
            inChannels: 114,
            variant: {
              ...rows2,
              forwardPair: "none" as const,
              subgroups: true as false,
              forwardTaps: true as false,
            },
          },
        ]
        : []),
    ]
  ) {
    let threw = false;
    try {
      await Conv2d.create(gpu, { ...base, ...bad });
    } catch (e) {
      threw = e instanceof RangeError;
    }
    if (!threw) throw new Error(`Conv2d.create accepted ${JSON.stringify(bad)}`);
  }
});

Deno.test("the taps kernels' uniform weight blocks fit 64 KiB and split dX's sum evenly", () => {
  // The course's layers: 1->32 5x5, 32->64 5x5, 64->128 3x3.
  for (const [c, k] of [[1, 5], [32, 5], [64, 3]]) ok(conv2dForwardTapsFits(c, k));
  ok(!conv2dForwardTapsFits(41, 5) && !conv2dForwardTapsFits(114, 3));
  deepStrictEqual(conv2dInputTapsParts(64, 5), [[0, 32], [32, 64]]);
  deepStrictEqual(conv2dInputTapsParts(128, 3), [[0, 64], [64, 128]]);
  deepStrictEqual(conv2dInputTapsParts(40, 5), [[0, 40]]);
  deepStrictEqual(conv2dInputTapsParts(3, 3), [[0, 3]]);
  for (const [oc, k] of [[41, 5], [1000, 5], [113, 3], [257, 3]]) {
    const parts = conv2dInputTapsParts(oc, k);
    ok(parts[0][0] === 0 && parts[parts.length - 1][1] === oc, `${oc}: covers all channels`);
    for (const [i, [begin, end]] of parts.entries()) {
      ok(begin % 4 === 0 && (i === 0 || parts[i - 1][1] === begin), `${oc}: aligned, contiguous`);
      ok((end - begin) * k * k * 16 * 4 <= CONV2D_TAPS_UNIFORM_BYTES, `${oc}: part fits`);
    }
  }
});
