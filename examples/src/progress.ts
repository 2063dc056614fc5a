/**
 * The demo's live progress, on stderr: on a terminal, one spinner line per step that shows the
 * step's latest progress line while it runs and its outcome when done; otherwise (a pipe, CI),
 * one plain line per step when it ends.
 */
import type { Log } from './example.js';

export type StepOutcome<T> = { ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number };

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  #done = 0;

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  get live(): boolean {
    return this.out.isTTY === true;
  }

  /** Runs one step; `run` gets a log for its progress lines. Never throws: the outcome says. */
  async step<T>(title: string, run: (log: Log) => Promise<T>): Promise<StepOutcome<T>> {
    const n = `[${this.#done + 1}/${this.total}]`;
    let detail = '';
    let frame = 0;
    const draw = (symbol: string, text: string) => {
      const line = `${symbol} ${n} ${title}${text ? ` - ${text}` : ''}`;
      const width = this.out.columns || 80;
      this.out.write(`\r\x1b[2K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
    };
    const timer = this.live ? setInterval(() => draw(FRAMES[frame++ % FRAMES.length]!, detail), 80) : undefined;
    if (this.live) draw(FRAMES[0]!, '');
    const t0 = performance.now();
    let outcome: StepOutcome<T>;
    try {
      outcome = { ok: true, value: await run((line) => (detail = line.trim())), ms: performance.now() - t0 };
    } catch (error) {
      outcome = { ok: false, error, ms: performance.now() - t0 };
    } finally {
      clearInterval(timer);
    }
    this.#done++;
    const secs = `${(outcome.ms / 1000).toFixed(1)} s`;
    const result = outcome.ok ? `ok (${secs})` : `FAILED after ${secs}: ${firstLine(outcome.error)}`;
    if (this.live) {
      draw(outcome.ok ? '✔' : '✖', result);
      this.out.write('\n');
    } else {
      this.out.write(`${n} ${title}: ${result}\n`);
    }
    return outcome;
  }
}

export const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
