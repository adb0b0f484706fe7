/**
 * deno task bench --torch: times the same workloads in PyTorch on this machine's CPU
 * (src/bench/torch_bench.py, run with a Python that has torch), reads the script's JSON, and
 * gives each matching entry PyTorch's number and our ratio to it. Ratios are measured in the
 * same run on the same machine, so they mean something wherever the bench runs.
 */

import { fileURLToPath } from "node:url";
import { InputError } from "../cli.ts";
import { type Entry, type Group, TORCH_WORKLOADS, type TorchWorkload } from "./entry.ts";

const TORCH_SCRIPT = fileURLToPath(new URL("./torch_bench.py", import.meta.url));

/** One workload's timing as torch_bench.py prints it. */
export interface TorchTiming {
  shape: string;
  ms: number;
  iters: number;
  /** matmul: GFLOP/s; the training steps: images/s. */
  value: number;
}

export interface TorchResult {
  /** torch.__version__, the Python's version, the threads torch ran with. */
  torch: string;
  python: string;
  threads: number;
  /** The BLAS libraries torch had loaded (null where the script could not tell). */
  blas: string[] | null;
  /** The interpreter that ran the script. */
  interpreter: string;
  /** With several BLAS builds timed: the build (and library) that gave each workload's figure. */
  blasByWorkload?: Partial<Record<TorchWorkload, string>>;
  workloads: Partial<Record<TorchWorkload, TorchTiming>>;
}

/** The Python that runs the script: $PYTHON alone if set, else /usr/bin/python3, then python3. */
export async function findTorchPython(
  env: string | undefined = Deno.env.get("PYTHON"),
): Promise<string> {
  const tried: string[] = [];
  for (const python of env ? [env] : ["/usr/bin/python3", "python3"]) {
    try {
      const r = await new Deno.Command(python, {
        args: ["-c", "import torch"],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (r.code === 0) return python;
      const last = new TextDecoder().decode(r.stderr).trim().split("\n").at(-1);
      tried.push(`${python}: ${last || `exit code ${r.code}`}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      tried.push(`${python}: not found`);
    }
  }
  throw new InputError(
    `Cannot time PyTorch for --torch: no Python with torch (${tried.join("; ")}). ` +
      "Install it with `sudo apt-get install python3-torch`, or set PYTHON to a python3 that " +
      "has torch.",
  );
}

/** The workloads whose entries the chosen groups produce. */
export function torchWorkloadsFor(groups: ReadonlySet<Group>): TorchWorkload[] {
  return (Object.keys(TORCH_WORKLOADS) as TorchWorkload[]).filter((w) =>
    groups.has(TORCH_WORKLOADS[w].group)
  );
}

export interface TorchRunOptions {
  threads: number;
  /** Time each training workload should fill (matmul: a quarter of it). */
  seconds: number;
  only: TorchWorkload[];
  /** Tiny sizes and one timed step: checks the script, times nothing worth reading. */
  tiny?: boolean;
  /** Where the script's progress goes (default: this process's stderr). */
  stderr?: "inherit" | "piped";
  /** A BLAS build's directory to load libblas.so.3 from (LD_LIBRARY_PATH); none: the system's. */
  blasDir?: string;
}

/** Debian's OpenBLAS builds, each with its own libblas.so.3, chosen per run by LD_LIBRARY_PATH. */
const BLAS_BUILDS = ["openblas-pthread", "openblas-openmp"];

/**
 * The BLAS builds installed beside the system's default (Debian's libopenblas0-pthread and
 * libopenblas0-openmp), as directories holding a libblas.so.3; empty where there are none.
 */
export function blasBuilds(libDirs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]): {
  name: string;
  dir: string;
}[] {
  const found: { name: string; dir: string }[] = [];
  for (const lib of libDirs) {
    for (const name of BLAS_BUILDS) {
      const dir = `${lib}/${name}`;
      try {
        if (Deno.statSync(`${dir}/libblas.so.3`).isFile) found.push({ name, dir });
      } catch { /* not installed */ }
    }
  }
  return found;
}

/**
 * PyTorch with each BLAS build there is (or the system's alone), keeping per workload the
 * fastest run: a ratio is against the best this machine's PyTorch can do.
 */
export async function runTorchBest(
  python: string,
  o: TorchRunOptions,
  builds = blasBuilds(),
): Promise<{ best: TorchResult; runs: { build: string; result: TorchResult }[] }> {
  const runs: { build: string; result: TorchResult }[] = [];
  for (const b of builds.length ? builds : [{ name: "system default", dir: "" }]) {
    console.error(`PyTorch with BLAS ${b.name}`);
    runs.push({ build: b.name, result: await runTorchBench(python, { ...o, blasDir: b.dir }) });
  }
  const best = pickFastest(runs);
  return { best, runs };
}

/** Per workload the fastest of several runs (one per BLAS build), naming the build it came from. */
export function pickFastest(runs: { build: string; result: TorchResult }[]): TorchResult {
  const best: TorchResult = { ...runs[0].result, workloads: {}, blasByWorkload: {} };
  for (const w of Object.keys(TORCH_WORKLOADS) as TorchWorkload[]) {
    let top: { build: string; result: TorchResult } | null = null;
    for (const r of runs) {
      const t = r.result.workloads[w];
      if (t && (!top || t.value > top.result.workloads[w]!.value)) top = r;
    }
    if (!top) continue;
    best.workloads[w] = top.result.workloads[w];
    best.blasByWorkload![w] = `${top.build} (${(top.result.blas ?? []).join(", ") || "unknown"})`;
  }
  return best;
}

/** Runs torch_bench.py with `python` and parses what it prints. */
export async function runTorchBench(python: string, o: TorchRunOptions): Promise<TorchResult> {
  const args = [
    TORCH_SCRIPT,
    "--threads",
    String(o.threads),
    "--seconds",
    String(o.seconds),
    "--only",
    o.only.join(","),
    ...(o.tiny ? ["--tiny"] : []),
  ];
  const env = o.blasDir ? { LD_LIBRARY_PATH: o.blasDir } : undefined;
  const r = await new Deno.Command(python, {
    args,
    stdout: "piped",
    stderr: o.stderr ?? "inherit",
    ...(env ? { env } : {}),
  }).output();
  const text = new TextDecoder();
  if (r.code !== 0) {
    const err = o.stderr === "piped" ? `:\n${text.decode(r.stderr).trim()}` : " (its stderr above)";
    throw new Error(`Cannot time PyTorch: ${python} ${args.join(" ")} exited with ${r.code}${err}`);
  }
  return parseTorchJson(text.decode(r.stdout), python);
}

/** Reads torch_bench.py's JSON; a TypeError names the first field that is missing or wrong. */
export function parseTorchJson(text: string, interpreter: string): TorchResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TypeError(
      `Cannot read the PyTorch bench's output: not JSON (${(e as Error).message}): ` +
        JSON.stringify(text.slice(0, 200)),
    );
  }
  const bad = (path: string, v: unknown, want: string) =>
    new TypeError(
      `Cannot read the PyTorch bench's output: ${path} should be ${want}, got ${JSON.stringify(v)}`,
    );
  const obj = (path: string, v: unknown) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(path, v, "an object");
    return v as Record<string, unknown>;
  };
  const str = (path: string, v: unknown) => {
    if (typeof v !== "string") throw bad(path, v, "a string");
    return v;
  };
  const pos = (path: string, v: unknown) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw bad(path, v, "a positive number");
    }
    return v;
  };
  const top = obj("the output", raw), all = obj("workloads", top.workloads);
  const workloads: TorchResult["workloads"] = {};
  for (const [key, v] of Object.entries(all)) {
    if (!(key in TORCH_WORKLOADS)) throw bad("workloads", key, "matmul, mlp or conv");
    const w = key as TorchWorkload, t = obj(`workloads.${w}`, v);
    const metric = TORCH_WORKLOADS[w].unit === "GFLOP/s" ? "gflops" : "images_per_s";
    workloads[w] = {
      shape: str(`workloads.${w}.shape`, t.shape),
      ms: pos(`workloads.${w}.ms`, t.ms),
      iters: pos(`workloads.${w}.iters`, t.iters),
      value: pos(`workloads.${w}.${metric}`, t[metric]),
    };
  }
  const blas = top.blas ?? null;
  if (blas !== null && !(Array.isArray(blas) && blas.every((b) => typeof b === "string"))) {
    throw bad("blas", blas, "a list of paths or null");
  }
  return {
    torch: str("torch", top.torch),
    python: str("python", top.python),
    threads: pos("threads", top.threads),
    blas,
    interpreter,
    workloads,
  };
}

/** PyTorch's number for the entry's workload and ours over it; none if the entry has no match. */
export function torchFields(
  e: Pick<Entry, "group" | "name" | "shape" | "gflops" | "images_per_s">,
  torch: TorchResult | null,
): Pick<Entry, "torch_gflops" | "torch_images_per_s" | "ratio_torch"> {
  if (!torch) return {};
  for (const [key, w] of Object.entries(TORCH_WORKLOADS)) {
    if (e.group !== w.group || e.name !== w.name) continue;
    if (w.shape !== undefined && e.shape !== w.shape) continue;
    const t = torch.workloads[key as TorchWorkload];
    const ours = w.unit === "GFLOP/s" ? e.gflops : e.images_per_s;
    if (!t || ours === undefined) return {};
    return w.unit === "GFLOP/s"
      ? { torch_gflops: t.value, ratio_torch: ours / t.value }
      : { torch_images_per_s: t.value, ratio_torch: ours / t.value };
  }
  return {};
}

/** The header's line on the PyTorch run, and one line per compared entry. */
export function torchNotes(torch: TorchResult, entries: Entry[]): string[] {
  const fmt = (v: number) => v.toLocaleString("en-US", { maximumFractionDigits: v < 100 ? 2 : 0 });
  const lines = entries.filter((e) => e.ratio_torch !== undefined).map((e) => {
    const gf = e.torch_gflops !== undefined;
    const [ours, theirs] = gf
      ? [e.gflops!, e.torch_gflops!]
      : [e.images_per_s!, e.torch_images_per_s!];
    const what = [e.name, e.shape, e.variant].filter((x) => x).join(", ");
    return `  ${what}: ${fmt(ours)} vs ${fmt(theirs)} ${gf ? "GFLOP/s" : "images/s"} = ` +
      `${formatRatio(e.ratio_torch!)}`;
  });
  const blas = torch.blas === null
    ? "unknown"
    : torch.blas.length === 0
    ? "none loaded"
    : torch.blas.join(", ");
  const reference = torch.blas?.some((b) => REFERENCE_BLAS.test(b))
    ? [
      "  (the reference BLAS: one thread, unoptimized; PyTorch's matmul, linear layers and " +
      "transposed convs call it, only its conv2d goes through oneDNN, so the ratios flatter " +
      "us; OpenBLAS would be faster: `sudo apt-get install libopenblas0-pthread`)",
    ]
    : [];
  const byWorkload = Object.entries(torch.blasByWorkload ?? {}).map(([w, b]) =>
    `  ${w}: the fastest BLAS build was ${b}`
  );
  return [
    `PyTorch ${torch.torch} (Python ${torch.python}, ${torch.interpreter}) on this machine's ` +
    `CPU, ${torch.threads} threads, same workloads (src/bench/torch_bench.py); BLAS: ${blas}`,
    ...byWorkload,
    ...(byWorkload.length ? [] : reference),
    "ours / PyTorch:",
    ...lines,
  ];
}

/** Debian's reference BLAS, which its torch calls unless an optimized libblas.so.3 is installed. */
const REFERENCE_BLAS = /\/blas\/libblas\.so/;

/** "0.174x", "2.31x". */
export function formatRatio(r: number): string {
  return `${r.toFixed(r < 1 ? 3 : 2)}x`;
}
