/**
 * Weights-only export for PyTorch: a checkpoint's parameters and batch norm statistics as the
 * state_dict of the matching PyTorch module, in a safetensors file that
 * `module.load_state_dict(safetensors.torch.load_file(path), strict=True)` takes.
 *
 * The layouts already name and shape tensors as PyTorch does (Conv2d (out, in, kh, kw),
 * ConvTranspose2d (in, out, kh, kw), Linear (out, in)), so the export keeps the parameters as
 * they are, drops the running statistics' "state." prefix, gives each batch norm the int64
 * scalar `num_batches_tracked` PyTorch keeps (the steps trained: Adam's t, one batch norm
 * update per step) and leaves Adam's moments out. The modules, named in the file's metadata
 * (`module`, `module_args` as JSON keyword arguments):
 * - conv: tools/pytorch_reference.py's ConvVae(latent, width);
 * - mlp: tools/pytorch_mlp.py's MlpVae(pixels, hidden, latent, activation, ...).
 */

import { basename, dirname, join, resolve } from "node:path";
import { InputError } from "../cli.ts";
import { convArchitecture } from "../conv/conv_net.ts";
import { OutputError } from "../io.ts";
import { mlpArchitecture } from "../mlp/mlp_net.ts";
import type { Architecture } from "../model/network.ts";
import { saveSafetensors, type TensorEntry } from "../safetensors.ts";
import { loadCheckpoint, type LoadedCheckpoint } from "../train/checkpoint.ts";
import { checkpointModel } from "./models.ts";

/** What the export's metadata says its tensors are for (safetensors.torch.save_file's). */
const TORCH_FORMAT = "pt";

/** A PyTorch state_dict and the module that takes it. */
interface TorchExport {
  tensors: Record<string, TensorEntry>;
  metadata: Record<string, string>;
  /** E.g. "ConvVae(latent=16, width=1) from tools/pytorch_reference.py". */
  module: string;
}

/** Where the export of `checkpoint` goes by default: model.safetensors -> model.torch.safetensors. */
export function torchExportPath(checkpoint: string): string {
  return join(dirname(checkpoint), `${basename(checkpoint, ".safetensors")}.torch.safetensors`);
}

/** The state_dict of `ckpt`'s model under PyTorch's names, and the module it fits. */
function _torchStateDict(ckpt: LoadedCheckpoint): TorchExport {
  const m = checkpointModel(ckpt), lik = m.likelihood;
  const arch: Architecture = m.model === "conv"
    ? convArchitecture(m.config, lik.width)
    : mlpArchitecture(m.config, lik.width);
  // `read` checks the config, every tensor's shape and that none diverged.
  const t = ckpt.read({
    describe: () => ({ ...arch.describe(), likelihood: lik.name, ...lik.constants }), // Vae's
    layout: arch.params,
    state: arch.state ? { layout: arch.state } : null,
  });
  const steps = Number.isSafeInteger(ckpt.state.adamT) ? ckpt.state.adamT : 0;
  const tensors: Record<string, TensorEntry> = {};
  const put = (flat: Float32Array, layout: Architecture["params"]) => {
    for (const [name, data] of Object.entries(layout.split(flat))) {
      tensors[name] = { dtype: "F32", shape: layout.get(name).shape, data };
      if (name.endsWith(".running_mean")) {
        tensors[name.replace(/running_mean$/, "num_batches_tracked")] = {
          dtype: "I64",
          shape: [],
          data: BigInt64Array.of(BigInt(steps)),
        };
      }
    }
  };
  put(t.params, arch.params);
  if (arch.state && t.state) put(t.state, arch.state);

  const args: Record<string, unknown> = m.model === "conv"
    ? { latent: m.config.latent, width: lik.width }
    : {
      pixels: m.config.pixels,
      hidden: m.config.hidden,
      latent: m.config.latent,
      activation: m.config.activation,
      decoder_activation: m.config.decoderActivation ?? m.config.activation,
      slope: m.config.slope ?? 0.01,
      head: m.config.head ?? "logvar",
      width: lik.width,
    };
  const [cls, file] = m.model === "conv"
    ? ["ConvVae", "tools/pytorch_reference.py"]
    : ["MlpVae", "tools/pytorch_mlp.py"];
  const call = Object.entries(args).map(([k, v]) => `${k}=${_python(v)}`).join(", ");
  return {
    tensors,
    metadata: {
      format: TORCH_FORMAT,
      module: `${file}:${cls}`,
      module_args: JSON.stringify(args),
      config: JSON.stringify(ckpt.config),
      epoch: String(ckpt.state.epoch),
      steps: String(steps),
      source: basename(ckpt.path),
    },
    module: `${cls}(${call}) from ${file}`,
  };
}

/**
 * Writes the PyTorch export of checkpoint `src` to `dst` (default torchExportPath(src))
 * atomically; refuses to write over `src`. Returns where it went and the module it fits.
 */
export async function exportTorch(
  src: string,
  dst: string = torchExportPath(src),
): Promise<{ path: string; module: string; count: number }> {
  if (resolve(dst) === resolve(src)) {
    throw new InputError(
      `Cannot export ${src} onto itself: --out names the checkpoint; pass another file or ` +
        "leave --out out for the default",
    );
  }
  const ckpt = await loadCheckpoint(
    src,
    "run a train task first (e.g. `deno task train-bernoulli`)",
  );
  const e = _torchStateDict(ckpt);
  if (await Deno.stat(dst).then((s) => s.isDirectory, () => false)) {
    throw new OutputError(dst, "it is a directory; pass a file name to --out");
  }
  try {
    await saveSafetensors(dst, e.tensors, e.metadata);
  } catch (err) {
    throw new OutputError(dst, (err as Error).message);
  }
  return { path: dst, module: e.module, count: Object.keys(e.tensors).length };
}

/** A JSON value as a Python literal, for the module call in messages. */
function _python(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(_python).join(", ")}]`;
  return String(v);
}
