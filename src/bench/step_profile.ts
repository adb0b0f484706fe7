/**
 * The bench's --profile output: where one training step's GPU time goes, kernel by kernel,
 * from the per-dispatch timestamps of src/gpu/profile.ts.
 */

import { type DispatchTiming, kernelShares } from "../gpu/profile.ts";

/** One profiled training step. */
export interface StepProfile {
  /** The bench entry it belongs to, e.g. "MLP VAE train step". */
  name: string;
  batch: number;
  /** Wall time of the profiled step, submit to finish (one pass per dispatch included). */
  wallMs: number;
  timings: DispatchTiming[];
}

/** The profiles as text: per step its total, then one row per kernel, the costliest first. */
export function formatProfiles(profiles: readonly StepProfile[]): string[] {
  const lines: string[] = [];
  for (const p of profiles) {
    const total = p.timings.reduce((s, t) => s + t.ms, 0);
    lines.push(
      "",
      `profile: ${p.name}, batch ${p.batch}: ${p.timings.length} dispatches, ` +
        `${total.toFixed(1)} ms of GPU time in them, ${p.wallMs.toFixed(1)} ms wall ` +
        "(one timestamped pass per dispatch)",
    );
    const rows = kernelShares(p.timings);
    const width = Math.max(6, ...rows.map((r) => r.kernel.length));
    lines.push(`  ${"kernel".padEnd(width)}  dispatches        ms   share`);
    for (const r of rows) {
      lines.push(
        `  ${r.kernel.padEnd(width)}  ${String(r.dispatches).padStart(10)}  ` +
          `${r.ms.toFixed(2).padStart(8)}  ${(100 * r.share).toFixed(1).padStart(5)}%`,
      );
    }
  }
  return lines;
}

/** profile.json: per profiled step its kernels' shares and every dispatch in order. */
export function profilesJson(profiles: readonly StepProfile[]): string {
  return JSON.stringify(
    profiles.map((p) => ({
      name: p.name,
      batch: p.batch,
      wall_ms: p.wallMs,
      gpu_ms: p.timings.reduce((s, t) => s + t.ms, 0),
      kernels: kernelShares(p.timings),
      dispatches: p.timings,
    })),
    null,
    2,
  ) + "\n";
}
