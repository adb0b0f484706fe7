/**
 * The conv2d planner without a GPU: which variant each kind of adapter gets for the course's
 * encoder layers, that explicit variants are honoured or refused with a message that says what to
 * change, and that every planned grid and block covers its output on shapes that break indexing.
 */

import assert from "node:assert/strict";
import { type Conv2dPlan, conv2dPlan } from "../src/ops/conv2d_plan.ts";
import {
  CONV2D_TAPS_UNIFORM_BYTES,
  type Conv2dOptions,
  type Conv2dVariant,
  conv2dVariantFor,
} from "../src/ops/conv2d_variant.ts";
import { ADAPTERS, encoder } from "./conv_plan_fixtures.ts";

Deno.test(
  "conv2dVariantFor gives lavapipe's 8-lane subgroups the taps kernels on every encoder layer",
  () => {
    for (const o of encoder(256)) {
      const v = conv2dVariantFor(ADAPTERS.lavapipe, o);
      assert.deepEqual(v, {
        forwardPair: "none",
        inputPair: "none",
        kernelTaps: true,
        forwardWidth: 7,
        inputWidth: 7,
        subgroups: true,
        forwardTaps: true,
        inputTaps: true,
      }, `${o.inChannels}->${o.outChannels}`);
    }
  },
);

Deno.test(
  "conv2dVariantFor pairs rows, then images, on a CPU adapter without 8-lane subgroups",
  () => {
    for (const adapter of [ADAPTERS.cpuNoSubgroups, ADAPTERS.cpuWideSubgroups]) {
      const pairs = (n: number) =>
        encoder(n).map((o) => {
          const v = conv2dVariantFor(adapter, o);
          assert.equal(v.subgroups || v.forwardTaps || v.inputTaps, false);
          return [v.forwardPair, v.inputPair];
        });
      // 28 and 14 rows fill pairs of rows; 7 rows do not (8 / 7 > 1.08), so the batch pairs if
      // it fills pairs itself: 256 does, 9 does not (10 / 9).
      assert.deepEqual(pairs(256), [["rows", "rows"], ["rows", "rows"], ["images", "images"]]);
      assert.deepEqual(pairs(9), [["rows", "rows"], ["rows", "rows"], ["none", "none"]]);
    }
  },
);

Deno.test(
  "conv2dVariantFor keeps a GPU's single blocks, even where the adapter has 8-lane subgroups",
  () => {
    for (const adapter of [ADAPTERS.gpu, ADAPTERS.gpuPicksOnLavapipe]) {
      const kernelTaps = encoder(256).map((o) => {
        const v = conv2dVariantFor(adapter, o);
        assert.deepEqual(
          [v.forwardPair, v.inputPair, v.subgroups, v.forwardTaps, v.inputTaps],
          ["none", "none", false, false, false],
        );
        assert.deepEqual([v.forwardWidth, v.inputWidth], [7, 7]);
        return v.kernelTaps;
      });
      assert.deepEqual(kernelTaps, [false, false, true], "only the 3 x 3 kernel's taps block");
    }
  },
);

Deno.test(
  "conv2dVariantFor takes 8-pixel blocks where 7 does not divide the row, and no taps " +
    "past stride 1",
  () => {
    const o = { batch: 4, inChannels: 7, outChannels: 33, height: 13, width: 11, kernel: 3 };
    const v = conv2dVariantFor(ADAPTERS.lavapipe, { ...o, stride: 2, pad: 1 });
    // OW = 6, ceil(W / 2) = 6: neither a multiple of 7.
    assert.deepEqual([v.forwardWidth, v.inputWidth], [8, 8]);
    assert.deepEqual([v.subgroups, v.forwardTaps, v.inputTaps], [true, false, false]);
    // 41 channels of 5 x 5 are 1025 > 1024 taps: dX's taps kernel, the forward's subgroup one.
    const wide = conv2dVariantFor(ADAPTERS.lavapipe, { ...o, inChannels: 41, kernel: 5, pad: 2 });
    assert.deepEqual([wide.forwardTaps, wide.inputTaps], [false, true]);
  },
);

Deno.test("conv2dPlan compiles the kernels that the variant names", () => {
  const [conv1, conv2] = encoder(256);
  const names = (p: Conv2dPlan) => Object.values(p.kernels).map((k) => k.name);
  assert.deepEqual(names(conv2dPlan(ADAPTERS.lavapipe, conv2)), [
    "conv2d_pack_weight",
    "conv2d_forward_taps",
    "conv2d_backward_input_taps",
    "conv2d_backward_weight_subgroup",
    "conv2d_backward_weight_reduce",
  ]);
  // conv1's 2 weight-gradient blocks per channel group do not fill a subgroup.
  assert.equal(
    conv2dPlan(ADAPTERS.lavapipe, conv1).kernels.backwardWeight.name,
    "conv2d_backward_weight",
  );
  const gpu = conv2dPlan(ADAPTERS.gpu, conv2).kernels;
  assert.deepEqual([gpu.forward.name, gpu.backwardInput.name, gpu.backwardWeight.name], [
    "conv2d_forward",
    "conv2d_backward_input",
    "conv2d_backward_weight",
  ]);
  // 14 x 14 output rows: blocks 7 pixels wide on every adapter.
  assert.deepEqual(gpu.forward.constants, { WG: 64, STRIDE: 1, PAIR: 0, BW: 7 });
  assert.deepEqual(gpu.backwardWeight.constants, { WG: 64, STRIDE: 1, TAPS: 4 });
});

Deno.test("conv2dPlan honours an explicit variant on any adapter that can run it", () => {
  const o = encoder(9)[1];
  const variant: Conv2dVariant = {
    forwardPair: "images",
    inputPair: "rows",
    kernelTaps: false,
    forwardWidth: 8,
    inputWidth: 7,
    subgroups: false,
    forwardTaps: false,
    inputTaps: false,
  };
  for (const adapter of Object.values(ADAPTERS)) {
    const p = conv2dPlan(adapter, { ...o, variant });
    assert.deepEqual(p.options.variant, variant);
    assert.deepEqual(p.kernels.forward.constants, { WG: 64, STRIDE: 1, PAIR: 2, BW: 8 });
    assert.deepEqual(p.kernels.backwardInput.constants, { WG: 64, STRIDE: 1, PAIR: 1, BW: 7 });
    assert.equal(p.kernels.backwardWeight.constants.TAPS, 4);
  }
});

Deno.test("conv2dPlan refuses a variant it cannot run, saying what to change", () => {
  const o = encoder(9)[1];
  const base = conv2dVariantFor(ADAPTERS.lavapipe, o);
  const refused: [string, object, Partial<Conv2dVariant>, typeof ADAPTERS.gpu | undefined][] = [
    ["needs subgroups of 8 lanes", {}, {}, ADAPTERS.gpu],
    [
      "variant forwardTaps needs subgroups, stride 1",
      { stride: 2 },
      { inputTaps: false },
      undefined,
    ],
    ['forwardPair "none", got subgroups true, stride 1, kernel 5, forwardPair rows', {}, {
      forwardPair: "rows",
    }, undefined],
    ["C K K <= 1024, got 41 x 5 x 5; use forwardTaps false", { inChannels: 41 }, {}, undefined],
    ["kernelTaps needs a 3 x 3 or 5 x 5 kernel, got 7 x 7", { kernel: 7 }, {
      forwardTaps: false,
      inputTaps: false,
    }, undefined],
    ["variant pairs must be among none, rows, images", {}, {
      inputPair: "cols" as Conv2dVariant["inputPair"],
    }, undefined],
    ["block widths must be 7 or 8, got forwardWidth 6", {}, {
      forwardWidth: 6 as Conv2dVariant["forwardWidth"],
    }, undefined],
    ["pad must be a non-negative integer, got -1", { pad: -1 }, {}, undefined],
    ["a 5 x 5 kernel does not fit the 3 x 3 input padded by 0", { height: 3, width: 3, pad: 0 }, {
      forwardTaps: false,
    }, undefined],
  ];
  for (const [message, shape, change, adapter] of refused) {
    assert.throws(
      () =>
        conv2dPlan(adapter ?? ADAPTERS.lavapipe, {
          ...o,
          ...shape,
          variant: { ...base, ...change },
        }),
      (e: unknown) =>
        e instanceof RangeError && e.message.startsWith("Cannot create Conv2d") &&
        e.message.includes(message),
      message,
    );
  }
});

/** Shapes that break indexing: 1, 7 and 33 channels, odd sizes, strides 1-3, kernels 1-7. */
const EDGE_CONVS: Conv2dOptions[] = [
  { batch: 1, inChannels: 1, outChannels: 1, height: 1, width: 1, kernel: 1 },
  { batch: 3, inChannels: 7, outChannels: 33, height: 9, width: 11, kernel: 3, stride: 2, pad: 1 },
  { batch: 5, inChannels: 33, outChannels: 7, height: 13, width: 10, kernel: 5, stride: 2, pad: 2 },
  { batch: 2, inChannels: 3, outChannels: 37, height: 6, width: 7, kernel: 3, pad: 1 },
  { batch: 7, inChannels: 2, outChannels: 5, height: 8, width: 8, kernel: 4, stride: 3 },
  { batch: 2, inChannels: 33, outChannels: 65, height: 5, width: 5, kernel: 5, pad: 2 },
  { batch: 257, inChannels: 3, outChannels: 3, height: 7, width: 9, kernel: 7, pad: 3 },
  ...encoder(256),
  ...encoder(9),
];

Deno.test("conv2dPlan's blocks and grids cover every output and stay in their buffers", () => {
  let cases = 0;
  for (const adapter of Object.values(ADAPTERS)) {
    for (const o of EDGE_CONVS) {
      const p = conv2dPlan(adapter, o), v = p.options.variant, what = JSON.stringify(o);
      const { batch: N, inChannels: C, outChannels: OC, height: H, width: W, kernel: K } = o;
      const S = o.stride ?? 1, OH = p.outHeight, OW = p.outWidth;
      assert.deepEqual([OH, OW], [
        Math.floor((H + 2 * (o.pad ?? 0) - K) / S) + 1,
        Math.floor((W + 2 * (o.pad ?? 0) - K) / S) + 1,
      ]);
      cases++;

      // Forward: blocks of 16 channels x BW pixels (x 2 rows or images) over y, in enough groups.
      const f = p.forward[0].shape, fwg = p.kernels.forward.constants.WG;
      assert.ok(f.ow_blocks * v.forwardWidth >= OW && (f.ow_blocks - 1) * v.forwardWidth < OW);
      assert.ok(f.oh_blocks * (v.forwardPair === "rows" ? 2 : 1) >= OH, what);
      const fImages = Math.ceil(N / (v.forwardPair === "images" ? 2 : 1));
      assert.equal(f.pix_blocks, fImages * f.oh_blocks * f.ow_blocks, what);
      assert.ok(f.pix_groups * fwg >= f.pix_blocks && (f.pix_groups - 1) * fwg < f.pix_blocks);
      assert.ok(f.oc_blocks * 16 >= OC && (f.oc_blocks - 1) * 16 < OC, what);
      if (v.forwardTaps) {
        assert.deepEqual(p.forward.map((d) => d.shape.ob), [...Array(f.oc_blocks).keys()]);
        for (const d of p.forward) {
          assert.equal(d.workgroups, f.pix_groups);
          assert.ok(d.weights && d.weights.offset % 256 === 0, "256-byte aligned block");
          assert.ok(d.weights.offset + d.weights.size <= p.packedForward.bytes, what);
        }
      } else {
        assert.equal(p.forward.length, 1);
        assert.equal(p.forward[0].workgroups, f.oc_blocks * f.pix_groups, what);
      }

      // Backward to the input: per stride phase, blocks over ceil(H / S) x ceil(W / S).
      const b = p.backwardInput[0].shape, bwg = p.kernels.backwardInput.constants.WG;
      assert.ok(b.qh * S >= H && b.q_blocks * v.inputWidth >= Math.ceil(W / S), what);
      assert.ok(b.qh_blocks * (v.inputPair === "rows" ? 2 : 1) >= b.qh, what);
      const bImages = Math.ceil(N / (v.inputPair === "images" ? 2 : 1));
      assert.equal(b.pix_blocks, bImages * b.qh_blocks * b.q_blocks, what);
      assert.ok(b.pix_groups * bwg >= b.pix_blocks && b.c_blocks * 16 >= C, what);
      if (v.inputTaps) {
        // Per block of input channels, parts that cover the output channels in order.
        const parts = p.backwardInput.filter((d) => d.shape.cb === 0);
        assert.equal(p.backwardInput.length, b.c_blocks * parts.length, what);
        assert.equal(parts[0].shape.o_begin, 0);
        assert.equal(parts[parts.length - 1].shape.o_end, OC);
        for (const [i, d] of p.backwardInput.entries()) {
          const part = parts[i % parts.length].shape;
          assert.deepEqual(
            [d.shape.cb, d.shape.o_begin, d.shape.o_end, d.shape.accumulate],
            [Math.floor(i / parts.length), part.o_begin, part.o_end, Number(part.o_begin > 0)],
          );
          if (i > 0 && i % parts.length) {
            assert.equal(d.shape.o_begin, p.backwardInput[i - 1].shape.o_end, "contiguous");
          }
          assert.ok(d.weights && d.weights.offset % 256 === 0, "256-byte aligned part");
          assert.ok(d.weights.offset + d.weights.size <= p.packedInput.bytes, what);
          assert.ok((d.shape.o_end - d.shape.o_begin) * K * K * 64 <= CONV2D_TAPS_UNIFORM_BYTES);
        }
      } else {
        assert.equal(p.backwardInput.length, 1);
        assert.equal(p.backwardInput[0].workgroups, b.c_blocks * S * S * b.pix_groups, what);
      }

      // Weight gradient: 8 output channels x 4 rows (c, kh) x TAPS taps, over image chunks.
      const w = p.backwardWeight.shape, taps = p.kernels.backwardWeight.constants.TAPS;
      assert.ok(w.r_blocks * 4 >= C * K && w.kw_blocks * taps >= K, what);
      assert.equal(w.blocks, Math.ceil(OC / 8) * w.r_blocks * w.kw_blocks);
      const chunks = p.weightGradChunks;
      assert.ok(w.chunk * chunks >= N && (chunks - 1) * w.chunk < N, what);
      assert.equal(p.backwardWeight.items, w.blocks * chunks);
      assert.equal(p.partialsBytes, chunks * (OC * C * K * K + OC) * 4);
      assert.equal(p.reduce.items, OC * C * K * K + OC);
      assert.ok(p.packForward.items * 4 <= p.packedForward.bytes, what);
      assert.ok(p.packInput.items * 4 <= p.packedInput.bytes, what);
      assert.ok(p.packForward.items >= OC * C * K * K && p.packInput.items >= OC * C * K * K);
    }
  }
  assert.equal(cases, Object.keys(ADAPTERS).length * EDGE_CONVS.length);
});
