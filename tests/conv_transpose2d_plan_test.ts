/**
 * The transposed-conv planner without a GPU: which variant each kind of adapter gets for the
 * course's decoder layers, that explicit variants are honoured or refused with a message that says
 * what to change, and that every planned block and chunk covers its output on shapes that break
 * indexing.
 */

import assert from "node:assert/strict";
import { convTranspose2dPlan } from "../src/ops/conv_transpose2d_plan.ts";
import {
  type ConvTranspose2dOptions,
  type ConvTransposeAdapter,
  convTransposeColsBytes,
  type ConvTransposeVariant,
  convTransposeVariantFor,
} from "../src/ops/conv_transpose2d_variant.ts";
import { ADAPTERS, decoder } from "./conv_plan_fixtures.ts";

Deno.test(
  "convTransposeVariantFor on lavapipe takes the GEMM path on 3 x 3 inputs and one output channel",
  () => {
    const picks = decoder(256).map((o) => {
      const v = convTransposeVariantFor(ADAPTERS.lavapipe, o);
      assert.equal(v.subgroups, true);
      return [v.forward.OQ, v.gemm.forward, v.gemm.backward, v.weightGradViaConv2d];
    });
    assert.deepEqual(picks, [
      [4, false, false, false], // 16 -> 128 from 1 x 1
      [4, true, true, false], // 128 -> 64 from 3 x 3
      [4, false, true, true], // 64 -> 32 from 7 x 7
      [0, true, false, true], // 32 -> 1 from 15 x 15: one channel of four images
    ]);
  },
);

Deno.test(
  "convTransposeVariantFor keeps the direct kernels where cols would not fit, or on a GPU",
  () => {
    // 64 -> 32 from 7 x 7 at batch 256: cols of 40 MB, over an 8 MiB binding or a 64 MiB budget.
    const layer = decoder(256)[2];
    assert.equal(convTransposeColsBytes(layer), 256 * 49 * 32 * 25 * 4);
    const small = { ...ADAPTERS.lavapipe, limits: { maxStorageBufferBindingSize: 8 << 20 } };
    assert.deepEqual(convTransposeVariantFor(small, layer).gemm, {
      forward: false,
      backward: false,
    });
    const big = convTransposeVariantFor(ADAPTERS.lavapipe, { ...layer, batch: 512 });
    assert.deepEqual(big.gemm, { forward: false, backward: false });
    for (const adapter of [ADAPTERS.gpu, ADAPTERS.gpuPicksOnLavapipe, ADAPTERS.cpuNoSubgroups]) {
      for (const o of decoder(256)) {
        const v = convTransposeVariantFor(adapter, o);
        assert.deepEqual([v.subgroups, v.gemm], [false, { forward: false, backward: false }]);
        assert.equal(v.reduceLanes, adapter.variants === "hardware" ? 65536 : 2048);
      }
    }
  },
);

Deno.test("convTranspose2dPlan takes dW through a conv2d only where the GEMM path does not", () => {
  const [, l3, l7, l15] = decoder(256).map((o) => convTranspose2dPlan(ADAPTERS.lavapipe, o));
  assert.equal(l3.conv2d, null); // 3 wide: its own kernel (and the GEMM)
  assert.equal(l7.conv2d, null); // the GEMM backward takes dW
  assert.deepEqual(l15.conv2d, {
    batch: 256,
    inChannels: 1,
    outChannels: 32,
    height: 31,
    width: 31,
    kernel: 5,
    stride: 2,
    pad: 1,
  });
  assert.equal(l15.partWeightBytes, null, "no dW partials beside the conv2d");
  assert.deepEqual(l3.gemm?.linear, { batch: 256 * 9, inFeatures: 128, outFeatures: 64 * 25 });
  assert.equal(l3.gemm?.bytes.cols, convTransposeColsBytes(decoder(256)[1]));
  assert.deepEqual(l3.kernels.forward, {
    name: "conv_transpose2d_forward_subgroup",
    constants: { WG: 8, OQ: 4, PQ: 1 }, // a 7-wide output: 4 columns per residue
  });
});

Deno.test("convTranspose2dPlan honours an explicit variant and refuses one it cannot run", () => {
  const o = decoder(9)[2];
  const variant: ConvTransposeVariant = {
    wg: 32,
    forward: { OQ: 2, PQ: 1 },
    backwardInput: { IQ: 1, PQ: 2 },
    backwardWeight: { IQ: 2, OQ: 0 },
    reduceLanes: 16,
    weightGradViaConv2d: false,
    subgroups: false,
    gemm: { forward: false, backward: false },
  };
  const p = convTranspose2dPlan(ADAPTERS.lavapipe, o, variant);
  assert.deepEqual(p.variant, variant);
  assert.deepEqual(p.kernels.forward, {
    name: "conv_transpose2d_forward",
    constants: { WG: 32, OQ: 2, PQ: 1 },
  });
  assert.deepEqual(p.kernels.backwardWeight.constants, { WG: 32, IQ: 2, OQ: 0 });
  assert.equal(p.gemm, null);
  const refused: [string, Partial<ConvTransposeVariant>, ConvTransposeAdapter][] = [
    [
      "variant forward.OQ must be one of 0, 1, 2, 4, got 3",
      { forward: { OQ: 3, PQ: 1 } },
      ADAPTERS.lavapipe,
    ],
    ["variant wg and reduceLanes must be positive, got 0", { wg: 0 }, ADAPTERS.lavapipe],
    ["needs subgroups of 8 lanes", { subgroups: true }, ADAPTERS.cpuNoSubgroups],
    ["more than this device's maxStorageBufferBindingSize 1048576", {
      gemm: { forward: true, backward: false },
    }, { ...ADAPTERS.lavapipe, limits: { maxStorageBufferBindingSize: 1 << 20 } }],
  ];
  for (const [message, change, adapter] of refused) {
    assert.throws(
      () => convTranspose2dPlan(adapter, o, { ...variant, ...change }),
      (e: unknown) =>
        e instanceof RangeError && e.message.startsWith("Cannot create ConvTranspose2d") &&
        e.message.includes(message),
      message,
    );
  }
  assert.throws(
    () => convTranspose2dPlan(ADAPTERS.lavapipe, { ...o, height: 1, width: 1, pad: 3 }),
    /Cannot create ConvTranspose2d: output would be -1 x -1/,
  );
});

/** Shapes that break indexing for the transposed conv, and the course's decoder. */
const EDGE_DECONVS: ConvTranspose2dOptions[] = [
  { batch: 1, inChannels: 1, outChannels: 1, height: 1, width: 1, kernel: 1, stride: 1, pad: 0 },
  { batch: 3, inChannels: 7, outChannels: 33, height: 5, width: 6, kernel: 4, stride: 3, pad: 1 },
  { batch: 16, inChannels: 33, outChannels: 7, height: 2, width: 9, kernel: 3, stride: 1, pad: 0 },
  { batch: 8, inChannels: 4, outChannels: 4, height: 3, width: 3, kernel: 3, stride: 2, pad: 1 },
  { batch: 33, inChannels: 1, outChannels: 2, height: 7, width: 7, kernel: 5, stride: 2, pad: 2 },
  // 17 output columns of stride 2: 9 of one residue, one past a group of 8.
  { batch: 5, inChannels: 9, outChannels: 17, height: 3, width: 8, kernel: 5, stride: 2, pad: 1 },
  ...decoder(256),
  ...decoder(9),
];

Deno.test("convTranspose2dPlan's blocks and chunks cover every output", () => {
  let cases = 0;
  for (const adapter of Object.values(ADAPTERS)) {
    for (const o of EDGE_DECONVS) {
      const p = convTranspose2dPlan(adapter, o), v = p.variant, what = JSON.stringify(o);
      const { batch: N, inChannels: IC, outChannels: OC, height: H, width: W } = o;
      const { kernel: K, stride: S, pad: P } = o;
      const OH = p.outHeight, OW = p.outWidth;
      assert.deepEqual([OH, OW], [(H - 1) * S - 2 * P + K, (W - 1) * S - 2 * P + K]);
      cases++;

      // Forward: OQ quads of channels (or 4 images of one) x PQ quads of one residue's columns.
      const f = p.forward.shape, oneOc = v.forward.OQ === 0;
      assert.ok(f.batch_blocks * (oneOc ? 4 : 1) >= N, what);
      assert.ok(f.oc_blocks * (oneOc ? 1 : 4 * v.forward.OQ) >= OC, what);
      assert.ok(f.col_groups * 4 * v.forward.PQ >= Math.ceil(OW / S), what);
      assert.equal(p.forward.items, f.batch_blocks * f.oc_blocks * OH * S * f.col_groups);
      assert.equal(f.items, p.forward.items);

      const b = p.backwardInput.shape;
      assert.ok(b.ic_blocks * 4 * v.backwardInput.IQ >= IC, what);
      assert.ok(b.col_groups * 4 * v.backwardInput.PQ >= W, what);
      assert.equal(p.backwardInput.items, N * b.ic_blocks * H * b.col_groups);

      const w = p.backwardWeight.shape;
      assert.ok(w.ic_blocks * 4 * v.backwardWeight.IQ >= IC, what);
      assert.ok(w.oc_blocks * (v.backwardWeight.OQ === 0 ? 1 : 4 * v.backwardWeight.OQ) >= OC);
      assert.ok(w.chunk * w.chunks >= N && (w.chunks - 1) * w.chunk < N, what);
      assert.equal(p.backwardWeight.items, K * K * w.ic_blocks * w.oc_blocks * w.chunks);
      const viaConv2d = v.weightGradViaConv2d && !v.gemm.backward;
      assert.equal(p.conv2d !== null, viaConv2d, what);
      assert.equal(
        p.partWeightBytes,
        w.chunks > 1 && !viaConv2d ? w.chunks * IC * OC * K * K * 4 : null,
        what,
      );
      assert.deepEqual(p.reduceWeight.shape, { len: IC * OC * K * K, chunks: w.chunks });

      const db = p.backwardBias.shape;
      assert.ok(db.chunk * db.chunks >= N && (db.chunks - 1) * db.chunk < N, what);
      assert.equal(p.backwardBias.items, OC * db.chunks);
      assert.equal(p.partBiasBytes, db.chunks > 1 ? db.chunks * OC * 4 : null);

      // The packed weights: IC (or OC) K K rows of the other channel count rounded up to 16.
      assert.equal(p.pack.items, IC * K * K * Math.ceil(OC / 16) * 16);
      assert.equal(p.packInput.items, OC * K * K * Math.ceil(IC / 16) * 16);
      if (p.gemm) {
        assert.equal(p.gemm.col2im.items, N * OC * OH, what);
        assert.equal(p.gemm.im2col.items, N * H * W, what);
        assert.equal(p.gemm.bytes.cols, convTransposeColsBytes(o));
      }
    }
  }
  assert.equal(cases, Object.keys(ADAPTERS).length * EDGE_DECONVS.length);
});
