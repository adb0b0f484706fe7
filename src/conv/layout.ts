/**
 * The conv VAE's shape: layer list, parameter and batch norm
 * state layouts with PyTorch-style names, and PyTorch's default initialisation.
 */

import { initUniform, ParamLayout } from "../model/params.ts";
import { seededRandom } from "../random.ts";

/** The conv VAE's one free choice; its layers are fixed (ENC, DEC). */
export interface ConvConfig {
  /** L, the latent dimension. */
  latent: number;
}

/** Encoder convs: [in, out, kernel, pad, input size]. */
export const ENC = [[1, 32, 5, 2, 28], [32, 64, 5, 2, 14], [64, 128, 3, 1, 7]] as const;
/** Decoder transposed convs: [out channels, input size]; in channels = previous out (latent first). */
export const DEC = [[128, 1], [64, 3], [32, 7], [1, 15]] as const;
export const FLAT = 128 * 3 * 3, DEC_FLAT = 31 * 31, PIXELS = 784;

/** Layouts for a likelihood of `width` head numbers per pixel (dec.head is (784 W, 961)). */
export function convLayout(
  c: ConvConfig,
  width = 1,
): { params: ParamLayout; state: ParamLayout } {
  const params = new ParamLayout(), state = new ParamLayout();
  ENC.forEach(([ci, co, k], i) => {
    params.add(`enc.conv${i + 1}.weight`, [co, ci, k, k]);
    params.add(`enc.conv${i + 1}.bias`, [co]);
  });
  params.add("enc.head.weight", [2 * c.latent, FLAT]);
  params.add("enc.head.bias", [2 * c.latent]);
  let ci = c.latent;
  DEC.forEach(([co], i) => {
    params.add(`dec.deconv${i + 1}.weight`, [ci, co, 5, 5]);
    params.add(`dec.deconv${i + 1}.bias`, [co]);
    params.add(`dec.bn${i + 1}.weight`, [co]);
    params.add(`dec.bn${i + 1}.bias`, [co]);
    state.add(`dec.bn${i + 1}.running_mean`, [co]);
    state.add(`dec.bn${i + 1}.running_var`, [co]);
    ci = co;
  });
  params.add("dec.head.weight", [PIXELS * width, DEC_FLAT]);
  params.add("dec.head.bias", [PIXELS * width]);
  return { params, state };
}

/**
 * PyTorch's default initialisation: conv, transposed conv and linear weights
 * and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in of a transposed conv
 * is out_channels * k * k, as PyTorch computes it from weight dim 1); batch
 * norm gamma 1, beta 0, running mean 0, running variance 1.
 */
export function initConvParams(
  c: ConvConfig,
  seed: number,
  width = 1,
): { params: Float32Array; state: Float32Array } {
  const { params, state } = convLayout(c, width);
  const rand = seededRandom(seed);
  const t: Record<string, Float32Array> = {};
  for (const s of params.specs) {
    if (s.name.includes(".bn")) {
      t[s.name] = new Float32Array(s.size).fill(s.name.endsWith("weight") ? 1 : 0);
      continue;
    }
    const w = params.get(s.name.replace(/bias$/, "weight")).shape;
    // PyTorch takes fan_in from weight dim 1 times the kernel area, for both conv kinds.
    const fanIn = w.length === 2 ? w[1] : w[1] * w[2] * w[3];
    t[s.name] = initUniform(s.size, fanIn, rand);
  }
  const st: Record<string, Float32Array> = {};
  for (const s of state.specs) {
    st[s.name] = new Float32Array(s.size).fill(s.name.endsWith("var") ? 1 : 0);
  }
  return { params: params.join(t), state: state.join(st) };
}
