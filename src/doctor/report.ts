/**
 * What `deno task doctor` prints: the adapter and how Deno reaches it, the correctness check,
 * the training speeds and the verdict, as text sections or as one JSON object.
 */

import type { Gpu } from "../gpu/gpu.ts";
import { WANTED_LIMITS } from "../gpu/device.ts";
import type { ReferenceCheck } from "./reference_check.ts";
import type { Speeds, StepSpeed } from "./speed.ts";
import type { Verdict } from "./verdict.ts";

export interface DoctorReport {
  adapter: string;
  adapter_summary: string;
  backend: string;
  backend_how: string;
  driver: string | null;
  software: boolean;
  /** The limits the project asks for, at the values this device got. */
  limits: Record<string, number>;
  features: string[];
  /** The device's fixed subgroup size where it has subgroup operations; else null. */
  subgroup_size: number | null;
  /** lavapipe's worker threads and how they were chosen; null on any other adapter. */
  cpu_threads: string | null;
  /** Whose kernel variants ran ("hardware": a GPU's; "software": a CPU adapter's). */
  variants: string;
  reference: {
    what: string;
    errors: Record<string, number>;
    max_rel_err: number;
    limit: number;
    passed: boolean;
  };
  training: Speeds;
  conv_epoch_minutes: number;
  quick_course_minutes: number;
  fit: Verdict["fit"];
  verdict: string;
  advice: string[];
}

/** The limits of WANTED_LIMITS as the device holds them. */
function _wantedLimits(gpu: Gpu): Record<string, number> {
  return Object.fromEntries(WANTED_LIMITS.map((name) => [name, gpu.limits[name]]));
}

/** All the doctor found, as --json prints it. */
export function doctorReport(
  gpu: Gpu,
  ref: ReferenceCheck,
  speeds: Speeds,
  v: Verdict,
): DoctorReport {
  return {
    adapter: gpu.adapterName,
    adapter_summary: gpu.adapterSummary,
    backend: gpu.backend,
    backend_how: gpu.backendHow,
    driver: gpu.driver,
    software: gpu.isSoftware,
    limits: _wantedLimits(gpu),
    features: [...gpu.features],
    subgroup_size: gpu.subgroupSize,
    cpu_threads: gpu.cpuThreads,
    variants: gpu.variants,
    reference: {
      what: ref.what,
      errors: ref.errors,
      max_rel_err: ref.maxRelErr,
      limit: ref.limit,
      passed: ref.passed,
    },
    training: speeds,
    conv_epoch_minutes: v.convEpochMinutes,
    quick_course_minutes: v.quickCourseMinutes,
    fit: v.fit,
    verdict: v.summary,
    advice: v.advice,
  };
}

/** The adapter section: name, backend and how it is known, driver, limits, features. */
export function adapterLines(gpu: Gpu): string[] {
  const limits = Object.entries(_wantedLimits(gpu));
  const width = Math.max(...limits.map(([k]) => k.length)) + 2;
  return [
    `adapter:  ${gpu.adapterName}${gpu.isSoftware ? " (software: runs on the CPU)" : ""}`,
    `backend:  ${gpu.backend} (${gpu.backendHow})`,
    `driver:   ${gpu.driver ?? "unknown (no dpkg, or not a Mesa driver)"}`,
    "limits the project asks for (the adapter's maximum):",
    ...limits.map(([k, v]) => `  ${k.padEnd(width)}${v.toLocaleString("en-US")}`),
    ..._wrap("features: ", gpu.features.length ? [...gpu.features] : ["none"], 100),
    `subgroups: ${
      gpu.subgroupSize === null ? "none (or of varying size)" : `${gpu.subgroupSize} lanes`
    }`,
    ...(gpu.cpuThreads === null ? [] : [`threads:  ${gpu.cpuThreads}`]),
    `variants: ${gpu.variants} (the kernel variants ${
      gpu.variants === "hardware" ? "a GPU" : "a CPU adapter"
    } gets${gpu.variantsForced ? "; asked for with VAE_VARIANTS" : ""})`,
  ];
}

/** `head` then the items joined by ", ", wrapped to `width`, continuation lines indented. */
function _wrap(head: string, items: string[], width: number): string[] {
  const lines: string[] = [];
  let line = head;
  for (const [i, item] of items.entries()) {
    const piece = item + (i < items.length - 1 ? "," : "");
    if (line.trim() !== head.trim() && line.length + 1 + piece.length > width) {
      lines.push(line);
      line = " ".repeat(head.length) + piece;
    } else {
      line += (line === head ? "" : " ") + piece;
    }
  }
  return [...lines, line];
}

/** The reference check in two lines, ending in pass or FAIL. */
export function referenceLines(r: ReferenceCheck): string[] {
  const each = Object.entries(r.errors).map(([k, e]) => `${k} ${_exp(e)}`).join(", ");
  return [
    `reference check: ${r.what}`,
    `  max relative error ${_exp(r.maxRelErr)} (${each}; limit ${_exp(r.limit)}): ` +
    (r.passed ? "pass" : "FAIL: the GPU's results disagree with the f64 reference"),
  ];
}

/** One line per model's training speed. */
export function speedLines(s: Speeds): string[] {
  const line = (what: string, t: StepSpeed) =>
    `  ${what} ${t.shape}, batch ${t.batch}: ` +
    `${
      t.images_per_s.toLocaleString("en-US", {
        maximumFractionDigits: t.images_per_s < 100 ? 1 : 0,
      })
    } images/s ` +
    `(${t.ms.toFixed(t.ms < 100 ? 1 : 0)} ms per step, ${t.iters} timed after ${t.warmup} ` +
    "warm-up" +
    (t.cpu_share === undefined ? "" : `; ${Math.round(t.cpu_share * 100)}% of the CPUs`) + ")";
  return ["training speed:", line("MLP VAE", s.mlp), line("conv VAE", s.conv)];
}

/** The verdict and the advice under it. */
export function verdictLines(v: Verdict): string[] {
  return [`verdict: ${v.summary}`, ...v.advice.map((a) => `  - ${a}`)];
}

function _exp(x: number): string {
  return Number.isFinite(x) ? x.toExponential(1) : String(x);
}
