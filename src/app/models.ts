/**
 * The model factory above the architectures: from a checkpoint's config to the conv or MLP VAE
 * it holds (src/train/checkpoint.ts reads and writes the file and knows no architecture).
 */

import type { Gpu } from "../gpu/gpu.ts";
import { ConvVae } from "../conv/conv_vae.ts";
import { type ConvConfig, initConvParams } from "../conv/layout.ts";
import { likelihoodByName } from "../likelihood/registry.ts";
import type { Likelihood } from "../likelihood/likelihood.ts";
import { MlpVae } from "../mlp/mlp_vae.ts";
import { ENCODER_HEADS, type EncoderHead, type MlpConfig, mlpLayout } from "../mlp/mlp_net.ts";
import { type ActivationKind, ACTIVATIONS } from "../ops/activation.ts";
import type { Vae } from "../model/vae.ts";
import { CheckpointError } from "../safetensors.ts";
import { loadCheckpoint, type LoadedCheckpoint, restore } from "../train/checkpoint.ts";

/** A checkpoint's model as its validated config describes it. */
export type CheckpointModel =
  | { model: "conv"; config: ConvConfig; likelihood: Likelihood }
  | { model: "mlp"; config: MlpConfig; likelihood: Likelihood };

/**
 * The model a checkpoint holds, with its trained parameters. `expect` names the architecture
 * and (optionally) the likelihood the task needs; a checkpoint of another is a clear error.
 */
export async function loadVae<K extends "conv" | "mlp">(
  gpu: Gpu,
  path: string,
  hint: string,
  expect: { model: K; likelihood?: string },
): Promise<K extends "conv" ? ConvVae : MlpVae> {
  const ckpt = await loadCheckpoint(path, hint);
  const c = ckpt.config;
  if (c.model !== expect.model) {
    const want = expect.model === "conv" ? "the conv VAE" : "an MLP VAE";
    throw new CheckpointError(path, `it holds a "${c.model}" model, this task needs ${want}`);
  }
  if (expect.likelihood && c.likelihood !== expect.likelihood) {
    throw new CheckpointError(
      path,
      `it holds a ${c.likelihood} model, this task needs the ${expect.likelihood} likelihood`,
    );
  }
  return vaeOf(gpu, ckpt) as K extends "conv" ? ConvVae : MlpVae;
}

/** The VAE a loaded checkpoint holds, whichever architecture, with its trained parameters. */
export function vaeOf(gpu: Gpu, ckpt: LoadedCheckpoint): Vae {
  const m = checkpointModel(ckpt);
  const vae = emptyVae(gpu, m);
  restore(vae, ckpt);
  return vae;
}

/** A model of this description with initial (conv) or zero (MLP) parameters, to be filled. */
export function emptyVae(gpu: Gpu, m: CheckpointModel): Vae {
  const w = m.likelihood.width;
  return m.model === "conv"
    ? new ConvVae(gpu, m.config, initConvParams(m.config, 0, w), m.likelihood)
    : new MlpVae(gpu, m.config, new Float32Array(mlpLayout(m.config, w).total), m.likelihood);
}

/**
 * The architecture, its config and the likelihood a checkpoint's config names, checked before
 * any buffer is sized from them; a CheckpointError names what is wrong.
 */
export function checkpointModel(ckpt: LoadedCheckpoint): CheckpointModel {
  const { path, config: c } = ckpt;
  if (c.model !== "conv" && c.model !== "mlp") {
    throw new CheckpointError(
      path,
      `its config has model ${JSON.stringify(c.model)}, expected "conv" or "mlp"`,
    );
  }
  let likelihood: Likelihood;
  try {
    likelihood = likelihoodByName(String(c.likelihood), c);
  } catch (e) {
    throw new CheckpointError(path, (e as Error).message);
  }
  // The config sizes every buffer: an absurd one would fail deep in allocation or WebGPU.
  const int = (key: string, lo: number, hi: number) => {
    const v = c[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
      throw new CheckpointError(
        path,
        `its config has ${key} ${JSON.stringify(v)}, expected an integer from ${lo} to ${hi}`,
      );
    }
    return v;
  };
  int("latent", 1, 64);
  if (c.model === "mlp") {
    int("pixels", 784, 784);
    const hidden = Array.isArray(c.hidden) ? c.hidden : [c.hidden];
    if (
      hidden.length < 1 || hidden.length > 8 ||
      !hidden.every((h) => typeof h === "number" && Number.isInteger(h) && h >= 1 && h <= 8192)
    ) {
      throw new CheckpointError(
        path,
        `its config has hidden ${JSON.stringify(c.hidden)}, expected 1 to 8 integer widths ` +
          "from 1 to 8192",
      );
    }
    const oneOf = (key: string, allowed: readonly string[], optional: boolean) => {
      if (optional && c[key] === undefined) return;
      if (!allowed.includes(c[key] as string)) {
        throw new CheckpointError(
          path,
          `its config has ${key} ${JSON.stringify(c[key])}, expected one of ` + allowed.join(", "),
        );
      }
    };
    oneOf("activation", ACTIVATIONS, false);
    oneOf("decoderActivation", ACTIVATIONS, true);
    oneOf("head", ENCODER_HEADS, true);
    if (c.slope !== undefined && !(typeof c.slope === "number" && Number.isFinite(c.slope))) {
      throw new CheckpointError(path, `its config has slope ${JSON.stringify(c.slope)}`);
    }
  }
  if (c.model === "conv") {
    return { model: "conv", config: { latent: Number(c.latent) }, likelihood };
  }
  const config: MlpConfig = {
    pixels: Number(c.pixels),
    hidden: c.hidden as number | number[],
    latent: Number(c.latent),
    activation: c.activation as ActivationKind,
    ...(c.decoderActivation ? { decoderActivation: c.decoderActivation as ActivationKind } : {}),
    ...(c.slope !== undefined ? { slope: Number(c.slope) } : {}),
    ...(c.head ? { head: c.head as EncoderHead } : {}),
  };
  return { model: "mlp", config, likelihood };
}
