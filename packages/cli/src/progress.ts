/**
 * A one-line progress bar for a terminal's stderr: bytes in (against a total when known, as a bar
 * and a percentage) and bytes out, or steps of a job with a line of text in place of the byte
 * counts. It stays silent for jobs that finish quickly and redraws at a bounded rate, so it costs
 * nothing on small inputs. Shared by every long-running verb (convert, send, recv) and by the
 * bench runner (@quiver/bench). Callers create one only when stderr is a TTY.
 */

/** Where the bar is drawn: anything with `write(string)` (a TTY stream in practice). */
export interface ProgressStream {
  /** Writes text as is (carriage returns and all). */
  write(text: string): unknown;
}

/** Options of a {@link ProgressBar}. */
export interface ProgressOptions {
  /** The terminal stream, normally `process.stderr`. */
  stream: ProgressStream;
  /** Word before the bar, e.g. `'convert'`. @default '' */
  label?: string;
  /** Bytes expected in, for the bar and percentage. @default unknown: counters only */
  total?: number;
  /** Terminal width. @default 80 */
  columns?: number;
  /** Draw nothing until this much time has passed, so short jobs stay quiet. @default 400 */
  delayMs?: number;
  /** Redraw at most this often. @default 100 */
  intervalMs?: number;
  /** Milliseconds clock (tests pass a fake). @default performance.now */
  now?: () => number;
}

/** One state of a job, as drawn. */
export interface ProgressState {
  /** Word before the bar. */
  label: string;
  /** Bytes in so far. */
  done: number;
  /** Bytes in expected, if known. */
  total?: number;
  /** Bytes out so far, if the job writes. */
  out?: number;
  /** Shown after the bar in place of the byte counts (a job counted in steps, not bytes). */
  text?: string;
  /** Width of the line to fill. */
  width: number;
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** `1234567` → `'1.2 MB'` (decimal units, as ls -h --si and most download bars). */
export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[i]}`;
}

/** The text of one progress line (no carriage return, no escape codes), at most `width` long. */
export function renderProgress(s: ProgressState): string {
  const counts = s.text ?? `${formatBytes(s.done)}${s.total !== undefined ? ` / ${formatBytes(s.total)}` : ''}${s.out !== undefined ? ` → ${formatBytes(s.out)}` : ''}`;
  const label = s.label ? `${s.label} ` : '';
  if (s.total === undefined || s.total <= 0) return `${label}${counts}`.slice(0, s.width);
  const fraction = Math.min(1, Math.max(0, s.done / s.total));
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  const barWidth = Math.min(40, s.width - label.length - pct.length - counts.length - 5);
  if (barWidth < 5) return `${label}${pct}  ${counts}`.slice(0, s.width);
  const filled = Math.round(fraction * barWidth);
  return `${label}[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${pct}  ${counts}`;
}

/** A live bar. `update` as work proceeds, then `finish` once (it clears the line). */
export class ProgressBar {
  private readonly now: () => number;
  private readonly started: number;
  private lastDraw = -Infinity;
  private drawn = false;
  private finished = false;
  private state: ProgressState;

  /** A bar that draws nothing until `delayMs` has passed. */
  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.started = this.now();
    this.state = { label: opts.label ?? '', done: 0, width: Math.max(20, (opts.columns || 80) - 1) };
    if (opts.total !== undefined) this.state.total = opts.total;
  }

  /** Whether anything has been drawn (the job took long enough to show). */
  get visible(): boolean {
    return this.drawn;
  }

  /** Records progress; redraws when the delay has passed and the last draw is old enough. */
  update(done: number, out?: number): void {
    if (this.finished) return;
    this.state.done = done;
    if (out !== undefined) this.state.out = out;
    this.draw();
  }

  /**
   * Records progress in steps, with `text` shown in place of the byte counts; `total`, when given,
   * replaces the one of the options (a job that learns its size as it goes).
   */
  updateText(done: number, text: string, total?: number): void {
    if (this.finished) return;
    this.state.done = done;
    this.state.text = text;
    if (total !== undefined) this.state.total = total;
    this.draw();
  }

  private draw(): void {
    const t = this.now();
    if (t - this.started < (this.opts.delayMs ?? 400)) return;
    if (t - this.lastDraw < (this.opts.intervalMs ?? 100)) return;
    this.lastDraw = t;
    this.drawn = true;
    this.opts.stream.write(`\r${renderProgress(this.state)}\x1b[K`);
  }

  /** Clears the bar if it was drawn and, if given and the bar was shown, leaves a summary line. */
  finish(summary?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.drawn) return;
    this.opts.stream.write(`\r\x1b[K${summary ? `${summary}\n` : ''}`);
  }
}
