/**
 * deno task train-gaussian: the course's conv VAE with the gaussian likelihood;
 * flags, outputs and metrics as described in src/app/train_conv.ts (`--help` lists them).
 */

import { runTask } from "../src/cli.ts";
import { trainConvTask } from "../src/app/train_conv.ts";

runTask(() => trainConvTask("gaussian", Deno.args));
