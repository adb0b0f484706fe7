/**
 * The WebGPU adapter and device, with the limits this project needs asked for
 * explicitly: WebGPU's defaults (128 MiB per storage binding, 256 invocations
 * per workgroup) are smaller than what most adapters can give.
 */

import { adapterBackend, type Backend, isMesaAdapter, mesaVersion } from "./backend.ts";

/** Thrown when `navigator.gpu` has no adapter to give. */
export class NoAdapterError extends Error {
  /** `env`: the variables that can hide an adapter (default: read from the environment). */
  constructor(env: Record<string, string | undefined> = _adapterEnv()) {
    const set = Object.entries(env).filter(([, v]) => v !== undefined);
    const backend = env.DENO_WEBGPU_BACKEND;
    super(
      "Cannot start WebGPU: navigator.gpu.requestAdapter() returned no adapter" +
        (backend === undefined
          ? " (backend: Deno's default, Vulkan on Linux).\n"
          : ` (backend: DENO_WEBGPU_BACKEND=${JSON.stringify(backend)}).\n`) +
        (set.length > 0
          ? `  These variables can hide an adapter: ${
            set.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")
          }; try again without them (unset ${set.map(([k]) => k).join(" ")}).\n`
          : "") +
        "  With an NVIDIA GPU: install its driver with Vulkan support (libvulkan1, nvidia driver).\n" +
        "  Without a GPU: install Mesa's software Vulkan driver,\n" +
        "    sudo apt-get install mesa-vulkan-drivers\n" +
        "  and run again.",
    );
    this.name = "NoAdapterError";
  }
}

/** The environment variables that choose or hide WebGPU backends and Vulkan drivers. */
const ADAPTER_ENV = ["DENO_WEBGPU_BACKEND", "VK_ICD_FILENAMES", "VK_DRIVER_FILES"] as const;

function _adapterEnv(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const k of ADAPTER_ENV) {
    try {
      out[k] = Deno.env.get(k);
    } catch {
      out[k] = undefined;
    }
  }
  return out;
}

export interface DeviceInfo {
  device: GPUDevice;
  /** Human-readable adapter name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  adapterName: string;
  /** True for CPU implementations (lavapipe/llvmpipe/SwiftShader). */
  isSoftware: boolean;
  hasTimestamps: boolean;
  /** The wgpu backend Deno picked, and how that is known (adapter.info does not say). */
  backend: Backend;
  backendHow: string;
  /** The driver's release where the system says it, e.g. "Mesa 25.0.7"; else null. */
  driver: string | null;
  /** The adapter's features, sorted. */
  features: string[];
  /**
   * The subgroup size where the device has WGSL's subgroup operations and every subgroup has
   * the same size (lavapipe: its SIMD width, 8 lanes on AVX2); else null.
   */
  subgroupSize: number | null;
  /**
   * lavapipe's worker threads and how that number was chosen, e.g. "4 (2 per CPU, ...)"; null
   * on any other adapter.
   */
  cpuThreads: string | null;
}

/** The limits asked for at their adapter's maximum; the rest stay at WebGPU's defaults. */
export const WANTED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
] as const;

/**
 * Mesa's Vulkan drivers print "error: XDG_RUNTIME_DIR is invalid" twice when it is
 * unset (headless machines, CI); it is harmless but reads like a failure, so give
 * them a private directory first.
 */
function _quietVulkanLoader(): void {
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/webgpu-vae-xdg-${Deno.uid() ?? 0}`;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Without env or write permission the warning stays; nothing else depends on it.
  }
}

/** Mesa's variable for lavapipe's worker threads (its own default: one per CPU). */
const LP_THREADS_ENV = "LP_NUM_THREADS";
/** The value this process set, so that a second device still says it was the default. */
let _lpThreadsSet: string | null = null;
/** The most worker threads llvmpipe starts (LP_MAX_THREADS in Mesa 25). */
const LP_MAX_THREADS = 32;

/**
 * The worker threads to give lavapipe where LP_NUM_THREADS is unset: two per CPU. A training
 * step is dozens of dispatches in a row, and with one thread per CPU the cores sit idle between
 * and at the tail of the small ones; twice as many keep them busy. Measured on 2 cores (Zen 4,
 * Mesa 25.0.7), 2 -> 4 threads: the MLP step 6,250-6,410 -> 7,630-7,940 images/s (3 paired
 * runs), train-notebook 4,010-4,110 -> 5,000-5,070, train-blog (batch 8) 1,720-1,800 ->
 * 2,120-2,130; the conv step (293-305 against 295-304) and the 1024^3 matmul were unchanged, and
 * 3 threads gained little. A value already set is the user's and is kept.
 */
export function lavapipeThreads(set: string | undefined, cpus: number): string {
  if (set !== undefined && set !== "") return set;
  return String(Math.min(LP_MAX_THREADS, 2 * Math.max(1, cpus)));
}

/**
 * Sets LP_NUM_THREADS before the adapter is requested (Mesa reads it when it makes its device)
 * and says how it was chosen; null where the environment cannot be read or written.
 */
function _lavapipeThreads(): { threads: string; how: string } | null {
  try {
    const set = Deno.env.get(LP_THREADS_ENV);
    const threads = lavapipeThreads(set, navigator.hardwareConcurrency);
    if (set === undefined || set === "" || set === _lpThreadsSet) {
      Deno.env.set(LP_THREADS_ENV, threads);
      _lpThreadsSet = threads;
      return { threads, how: `2 per CPU, the project's default; ${LP_THREADS_ENV} to change` };
    }
    return { threads, how: `${LP_THREADS_ENV} as set` };
  } catch {
    return null;
  }
}

/** Requests the adapter and a device with the largest limits it offers. */
export async function requestDevice(): Promise<DeviceInfo> {
  if (typeof navigator === "undefined" || !("gpu" in navigator)) throw new NoAdapterError();
  _quietVulkanLoader();
  const lpThreads = _lavapipeThreads();
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new NoAdapterError();
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const hasTimestamps = adapter.features.has("timestamp-query");
  const features: GPUFeatureName[] = hasTimestamps ? ["timestamp-query"] : [];
  // Deno's adapter does not list "subgroups" among its features even where Vulkan has them
  // (lavapipe), but grants the request; where it refuses, the device comes without them.
  let device: GPUDevice;
  let hasSubgroups = true;
  try {
    device = await adapter.requestDevice({
      requiredLimits,
      requiredFeatures: [...features, "subgroups" as GPUFeatureName],
    });
  } catch {
    hasSubgroups = false;
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures: features });
  }
  hasSubgroups &&= device.features.has("subgroups");
  const info = adapter.info;
  const adapterName = info.description ||
    `${info.vendor} ${info.architecture} ${info.device}`.trim();
  const isSoftware = info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(adapterName);
  const adapterFeatures = [...adapter.features].sort();
  // GPUAdapterInfo's fields are getters: a spread would copy none of them.
  const { backend, how } = adapterBackend(
    {
      subgroupMinSize: info.subgroupMinSize,
      subgroupMaxSize: info.subgroupMaxSize,
      features: adapterFeatures,
    },
    _adapterEnv(),
  );
  const driver = isMesaAdapter(info) ? mesaVersion(backend) : null;
  return {
    device,
    adapterName,
    isSoftware,
    hasTimestamps,
    backend,
    backendHow: how,
    driver,
    features: adapterFeatures,
    subgroupSize: hasSubgroups && info.subgroupMinSize === info.subgroupMaxSize
      ? info.subgroupMinSize
      : null,
    cpuThreads: lpThreads && /llvmpipe|lavapipe/i.test(adapterName)
      ? `${lpThreads.threads} (${lpThreads.how})`
      : null,
  };
}
