/**
 * The one loader of kernel sources: kernels/<name>.wgsl with its `// #include "lib/x.wgsl"`
 * lines replaced by those files, and a line map, so that a compile error in the assembled text
 * still names the real file:line. Files are read through a `KernelFiles` function: from disk in
 * Deno (`kernelFilesFromDisk`), from a table fetched beforehand in a browser (`fetchKernelFiles`).
 *
 * The directive is a comment so that each file stays lexically valid WGSL for tools; a library in
 * kernels/lib/ declares no entry point, only functions, constants and the overrides, structs and
 * bindings it owns, so it is valid WGSL on its own too. A file is included once per kernel,
 * however many files ask for it.
 */

/** Reads kernels/<file> (a path relative to kernels/, e.g. "adam.wgsl"); throws if it cannot. */
export type KernelFiles = (file: string) => string;

/** Where each line of an assembled kernel came from (1-based lines). */
export interface SourceLine {
  /** The file relative to kernels/, e.g. "lib/beta_functions.wgsl". */
  readonly file: string;
  /** Its line in that file, from 1. */
  readonly line: number;
}

/** A kernel's text with its includes spliced in, and the origin of every line of it. */
export interface AssembledKernel {
  /** The file asked for, relative to kernels/ ("beta_output.wgsl"). */
  readonly file: string;
  /** The WGSL handed to the compiler. */
  readonly code: string;
  /** lines[i] is where line i + 1 of `code` came from. */
  readonly lines: readonly SourceLine[];
  /** Every file read for it, the kernel's own first. */
  readonly files: readonly string[];
}

/** An `#include` that cannot be followed: a missing file, a cycle, a path out of kernels/. */
export class KernelSourceError extends Error {
  /** `message` names the including file:line and what is wrong with the include. */
  constructor(message: string) {
    super(message);
    this.name = "KernelSourceError";
  }
}

const INCLUDE = /^\s*\/\/\s*#include\s+"([^"]+)"\s*$/;

/** The files `text` includes, in order (paths relative to kernels/). */
export function includesOf(text: string): string[] {
  return text.split("\n").flatMap((l) => {
    const m = INCLUDE.exec(l);
    return m ? [m[1]] : [];
  });
}

/** Assembles kernels/<file> (`file` with .wgsl) from `read`, following includes depth first. */
export function assembleKernel(file: string, read: KernelFiles): AssembledKernel {
  const code: string[] = [];
  const lines: SourceLine[] = [];
  const files: string[] = [];
  const open: string[] = [];
  const visit = (f: string, from: SourceLine | null) => {
    if (open.includes(f)) {
      throw new KernelSourceError(
        `Cannot include "${f}" at kernels/${from?.file}:${from?.line}: it is already being ` +
          `included (${[...open, f].join(" -> ")}); an include may not come back to its own file`,
      );
    }
    if (files.includes(f)) return;
    if (f.startsWith("/") || f.split("/").includes("..") || !f.endsWith(".wgsl")) {
      throw new KernelSourceError(
        `Cannot include "${f}" at kernels/${from?.file}:${from?.line}: includes name a .wgsl ` +
          `file under kernels/ by a relative path without "..", e.g. "lib/beta_functions.wgsl"`,
      );
    }
    let text: string;
    try {
      text = read(f);
    } catch (e) {
      const where = from ? ` (included at kernels/${from.file}:${from.line})` : "";
      throw new KernelSourceError(
        `Cannot load kernel source kernels/${f}${where}: ${(e as Error).message}`,
      );
    }
    files.push(f);
    open.push(f);
    text.replace(/\n$/, "").split("\n").forEach((l, i) => {
      const here = { file: f, line: i + 1 };
      const m = INCLUDE.exec(l);
      if (m) visit(m[1], here);
      else {
        code.push(l);
        lines.push(here);
      }
    });
    open.pop();
  };
  visit(file, null);
  return { file, code: code.join("\n") + "\n", lines, files };
}

/** Reads kernel files from a kernels/ folder on disk, e.g. new URL("../../kernels/", import.meta.url). */
export function kernelFilesFromDisk(dir: URL): KernelFiles {
  return (file) => Deno.readTextFileSync(new URL(file, dir));
}

/**
 * Fetches kernels/<name>.wgsl for each name, and every file they include, from `base` (a URL
 * ending in "/"), in parallel per level; the result reads them synchronously. For a browser,
 * where kernels cannot be read from disk when a pipeline is first built.
 */
export async function fetchKernelFiles(base: URL, names: readonly string[]): Promise<KernelFiles> {
  const table = new Map<string, string>();
  let wanted = [...new Set(names.map((n) => `${n}.wgsl`))];
  while (wanted.length > 0) {
    const texts = await Promise.all(wanted.map(async (f) => {
      const res = await fetch(new URL(f, base));
      if (!res.ok) throw new KernelSourceError(`Cannot fetch kernels/${f}: HTTP ${res.status}`);
      return await res.text();
    }));
    wanted.forEach((f, i) => table.set(f, texts[i]));
    wanted = [...new Set(texts.flatMap(includesOf))].filter((f) => !table.has(f));
  }
  return (file) => {
    const text = table.get(file);
    if (text === undefined) throw new Error("not among the fetched kernel files");
    return text;
  };
}
