/**
 * A progress bar on stderr, for training epochs and evaluation passes alike:
 *
 *   epoch 3/100 [#####...............] 120/250 4,512 img/s ETA 0:12 loss 178.3
 *
 * On a terminal it is redrawn in place (at most ~10 times a second, since drawing costs
 * more than a batch on a fast GPU); in a log file or pipe it becomes a plain line every
 * ~10 s, so logs stay readable and small.
 */

/** Where the bar goes; Deno.stderr by default. */
export interface ProgressSink {
  writeSync(p: Uint8Array): number;
  isTerminal(): boolean;
}

export interface ProgressOptions {
  /** Steps in this bar, e.g. batches per epoch. */
  total: number;
  /** Text before the bar, e.g. "epoch 3/100". */
  label: string;
  sink?: ProgressSink;
  /** Milliseconds since some origin; performance.now by default. */
  now?: () => number;
  /** Seconds between plain lines when the sink is not a terminal. Default 10. */
  plainEvery?: number;
}

export interface ProgressStats {
  imagesPerSec: number;
  /** Running mean loss; left out of the line when absent. */
  loss?: number;
}

const BAR = 20;
const REDRAW_MS = 100;
const encoder = new TextEncoder();

export class Progress {
  readonly total: number;
  readonly label: string;
  readonly #sink: ProgressSink;
  readonly #now: () => number;
  readonly #tty: boolean;
  readonly #plainMs: number;
  readonly #start: number;
  #lastDraw = -Infinity;
  #lastPlain: number;
  #drawn = false;

  constructor(opts: ProgressOptions) {
    if (!Number.isInteger(opts.total) || opts.total < 1) {
      throw new RangeError(
        `Cannot show progress: total must be an integer >= 1, got ${opts.total}`,
      );
    }
    this.total = opts.total;
    this.label = opts.label;
    this.#sink = opts.sink ?? Deno.stderr;
    this.#now = opts.now ?? (() => performance.now());
    this.#tty = this.#sink.isTerminal();
    this.#plainMs = (opts.plainEvery ?? 10) * 1000;
    this.#start = this.#now();
    this.#lastPlain = this.#start;
  }

  /** Reports that `batch` of `total` steps are done. Cheap to call every step. */
  update(batch: number, stats: ProgressStats): void {
    const t = this.#now();
    const last = batch >= this.total;
    if (this.#tty) {
      if (!last && t - this.#lastDraw < REDRAW_MS) return;
      this.#lastDraw = t;
      this.#write(`\r${_fit(this.line(batch, stats, t))}\x1b[K`);
      this.#drawn = true;
    } else if (t - this.#lastPlain >= this.#plainMs) {
      this.#lastPlain = t;
      this.#write(this.line(batch, stats, t) + "\n");
    }
  }

  /** Replaces the bar with `summary` on its own line. */
  done(summary: string): void {
    this.#write(this.#tty && this.#drawn ? `\r${summary}\x1b[K\n` : `${summary}\n`);
    this.#drawn = false;
  }

  /** Erases the bar (on a terminal) without a summary line. */
  clear(): void {
    if (this.#tty && this.#drawn) this.#write("\r\x1b[K");
    this.#drawn = false;
  }

  /** The text of the bar after `batch` steps at time `t` (ms, same clock as `now`). */
  line(batch: number, stats: ProgressStats, t = this.#now()): string {
    const b = Math.min(Math.max(batch, 0), this.total);
    const filled = Math.floor((BAR * b) / this.total);
    const elapsed = (t - this.#start) / 1000;
    const eta = b > 0 ? _clock((elapsed / b) * (this.total - b)) : "-:--";
    const ips = Number.isFinite(stats.imagesPerSec)
      ? Math.round(stats.imagesPerSec).toLocaleString("en-US")
      : "-";
    let s = `${this.label} [${"#".repeat(filled)}${".".repeat(BAR - filled)}] ` +
      `${b}/${this.total} ${ips} img/s ETA ${eta}`;
    if (stats.loss !== undefined) s += ` loss ${_formatLoss(stats.loss)}`;
    return s;
  }

  #write(s: string): void {
    const bytes = encoder.encode(s);
    let off = 0;
    while (off < bytes.length) off += this.#sink.writeSync(bytes.subarray(off));
  }
}

/** Four significant digits, without exponents for the losses we see (0.001 .. 99,999). */
function _formatLoss(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(1) : v.toPrecision(4);
}

function _clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const ss = String(r).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Cuts the line to the terminal width: a wrapped line breaks the in-place redraw. */
function _fit(s: string): string {
  let cols = 0;
  try {
    cols = Deno.consoleSize().columns;
  } catch {
    return s;
  }
  return cols > 1 && s.length >= cols ? s.slice(0, cols - 1) : s;
}
