/**
 * Model checkpoints in safetensors: every parameter under its own name, Adam's
 * moments as two flat tensors, non-trained state (batch norm running
 * statistics) under "state.*", and config, epoch, Adam step, seed and the
 * per-epoch log in the metadata. Written atomically by saveSafetensors.
 */

import { CheckpointError, expectTensor, loadSafetensors, saveSafetensors } from "../checkpoint.ts";
import type { EpochLog } from "./trainer.ts";
import type { VaeModel } from "./model.ts";

export const FORMAT = "webgpu-vae/1";

export interface TrainState {
  epoch: number;
  adamT: number;
  seed: number;
  bestEpoch: number;
  log: EpochLog[];
}

type Tensors = Parameters<typeof saveSafetensors>[1];

/** Writes the model's parameters, optimizer state and `state` to `path` atomically. */
export async function saveModel(path: string, model: VaeModel, state: TrainState): Promise<void> {
  const gpu = model.gpu;
  const [params, m, v] = await Promise.all([
    gpu.readF32(model.params),
    gpu.readF32(model.m),
    gpu.readF32(model.v),
  ]);
  const tensors: Tensors = {};
  for (const [name, data] of Object.entries(model.layout.split(params))) {
    tensors[name] = { dtype: "F32", shape: model.layout.get(name).shape, data };
  }
  tensors["adam.m"] = { dtype: "F32", shape: [m.length], data: m };
  tensors["adam.v"] = { dtype: "F32", shape: [v.length], data: v };
  if (model.state) {
    const flat = await gpu.readF32(model.state.buffer);
    for (const [name, data] of Object.entries(model.state.layout.split(flat))) {
      tensors[`state.${name}`] = { dtype: "F32", shape: model.state.layout.get(name).shape, data };
    }
  }
  await saveSafetensors(path, tensors, {
    format: FORMAT,
    config: JSON.stringify(model.describe()),
    epoch: String(state.epoch),
    best_epoch: String(state.bestEpoch),
    adam_t: String(state.adamT),
    seed: String(state.seed),
    log: JSON.stringify(state.log),
  });
}

export interface LoadedCheckpoint {
  config: Record<string, unknown>;
  state: TrainState;
  /** Flat parameters, Adam moments and (if any) model state, in the model's layouts. */
  read(
    model: VaeModel,
  ): { params: Float32Array; m: Float32Array; v: Float32Array; state: Float32Array | null };
}

/** Reads and validates a checkpoint; `hint` says which command makes one. */
export async function loadCheckpoint(path: string, hint: string): Promise<LoadedCheckpoint> {
  const ckpt = await loadSafetensors(path, { hint });
  const meta = ckpt.metadata;
  const fail = (what: string) => new CheckpointError(path, what);
  if (meta.format !== FORMAT) throw fail(`format is "${meta.format}", expected "${FORMAT}"`);
  let config: Record<string, unknown>, log: EpochLog[];
  try {
    config = JSON.parse(meta.config);
    log = JSON.parse(meta.log ?? "[]");
  } catch {
    throw fail("its config or log metadata is not valid JSON");
  }
  const state: TrainState = {
    epoch: Number(meta.epoch),
    adamT: Number(meta.adam_t),
    seed: Number(meta.seed),
    bestEpoch: Number(meta.best_epoch),
    log,
  };
  return {
    config,
    state,
    read(model) {
      const want = JSON.stringify(model.describe());
      if (JSON.stringify(config) !== want) {
        throw fail(`it holds a model ${JSON.stringify(config)}, the task built ${want}`);
      }
      const named: Record<string, Float32Array> = {};
      for (const s of model.layout.specs) {
        named[s.name] = expectTensor(ckpt, s.name, "F32", s.shape) as Float32Array;
      }
      const n = model.layout.total;
      const m = expectTensor(ckpt, "adam.m", "F32", [n]) as Float32Array;
      const v = expectTensor(ckpt, "adam.v", "F32", [n]) as Float32Array;
      let st: Float32Array | null = null;
      if (model.state) {
        const t: Record<string, Float32Array> = {};
        for (const s of model.state.layout.specs) {
          t[s.name] = expectTensor(ckpt, `state.${s.name}`, "F32", s.shape) as Float32Array;
        }
        st = model.state.layout.join(t);
      }
      return { params: model.layout.join(named), m, v, state: st };
    },
  };
}

/** Puts a checkpoint's tensors into the model's buffers. */
export function restore(model: VaeModel, ckpt: LoadedCheckpoint): TrainState {
  const t = ckpt.read(model);
  model.gpu.write(model.params, t.params);
  model.gpu.write(model.m, t.m);
  model.gpu.write(model.v, t.v);
  if (model.state && t.state) model.gpu.write(model.state.buffer, t.state);
  return ckpt.state;
}
