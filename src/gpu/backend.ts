/**
 * Which wgpu backend Deno picked and which Mesa release drives it: facts that
 * `adapter.info` leaves out, and that decide how fast the software adapter runs
 * (lavapipe under Vulkan against llvmpipe under GL, Mesa 22 against Mesa 25).
 *
 * On Linux Deno offers two backends, Vulkan (its default when a Vulkan driver is
 * installed) and GL; DENO_WEBGPU_BACKEND restricts it to a comma list of them.
 */

/** The wgpu backend Deno picked ("unknown" where neither the environment nor the adapter tells). */
export type Backend = "vulkan" | "gl" | "unknown";

export interface BackendGuess {
  backend: Backend;
  /** "DENO_WEBGPU_BACKEND", "inferred from ..." with the evidence, or "not inferable: ...". */
  how: string;
}

/** The parts of GPUAdapterInfo and the adapter's features that tell the backends apart. */
export interface AdapterFacts {
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  features?: Iterable<string>;
}

// wgpu-types' MINIMUM_SUBGROUP_MIN_SIZE and MAXIMUM_SUBGROUP_MAX_SIZE: the GL backend has no
// subgroup query and always reports these; Vulkan reports the driver's sizes (lavapipe 8..8),
// or these same bounds where the driver lacks VK_EXT_subgroup_size_control.
const WGPU_SUBGROUP_MIN = 4;
const WGPU_SUBGROUP_MAX = 128;

/**
 * The backend `env.DENO_WEBGPU_BACKEND` pins (one of vulkan/vk, gl/gles/opengl, as wgpu's
 * `Backends::from_comma_list` spells them); otherwise inferred from the adapter, saying how.
 */
export function adapterBackend(
  info: AdapterFacts,
  env: Record<string, string | undefined>,
): BackendGuess {
  const named = env.DENO_WEBGPU_BACKEND;
  const pinned = named === undefined ? [] : _backendsNamed(named);
  if (pinned.length === 1) return { backend: pinned[0], how: "DENO_WEBGPU_BACKEND" };
  const guess = _infer(info);
  return named === undefined || named.trim() === "" ? guess : {
    ...guess,
    how: `${guess.how}; DENO_WEBGPU_BACKEND=${JSON.stringify(named)} does not name one backend`,
  };
}

function _backendsNamed(list: string): Backend[] {
  const out = new Set<Backend>();
  for (const token of list.toLowerCase().split(",").map((s) => s.trim())) {
    if (token === "vulkan" || token === "vk") out.add("vulkan");
    else if (token === "gl" || token === "gles" || token === "opengl") out.add("gl");
    else if (token !== "") out.add("unknown");
  }
  return [...out];
}

function _infer(info: AdapterFacts): BackendGuess {
  const min = info.subgroupMinSize, max = info.subgroupMaxSize;
  if (min === undefined || max === undefined || min === 0 || max === 0) {
    return {
      backend: "unknown",
      how: "not inferable: the adapter reports no subgroup sizes",
    };
  }
  const sizes = `subgroup sizes ${min}..${max}`;
  if (min !== WGPU_SUBGROUP_MIN || max !== WGPU_SUBGROUP_MAX) {
    return {
      backend: "vulkan",
      how: `inferred from ${sizes}; wgpu's GL backend always reports ` +
        `${WGPU_SUBGROUP_MIN}..${WGPU_SUBGROUP_MAX}`,
    };
  }
  const features = new Set(info.features ?? []);
  // ETC2 is core in GLES 3, so wgpu's GL backend always offers it; float32-filterable it never
  // does. Lavapipe under Vulkan is the other way round.
  if (features.has("texture-compression-etc2") && !features.has("float32-filterable")) {
    return {
      backend: "gl",
      how: `inferred from ${sizes} and texture-compression-etc2 without float32-filterable, ` +
        "as wgpu's GL backend reports",
    };
  }
  return {
    backend: "unknown",
    how: `not inferable: ${sizes} and these features fit both Vulkan and GL`,
  };
}

/** "Mesa 25.0.7" from a Debian package version such as "25.0.7-2~bpo12+1"; null if none. */
export function parseMesaVersion(dpkgVersion: string): string | null {
  // [epoch:]upstream[-revision]; Mesa's upstream version is major.minor[.patch].
  const m = /^(?:\d+:)?(\d+\.\d+(?:\.\d+)?)/.exec(dpkgVersion.trim());
  return m ? `Mesa ${m[1]}` : null;
}

/** The major version of a "Mesa X.Y.Z" string, or null. */
export function mesaMajor(driver: string | null): number | null {
  const m = /^Mesa (\d+)\./.exec(driver ?? "");
  return m ? Number(m[1]) : null;
}

/** The Debian package that holds Mesa's driver for each backend. */
const MESA_PACKAGE: Record<Backend, string> = {
  vulkan: "mesa-vulkan-drivers",
  gl: "libgl1-mesa-dri",
  unknown: "mesa-vulkan-drivers",
};

const _versions = new Map<string, string | null>();

/**
 * The installed Mesa release of the backend's driver package, from dpkg-query (asked once per
 * package and process, ~10 ms); null without dpkg, the package, or --allow-run. Never throws.
 */
export function mesaVersion(backend: Backend = "vulkan"): string | null {
  const pkg = MESA_PACKAGE[backend];
  if (!_versions.has(pkg)) _versions.set(pkg, _dpkgVersion(pkg));
  return _versions.get(pkg)!;
}

function _dpkgVersion(pkg: string): string | null {
  try {
    const r = new Deno.Command("dpkg-query", {
      args: ["-W", "-f", "${Version}", pkg],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return r.success ? parseMesaVersion(new TextDecoder().decode(r.stdout)) : null;
  } catch {
    return null; // no dpkg (not Debian), or no --allow-run
  }
}

/**
 * Whether Mesa drives this adapter, so that the Mesa package's version is its driver's:
 * Mesa's own Vulkan vendor id (0x10005, lavapipe), or a Mesa driver's name in the description.
 */
export function isMesaAdapter(info: { vendor?: string; description?: string }): boolean {
  return info.vendor === String(0x10005) ||
    /llvmpipe|lavapipe|softpipe|radv|mesa|nvk|zink|turnip|panvk|v3dv/i.test(info.description ?? "");
}

/** One line for logs: "llvmpipe (LLVM 15.0.6, 256 bits); vulkan; Mesa 25.0.7 (software)". */
export function adapterSummary(
  name: string,
  backend: Backend,
  driver: string | null,
  isSoftware: boolean,
): string {
  const parts = [name, backend === "unknown" ? "backend unknown" : backend];
  if (driver !== null) parts.push(driver);
  return parts.join("; ") + (isSoftware ? " (software)" : "");
}
