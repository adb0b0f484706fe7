/**
 * deno task export: a checkpoint's weights as a PyTorch state_dict in safetensors (no Adam
 * moments, batch norm buffers under PyTorch's names, num_batches_tracked included), for
 * `module.load_state_dict(safetensors.torch.load_file(FILE), strict=True)`. The module is
 * tools/pytorch_reference.py's ConvVae for conv checkpoints and tools/pytorch_mlp.py's MlpVae
 * for MLP ones; the task prints which, with its arguments. Needs no GPU. Training writes the
 * same file next to model.safetensors on every better epoch; this task exports older runs and
 * last.safetensors. See src/app/export.ts.
 */

import { parseFlags, printWritten, runTask } from "../src/cli.ts";
import { exportTorch, torchExportPath } from "../src/app/export.ts";

const SPEC = {
  checkpoint: {
    type: "string",
    default: "out/train-bernoulli/model.safetensors",
    value: "PATH",
    help: "the checkpoint a train task wrote (model.safetensors or last.safetensors)",
  },
  out: {
    type: "string",
    value: "FILE",
    help: "where the export goes; default: next to the checkpoint, " +
      `e.g. ${torchExportPath("DIR/model.safetensors")}`,
  },
} as const;

const USAGE = {
  task: "export",
  summary: "Writes a checkpoint's weights as the state_dict of the matching PyTorch module, " +
    "loadable with load_state_dict(..., strict=True).",
  details: [
    "In Python (tools/ on sys.path):\n" +
    "  from safetensors.torch import load_file\n" +
    "  from pytorch_reference import ConvVae\n" +
    "  model = ConvVae(latent=16, width=1)  # as the task prints it\n" +
    "  model.load_state_dict(load_file(FILE), strict=True)\n" +
    "  model.eval()  # batch norm uses the exported running statistics",
  ],
};

runTask(async () => {
  const f = parseFlags(Deno.args, SPEC, USAGE);
  const r = await exportTorch(f.checkpoint, f.out ?? torchExportPath(f.checkpoint));
  console.error(`${r.count} tensors for ${r.module}`);
  printWritten([r.path]);
});
