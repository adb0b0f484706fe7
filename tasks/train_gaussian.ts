/**
 * deno task train-gaussian: the course's conv VAE with the gaussian likelihood;
 * flags, outputs and metrics as described in src/conv/train_task.ts (`--help` lists them).
 */

import { runTask } from "../src/cli.ts";
import { trainConvTask } from "../src/conv/train_task.ts";

runTask(() => trainConvTask("gaussian", Deno.args));
