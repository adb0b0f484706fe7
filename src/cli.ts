/**
 * Flags and exit codes for the task scripts. A task reads top to bottom:
 *
 * ```ts
 * runTask(async () => {
 *   const flags = parseFlags(Deno.args, {
 *     epochs: { type: "number", default: 100, integer: true, min: 1, help: "training epochs" },
 *     out: { type: "string", default: "out/train-mlp", help: "output directory" },
 *   }, { task: "train-mlp", summary: "Trains the MLP VAE on binarized MNIST." });
 *   ...
 *   printWritten([...]);
 * });
 * ```
 *
 * Flag keys are camelCase and spelled kebab-case on the command line (`trainLimit` is
 * `--train-limit`). Exit codes: 0 done or --help, 1 the run failed, 2 bad usage or a bad
 * input file or output directory (DataError, CheckpointError, OutputError), or nothing to do
 * (NothingToTrainError).
 * A spec declared apart from the call needs `as const satisfies FlagSpecs` for choice
 * flags to parse to their literal union rather than `string`.
 */

import { debugEnabled } from "./debug.ts";
import { parseArgs } from "node:util";
import { isAbsolute, relative } from "node:path";

interface Common {
  help: string;
  /** Placeholder for the value in the usage text, e.g. "DIR"; default N, X or VALUE. */
  value?: string;
}
export type FlagSpec =
  | Common & { type: "string"; default?: string }
  | Common & { type: "number"; default?: number; min?: number; max?: number; integer?: boolean }
  | Common & { type: "boolean"; default?: boolean }
  | Common & { type: "choice"; choices: readonly string[]; default?: string };

export type FlagSpecs = Record<string, FlagSpec>;

/** The parsed type of one flag: flags without a default may be undefined. */
type ValueOf<S extends FlagSpec> = S extends { type: "boolean" } ? boolean
  : S extends { type: "number" } ? (S extends { default: number } ? number : number | undefined)
  : S extends { type: "choice"; choices: readonly (infer C)[] }
    ? (S extends { default: string } ? C : C | undefined)
  : S extends { default: string } ? string
  : string | undefined;

export type Flags<S extends FlagSpecs> = { [K in keyof S]: ValueOf<S[K]> };

export interface Usage {
  /** The deno task name, e.g. "train-mlp". */
  task: string;
  /** One or two sentences on what the task does. */
  summary: string;
  /** Paragraphs printed after the flags (a preset's tutorial quirks). */
  details?: string[];
}

/** A command line that the task cannot run with; runTask prints it with the usage, exit 2. */
export class UsageError extends Error {
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.name = "UsageError";
    this.usage = usage;
  }
}

/**
 * Flags that parse but do not go together, or data that do not fit them, found after parsing
 * (e.g. --train-limit below --batch); runTask prints the message, exit 2.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** Thrown by parseFlags for --help; runTask prints the usage to stdout, exit 0. */
export class HelpRequested extends Error {
  readonly usage: string;
  constructor(usage: string) {
    super("help requested");
    this.name = "HelpRequested";
    this.usage = usage;
  }
}

/**
 * Parses `argv` against `spec`. Throws UsageError for an unknown flag, a missing or
 * malformed value, a number out of range or a value not among the choices, and
 * HelpRequested for -h/--help. Booleans take `--name` and `--no-name`.
 */
// The `const` type parameter keeps choice lists as literal unions without `as const`.
export function parseFlags<const S extends FlagSpecs>(
  argv: string[],
  spec: S,
  usage: Usage,
): Flags<S> {
  const text = usageText(spec, usage);
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [key, f] of Object.entries(spec)) {
    const name = _kebab(key);
    options[name] = { type: f.type === "boolean" ? "boolean" : "string" };
    if (f.type === "boolean") options[`no-${name}`] = { type: "boolean" };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    const args = _joinNegatives(argv, spec);
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError(_explainParseError(e as Error & { code?: string }, spec), text);
  }
  if (values.help) throw new HelpRequested(text);

  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(spec)) {
    const name = _kebab(key);
    const raw = values[name];
    if (f.type === "boolean") {
      out[key] = values[`no-${name}`] ? false : raw === true ? true : f.default ?? false;
      continue;
    }
    if (raw === undefined) {
      out[key] = f.default;
      continue;
    }
    const s = String(raw);
    if (f.type === "string") out[key] = s;
    else if (f.type === "choice") {
      if (!f.choices.includes(s)) {
        throw new UsageError(`--${name} must be one of ${f.choices.join(", ")}; got '${s}'`, text);
      }
      out[key] = s;
    } else out[key] = _number(name, s, f, text);
  }
  return out as Flags<S>;
}

/** The help text: what the task does, then every flag with its value, help and default. */
export function usageText(spec: FlagSpecs, usage: Usage): string {
  const rows: [string, string][] = Object.entries(spec).map(([key, f]) => {
    const name = `--${_kebab(key)}`;
    let left: string, right = f.help;
    switch (f.type) {
      case "boolean":
        left = f.default ? `--no-${_kebab(key)}` : name;
        if (f.default) right += ` (on by default; ${left} turns it off)`;
        break;
      case "choice":
        left = `${name} ${f.value ?? f.choices.join("|")}`;
        break;
      case "number": {
        left = `${name} ${f.value ?? (f.integer ? "N" : "X")}`;
        const range = _rangeText(f);
        if (range) right += ` (${range})`;
        break;
      }
      case "string":
        left = `${name} ${f.value ?? "VALUE"}`;
    }
    if (f.type !== "boolean" && f.default !== undefined) {
      right += `; default ${JSON.stringify(f.default)}`;
    }
    return [left, right];
  });
  rows.push(["-h, --help", "show this help and exit"]);
  const width = Math.max(...rows.map(([l]) => l.length)) + 3;
  return [
    `Usage: deno task ${usage.task} [flags]`,
    "",
    usage.summary,
    "",
    "Flags:",
    ...rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`),
    "",
    ...(usage.details ?? []).flatMap((d) => [d, ""]),
  ].join("\n");
}

/** Error names whose messages are complete for a user: printed without a stack. */
const KNOWN_ERRORS = new Set([
  "DataError",
  "CheckpointError",
  "NoAdapterError",
  "BufferTooLargeError",
  "KernelError",
  "TrainingError",
  "OutputError",
  "NothingToTrainError",
  "InputError",
  "EnvError",
]);

/** Bad input files are the user's to fix, like a bad flag: exit 2. */
const INPUT_ERRORS = new Set([
  "DataError",
  "CheckpointError",
  "OutputError",
  "NothingToTrainError",
  "InputError",
  "EnvError",
]);

export interface TaskIo {
  exit(code: number): void;
  stdout(text: string): void;
  stderr(text: string): void;
}

const defaultIo: TaskIo = {
  exit: (code) => Deno.exit(code),
  stdout: (text) => console.log(text),
  stderr: (text) => console.error(text),
};

/**
 * Runs a task's main and turns its failure into an exit code: usage errors print the
 * message and usage (exit 2), the project's named errors print `error: message`
 * (exit 1; with the stack when DEBUG is set), anything else prints its stack (exit 1).
 */
export async function runTask(
  main: () => Promise<void> | void,
  io: TaskIo = defaultIo,
): Promise<void> {
  try {
    await main();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (err instanceof HelpRequested) {
      io.stdout(err.usage);
      io.exit(0);
    } else if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\n\n${err.usage}`);
      io.exit(2);
    } else if (KNOWN_ERRORS.has(err.name) && !_debug()) {
      io.stderr(`error: ${err.message}`);
      io.exit(INPUT_ERRORS.has(err.name) ? 2 : 1);
    } else {
      io.stderr(err.stack ?? `${err.name}: ${err.message}`);
      io.exit(1);
    }
  }
}

/** Prints the files a task wrote, relative to the working directory when inside it. */
export function printWritten(paths: string[], io: Pick<TaskIo, "stdout"> = defaultIo): void {
  const cwd = Deno.cwd();
  for (const p of paths) {
    const rel = isAbsolute(p) ? relative(cwd, p) : p;
    io.stdout(`wrote ${rel.startsWith("..") ? p : rel}`);
  }
}

function _number(
  name: string,
  s: string,
  f: { min?: number; max?: number; integer?: boolean },
  text: string,
): number {
  const v = s.trim() === "" ? NaN : Number(s);
  if (!Number.isFinite(v)) throw new UsageError(`--${name} must be a number; got '${s}'`, text);
  if (f.integer && !Number.isInteger(v)) {
    throw new UsageError(`--${name} must be an integer; got ${s}`, text);
  }
  // Integer flags (counts, seeds) reach the GPU as u32 or i32: a larger value would wrap.
  if (f.integer && f.max === undefined) f = { ...f, max: INTEGER_MAX };
  if ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max)) {
    throw new UsageError(`--${name} must be ${_rangeText(f)}; got ${s}`, text);
  }
  return v;
}

/** The largest value an integer flag takes unless its spec says less: 2^31 - 1. */
const INTEGER_MAX = 2 ** 31 - 1;

function _rangeText(f: { min?: number; max?: number }): string {
  if (f.min !== undefined && f.max !== undefined) return `${f.min} to ${f.max}`;
  if (f.min !== undefined) return `at least ${f.min}`;
  if (f.max !== undefined) return `at most ${f.max}`;
  return "";
}

/**
 * `--epochs -1` as `--epochs=-1`: parseArgs takes "-1" for a flag, but after a number flag it
 * can only be a (negative) value, which the range check then answers.
 */
function _joinNegatives(argv: string[], spec: FlagSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([a-z0-9-]+)$/.exec(argv[i])?.[1];
    const next = argv[i + 1];
    if (name && spec[_camel(name)]?.type === "number" && next && /^-\.?\d/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

/** parseArgs' messages talk about its own API; say what the user did instead. */
function _explainParseError(e: Error & { code?: string }, spec: FlagSpecs): string {
  const quoted = /'([^']*)'/.exec(e.message)?.[1] ?? "";
  const flag = quoted.split(" ")[0], bare = flag.replace(/^-+/, "");
  const isSwitch = (name: string) => spec[_camel(name)]?.type === "boolean";
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const near = _nearest(bare, spec);
      return `unknown flag ${flag}` + (near ? ` (did you mean --${near}?)` : "");
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return isSwitch(bare) || (bare.startsWith("no-") && isSwitch(bare.slice(3)))
        ? `${flag} is a switch and takes no value`
        : `${flag} needs a value (a value starting with - goes as ${flag}=-1)`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument '${quoted}' (flags are written --name value)`;
    default:
      return e.message;
  }
}

/** The flag name closest to `name` by edit distance, if it is a plausible typo. */
function _nearest(name: string, spec: FlagSpecs): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const key of Object.keys(spec)) {
    const cand = _kebab(key), d = _editDistance(name, cand);
    if (d < bestD) [best, bestD] = [cand, d];
  }
  return bestD <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

function _editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function _kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function _camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function _debug(): boolean {
  return debugEnabled();
}
