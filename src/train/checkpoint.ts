/**
 * Model checkpoints in safetensors: every parameter under its own name, Adam's moments as two
 * flat tensors, non-trained state (batch norm running statistics) under "state.*", and config
 * (architecture, likelihood and its constants), epoch, Adam step, seed and the per-epoch log in
 * the metadata. Written atomically by saveSafetensors.
 */

import { join, normalize } from "node:path";
import type { ParamLayout } from "../model/params.ts";
import type { Vae } from "../model/vae.ts";
import { CheckpointError, expectTensor, loadSafetensors, saveSafetensors } from "../safetensors.ts";
import type { EpochLog } from "./epoch_log.ts";
import type { DataSource } from "../data/mnist.ts";

const FORMAT = "webgpu-vae/1";

/** Where a run stands: what a checkpoint stores besides the tensors, and what resume needs. */
export interface TrainState {
  /** Epochs completed (1-based number of the last one). */
  epoch: number;
  /** Adam's step count t, for its bias corrections. */
  adamT: number;
  /** The run's seed (shuffles, noise, initialisation). */
  seed: number;
  /** The epoch with the lowest validation loss so far. */
  bestEpoch: number;
  /** One entry per completed epoch. */
  log: EpochLog[];
  /** The data the model was trained on (absent in checkpoints from before it was recorded). */
  data?: DataSource;
}

type Tensors = Parameters<typeof saveSafetensors>[1];

/** Writes the model's parameters, optimizer state and `state` to `path` atomically. */
export async function saveModel(path: string, model: Vae, state: TrainState): Promise<void> {
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
    ...(state.data ? { data: JSON.stringify(state.data) } : {}),
  });
}

/** A validated checkpoint whose tensors are read into a model on demand (`read`, `restore`). */
export interface LoadedCheckpoint {
  /** The file it was loaded from. */
  path: string;
  /** The stored config; checkpoints from before the likelihood seam read as Bernoulli. */
  config: Record<string, unknown>;
  /** The run's epoch, Adam step, seed and log. */
  state: TrainState;
  /** Flat parameters, Adam moments and (if any) model state, in the model's layouts. */
  read(
    model: ModelLayouts,
  ): { params: Float32Array; m: Float32Array; v: Float32Array; state: Float32Array | null };
}

/** What `read` needs of a model: a Vae, or its architecture's layouts without a GPU. */
export interface ModelLayouts {
  /** The config a checkpoint must hold (Vae.describe). */
  describe(): Record<string, unknown>;
  /** The layout of the parameters and of both Adam moments. */
  layout: ParamLayout;
  /** The layout of the non-trained state (batch norm running statistics), or null where none. */
  state: { layout: ParamLayout } | null;
}

/** The same config whatever the key order. */
function _canonical(c: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(c).sort().map((k) => [k, c[k]]));
}

/**
 * The same file under the roots the budgeted courses write (out/quick/, out/standard/) when
 * `path` is a default under out/ that is not there: after `course --quick` a task's default
 * checkpoint is missing, and the error should point at the one the course made.
 */
export function courseAlternatives(path: string): string[] {
  const n = normalize(path);
  if (!n.startsWith("out/") || _exists(n)) return [];
  return ["quick", "standard"].map((b) => join("out", b, n.slice(4))).filter(_exists);
}

function _exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Reads and validates a checkpoint; `hint` says which command makes one. */
export async function loadCheckpoint(path: string, hint: string): Promise<LoadedCheckpoint> {
  const alt = courseAlternatives(path);
  if (alt.length > 0) hint += `, or pass --checkpoint ${alt.join(" or ")} (a course's)`;
  const ckpt = await loadSafetensors(path, { hint });
  const meta = ckpt.metadata;
  const fail = (what: string) => new CheckpointError(path, what);
  if (meta.format !== FORMAT) throw fail(`format is "${meta.format}", expected "${FORMAT}"`);
  let config: Record<string, unknown>, log: EpochLog[], data: DataSource | undefined;
  try {
    config = JSON.parse(meta.config);
    log = JSON.parse(meta.log ?? "[]");
    data = meta.data === undefined ? undefined : JSON.parse(meta.data);
  } catch {
    throw fail("its config or log metadata is not valid JSON");
  }
  if (typeof config !== "object" || config === null) throw fail("its config is not an object");
  // Every checkpoint written before the likelihood seam was Bernoulli.
  config = { likelihood: "bernoulli", ...config };
  // Counts that --resume continues from: a hand-edited or foreign file must not turn them into
  // NaN (which would restart the run under the old one's name).
  const count = (key: string) => {
    const v = meta[key] === undefined ? 0 : Number(meta[key]);
    if (!Number.isInteger(v) || v < 0) {
      throw fail(`its metadata ${key} is ${JSON.stringify(meta[key])}, not a whole number`);
    }
    return v;
  };
  if (!Array.isArray(log) || !log.every((e) => typeof e?.epoch === "number")) {
    throw fail("its log metadata is not a list of epochs (each with an epoch number)");
  }
  const state: TrainState = {
    epoch: count("epoch"),
    adamT: count("adam_t"),
    seed: count("seed"),
    bestEpoch: count("best_epoch"),
    log,
    ...(data ? { data } : {}),
  };
  return {
    path,
    config,
    state,
    read(model) {
      const want = model.describe();
      if (config.likelihood !== want.likelihood) {
        throw fail(
          `it holds a ${config.likelihood} model, this task uses the ${want.likelihood} ` +
            `likelihood; pass a ${want.likelihood} checkpoint or run the matching train task`,
        );
      }
      if (_canonical(config) !== _canonical(want)) {
        throw fail(
          `it holds a model ${JSON.stringify(config)}, the task built ${JSON.stringify(want)}`,
        );
      }
      const named: Record<string, Float32Array> = {};
      for (const s of model.layout.specs) {
        named[s.name] = expectTensor(ckpt, s.name, "F32", s.shape) as Float32Array;
      }
      const n = model.layout.total;
      const m = expectTensor(ckpt, "adam.m", "F32", [n]) as Float32Array;
      const v = expectTensor(ckpt, "adam.v", "F32", [n]) as Float32Array;
      const stateTensors: Record<string, Float32Array> = {};
      for (const s of model.state?.layout.specs ?? []) {
        const name = `state.${s.name}`;
        stateTensors[name] = expectTensor(ckpt, name, "F32", s.shape) as Float32Array;
      }
      // A diverged run's weights load without complaint and draw noise: refuse them by name.
      const all = { ...named, "adam.m": m, "adam.v": v, ...stateTensors };
      for (const [name, t] of Object.entries(all)) {
        const i = t.findIndex((x) => !Number.isFinite(x));
        if (i >= 0) {
          throw fail(
            `tensor "${name}" holds ${t[i]} at index ${i}: the run that wrote it diverged; ` +
              "use an earlier checkpoint or train again (a lower --lr may help)",
          );
        }
      }
      const st = model.state
        ? model.state.layout.join(
          Object.fromEntries(Object.entries(stateTensors).map(([k, t]) => [k.slice(6), t])),
        )
        : null;
      return { params: model.layout.join(named), m, v, state: st };
    },
  };
}

/** Puts a checkpoint's tensors into the model's buffers. */
export function restore(model: Vae, ckpt: LoadedCheckpoint): TrainState {
  const t = ckpt.read(model);
  model.gpu.write(model.params, t.params);
  model.gpu.write(model.m, t.m);
  model.gpu.write(model.v, t.v);
  if (model.state && t.state) model.gpu.write(model.state.buffer, t.state);
  return ckpt.state;
}

/**
 * Warns (stderr) when a figure task reads other data than the checkpoint's model was trained
 * on, e.g. MNIST digits through a Fashion-MNIST model; silent for checkpoints that predate the
 * record.
 */
export async function warnOtherData(path: string, source: DataSource): Promise<void> {
  const { state } = await loadCheckpoint(path, "");
  if (state.data && state.data.sha256 !== source.sha256) {
    console.error(
      `warning: ${path} was trained on the data in ${state.data.dir} (sha256 ` +
        `${state.data.sha256.slice(0, 12)}), this run reads ${source.dir} (sha256 ` +
        `${source.sha256.slice(0, 12)}); pass --data ${state.data.dir} for the model's own data`,
    );
  }
}
