/**
 * deno task train-notebook: the "notebook" tutorial preset; see src/mlp/presets.ts
 * for its architecture, loss and quirks, and src/app/preset_task.ts for what it writes to
 * out/train-notebook/.
 */

import { runTask } from "../src/cli.ts";
import { NOTEBOOK } from "../src/mlp/presets.ts";
import { trainPresetTask } from "../src/app/preset_task.ts";

runTask(() => trainPresetTask(NOTEBOOK, Deno.args));
