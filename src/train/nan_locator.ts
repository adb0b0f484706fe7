/**
 * Where a NaN or Inf first appeared in training. The trainer reads its losses back only every
 * few dozen steps, and by then Adam has spread one bad value into every parameter, so the last
 * step's activations say nothing about the cause. Instead the trainer keeps a GPU copy of the
 * parameters and Adam moments as of its last clean readback; on a non-finite loss the locator
 * restores that copy and replays the steps one at a time, checking the loss after each forward,
 * the gradients after each backward and the parameters after each update, and names the first
 * step and the first layer (or tensor) that went wrong.
 */

import type { Gpu } from "../gpu/gpu.ts";
import type { Adam } from "../ops/optim.ts";
import type { Vae } from "../model/vae.ts";
import type { VaeGraph } from "../model/vae_graph.ts";
import type { ParamLayout } from "../model/params.ts";

/** The parameters and Adam moments after `step` steps of the epoch, kept on the GPU. */
export class TrainSnapshot {
  readonly #gpu: Gpu;
  readonly #model: Vae;
  readonly #copies: GPUBuffer[];
  /** Steps of the epoch taken when the copy was made, and Adam's step count then. */
  step = 0;
  adamT = 0;

  constructor(model: Vae) {
    this.#gpu = model.gpu;
    this.#model = model;
    const l = model.layout;
    this.#copies = ["params", "adam_m", "adam_v"].map((n) =>
      l.allocate(model.gpu, `snapshot.${n}`)
    );
  }

  #pairs(): [GPUBuffer, GPUBuffer][] {
    const m = this.#model;
    return [[m.params, this.#copies[0]], [m.m, this.#copies[1]], [m.v, this.#copies[2]]];
  }

  /** Copies the live parameters and moments (after `step` steps, Adam at `adamT`). */
  async save(step: number, adamT: number): Promise<void> {
    const rec = this.#gpu.record("snapshot save");
    const bytes = this.#model.layout.total * 4;
    for (const [live, copy] of this.#pairs()) rec.copy(live, 0, copy, 0, bytes);
    await rec.submit();
    this.step = step;
    this.adamT = adamT;
  }

  /** Puts the copy back into the live buffers. */
  async restore(adam: Adam): Promise<void> {
    const rec = this.#gpu.record("snapshot restore");
    const bytes = this.#model.layout.total * 4;
    for (const [live, copy] of this.#pairs()) rec.copy(copy, 0, live, 0, bytes);
    await rec.submit();
    adam.t = this.adamT;
  }

  destroy(): void {
    for (const b of this.#copies) b.destroy();
  }
}

/** One training step split where the locator looks: the forward with its loss, then the rest. */
export interface ReplayStep {
  /** Gathers batch `step` and runs the forward pass, its losses at slot `step` of `sums`. */
  forward(step: number): Promise<void>;
  backward(): Promise<void>;
  update(): Promise<void>;
  /** The training-split index of each row of batch `step`. */
  images(step: number): Promise<Uint32Array>;
}

export interface NanReport {
  /** 0-based step of the epoch where it went wrong. */
  step: number;
  /** One sentence: what was non-finite, where. */
  what: string;
  /** Whether the replay reproduced the failure (it is deterministic, so it should). */
  reproduced: boolean;
}

/**
 * Replays steps snapshot.step .. bad (0-based, inclusive) from the snapshot and reports the
 * first non-finite value met. `sums` is the trainer's per-step [recon, KL] buffer.
 */
export async function locateNan(o: {
  gpu: Gpu;
  model: Vae;
  graph: VaeGraph;
  adam: Adam;
  snapshot: TrainSnapshot;
  sums: GPUBuffer;
  bad: number;
  replay: ReplayStep;
}): Promise<NanReport> {
  const { gpu, model, graph } = o;
  await o.snapshot.restore(o.adam);
  const start = await _badTensor(gpu, model.layout, model.params);
  if (start) {
    return {
      step: o.snapshot.step,
      what: `parameter ${start} was already non-finite before step ${o.snapshot.step + 1}`,
      reproduced: true,
    };
  }
  for (let step = o.snapshot.step; step <= o.bad; step++) {
    await o.replay.forward(step);
    const loss = await gpu.readF32(o.sums, step * 2, 2);
    if (!loss.every(Number.isFinite)) {
      return {
        step,
        what: await _firstBadActivation(gpu, graph, o.replay, step),
        reproduced: true,
      };
    }
    await o.replay.backward();
    const grad = await _badTensor(gpu, model.layout, model.grads);
    if (grad) {
      return {
        step,
        what: `the loss was finite but the gradient of ${grad} was not, so the update would ` +
          "have made the parameters non-finite",
        reproduced: true,
      };
    }
    await o.replay.update();
    const param = await _badTensor(gpu, model.layout, model.params);
    if (param) {
      return {
        step,
        what: `the loss and gradients were finite but Adam's update made ${param} non-finite`,
        reproduced: true,
      };
    }
  }
  return {
    step: o.bad,
    what: `the failure did not recur when steps ${o.snapshot.step + 1}..${o.bad + 1} were ` +
      "replayed one at a time, so its layer is unknown",
    reproduced: false,
  };
}

async function _firstBadActivation(
  gpu: Gpu,
  graph: VaeGraph,
  replay: ReplayStep,
  step: number,
): Promise<string> {
  for (const [name, buffer] of graph.activations()) {
    const values = await gpu.readF32(buffer);
    const i = values.findIndex((v) => !Number.isFinite(v));
    if (i < 0) continue;
    const perRow = Math.floor(values.length / graph.batch);
    const row = Math.min(graph.batch - 1, Math.floor(i / perRow));
    const image = (await replay.images(step))[row];
    return `the first non-finite values are in ${name} (batch row ${row}, training image ${image})`;
  }
  return "no activation holds a non-finite value, so the loss kernel itself produced it";
}

/** "name (first at index i)" of the first tensor holding a NaN/Inf, or null. */
async function _badTensor(
  gpu: Gpu,
  layout: ParamLayout,
  buffer: GPUBuffer,
): Promise<string | null> {
  const all = await gpu.readF32(buffer, 0, layout.total);
  for (const s of layout.specs) {
    const t = all.subarray(s.offset, s.offset + s.size);
    const i = t.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) return `${s.name} (first at index ${i}, value ${t[i]})`;
  }
  return null;
}
