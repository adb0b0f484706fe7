import { bernoulli } from "../src/likelihood/bernoulli.ts";
import type { Likelihood } from "../src/likelihood/likelihood.ts";
import { mse } from "../src/likelihood/mse.ts";
import { type MlpConfig, mlpLayout } from "../src/mlp/mlp_net.ts";
import { initMlpParams, MlpVae } from "../src/mlp/mlp_vae.ts";
import { mlpBuilderStep, type Params } from "../src/reference/mlp_builder.ts";
import { assertClose, gpuTest, normal, numericGrad, rng, uniform } from "./helpers.ts";

// The two presets' shapes in miniature: two hidden layers of LeakyReLU(0.2) with the
// log-variance head; sigmoid hidden layer, tanh decoder and the sigmoid (mu, sigma) head.
const NOTEBOOK_LIKE: MlpConfig = {
  pixels: 6,
  hidden: [5, 4],
  latent: 2,
  activation: "leaky_relu",
  slope: 0.2,
};
const BLOG_LIKE: MlpConfig = {
  pixels: 6,
  hidden: 5,
  latent: 2,
  activation: "sigmoid",
  decoderActivation: "tanh",
  head: "sigmoid",
};
const CASES: [string, MlpConfig, Likelihood, number][] = [
  ["two LeakyReLU layers, Bernoulli on grey levels", NOTEBOOK_LIKE, bernoulli, 1],
  ["sigmoid/tanh with the sigmoid head, MSE, KL weight 0.3", BLOG_LIKE, mse, 0.3],
];

function _params(c: MlpConfig, width: number, rand: () => number): Params {
  const p: Params = {};
  for (const s of mlpLayout(c, width).specs) p[s.name] = uniform(rand, s.size, -0.8, 0.8);
  return p;
}

Deno.test("mlpBuilderStep gradients match central differences in f64 for every tensor", () => {
  for (const [what, c, lik, klWeight] of CASES) {
    const rand = rng(7);
    const p = _params(c, lik.width, rand), N = 3;
    const x = uniform(rand, N * c.pixels, 0.05, 0.95);
    const eps = normal(rand, N * c.latent);
    const o = { scale: 1 / N, klWeight };
    const { grads } = mlpBuilderStep(p, c, lik.reference, x, eps, N, o);
    for (const name of Object.keys(p)) {
      const f = (w: Float64Array) =>
        mlpBuilderStep({ ...p, [name]: w }, c, lik.reference, x, eps, N, o).loss;
      assertClose(`${what}: d ${name}`, grads[name], numericGrad(f, p[name].slice()), {
        atol: 1e-7,
        rtol: 1e-5,
      });
    }
  }
});

gpuTest(
  "the MLP builder's GPU step (deep, LeakyReLU, sigmoid head, MSE) matches mlpBuilderStep",
  async (gpu) => {
    for (const [what, small, lik, klWeight] of CASES) {
      const c: MlpConfig = {
        ...small,
        pixels: 784,
        hidden: Array.isArray(small.hidden) ? [19, 9] : 13,
        latent: 3,
      };
      const N = 5, layout = mlpLayout(c, lik.width);
      const vae = new MlpVae(gpu, c, initMlpParams(layout, 3), lik);
      const g = await vae.graph(N);
      const rand = rng(8);
      const x = Float32Array.from(uniform(rand, N * 784, 0, 1).map((v) => (v < 0.5 ? 0 : v)));
      gpu.write(g.x, x);
      const sums = gpu.storage("sums", 8);
      const rec = gpu.record();
      g.sampleEps(rec, 3, 0);
      g.forwardLoss(rec, sums, 0, "train");
      g.backward(rec, { scale: 1 / N, klWeight });
      await rec.submit();
      const eps = Float64Array.from(await gpu.readF32(g.eps, 0, N * c.latent));
      const p: Params = {};
      const flat = layout.split(await gpu.readF32(vae.params));
      for (const [k, v] of Object.entries(flat)) p[k] = Float64Array.from(v);
      const ref = mlpBuilderStep(p, c, lik.reference, Float64Array.from(x), eps, N, {
        scale: 1 / N,
        klWeight,
      });
      assertClose(`${what}: per image`, await gpu.readF32(g.perImage, 0, 2 * N), ref.perImage, {
        atol: 1e-3,
        rtol: 1e-4,
      });
      const grads = layout.split(await gpu.readF32(vae.grads));
      for (const [name, want] of Object.entries(ref.grads)) {
        assertClose(`${what}: d ${name}`, grads[name], want, { atol: 1e-5, rtol: 1e-3 });
      }
      sums.destroy();
    }
  },
);
