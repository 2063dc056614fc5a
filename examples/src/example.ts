/**
 * What every example shares: the figures it returns (one row of the demo's table each), the
 * checks it makes on its own output, and the entry point that runs it from the command line.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measured movement of data, as a row of the demo's table. */
export interface Figure {
  /** The scenario: 'stream', 'feather', 'python -> node', 'pub/sub', ... */
  scenario: string;
  /** Where the bytes went: 'file', 'mmap', 'unix://', 'shm://', 'worker:'. */
  transport: string;
  /** What was measured, in a few words. */
  what: string;
  /** Record batches moved (every consumer's together). */
  batches: number;
  /** Bytes moved: a file's size, or the column data every consumer received, together. */
  bytes: number;
  /** Wall-clock time of the movement, in milliseconds. */
  ms: number;
  /** Checks on the output that held for this row. */
  checks: number;
  /** Why this part did not run here (e.g. the native addon is not built); the numbers are then 0. */
  skipped?: string;
  note?: string;
}

/** Where an example writes its progress lines: the console, or the demo's progress line. */
export type Log = (line: string) => void;

export interface ExampleOptions {
  /** @default console.log */
  log?: Log;
}

/** A check of an example's own output did not hold. */
export class CheckFailed extends Error {
  override readonly name = 'CheckFailed';
}

/** Counts the checks an example makes; the first one that fails throws {@link CheckFailed}. */
export class Checks {
  #held = 0;
  constructor(private readonly log: Log) {}

  equal(what: string, got: unknown, want: unknown): void {
    if (got !== want) throw new CheckFailed(`${what}: got ${String(got)}, expected ${String(want)}`);
    this.#held++;
    this.log(`ok  ${what} = ${String(got)}`);
  }

  that(what: string, holds: boolean, detail = ''): void {
    if (!holds) throw new CheckFailed(`${what}${detail ? `: ${detail}` : ''}`);
    this.#held++;
    this.log(`ok  ${what}${detail ? ` (${detail})` : ''}`);
  }

  /** Checks that held since the last call. */
  take(): number {
    const n = this.#held;
    this.#held = 0;
    return n;
  }
}

/** Runs `fn` and returns its result with its duration in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

export const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

/** Whether the module at `url` is the script node was started with. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(url);
}

/**
 * The command-line entry point of an example: runs it with its progress on the console, prints
 * its figures, then `OK <name>` only if every check held; otherwise the failure, and exit code 1.
 */
export async function runExample(name: string, run: (opts: ExampleOptions) => Promise<Figure[]>): Promise<void> {
  try {
    const figures = await run({ log: (line) => console.log(line) });
    for (const f of figures) {
      if (f.skipped) {
        console.log(`${f.scenario} over ${f.transport}, ${f.what}: skipped (${f.skipped})`);
        continue;
      }
      const rate = f.ms > 0 ? `, ${(f.bytes / 1e3 / f.ms).toFixed(0)} MB/s, ${Math.round((f.batches * 1e3) / f.ms)} batches/s` : '';
      console.log(`${f.scenario} over ${f.transport}, ${f.what}: ${f.batches} batches, ${mb(f.bytes)} MB in ${f.ms.toFixed(1)} ms${rate}`);
    }
    console.log(`OK ${name}`);
  } catch (e) {
    console.error(`FAILED ${name}:`, e instanceof CheckFailed ? e.message : e);
    process.exitCode = 1;
  }
}

/**
 * The Python interpreter with pyarrow for the examples that start a Python peer:
 * `$QUIVER_PYTHON`, else the repository's `.venv` (made by `npm run setup`), else `python3`.
 */
export function defaultPython(): string {
  const fromEnv = process.env['QUIVER_PYTHON'];
  if (fromEnv) return fromEnv;
  const venv = fileURLToPath(new URL('../../../.venv/bin/python', import.meta.url));
  return existsSync(venv) ? venv : 'python3';
}
