/**
 * deno task train-blog: the "blog" tutorial preset; see src/mlp/presets.ts
 * for its architecture, loss and quirks, and src/app/preset_task.ts for what it writes to
 * out/train-blog/.
 */

import { runTask } from "../src/cli.ts";
import { BLOG } from "../src/mlp/presets.ts";
import { trainPresetTask } from "../src/app/preset_task.ts";

runTask(() => trainPresetTask(BLOG, Deno.args));
