/**
 * A small benchmark harness shared by Quiver's packages. It measures throughput in rounds of a
 * fixed time budget and reports medians, because the machines these run on are shared and noisy:
 * one slow round (a GC, a neighbour's burst) moves a median far less than a mean.
 * {@link compare} interleaves the cases round by round, so a baseline and a candidate see the
 * same noise. Nothing here is a test: there are no thresholds and no exit codes.
 * Imports only node:*, so any package's bench can use it.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export interface MeasureOptions {
  /** Time spent running the function before measuring, in ms (JIT, caches). @default 200 */
  warmupMs?: number;
  /** Time budget of one measured round, in ms. @default 500 */
  roundMs?: number;
  /** Measured rounds; the result is their median. @default 5 */
  rounds?: number;
  /**
   * Shortest timed sample, in ms. Fast functions run several times between clock reads so the
   * clock's own cost (tens of ns) does not count. @default 1
   */
  minSampleMs?: number;
  /** Called after the warm-up (round 0) and after each measured round, for progress reports. */
  onRound?: (round: number, rounds: number) => void;
}

export interface Measurement {
  /** Operations per second, the median over rounds. */
  opsPerSec: number;
  /** Nanoseconds per operation, the median over rounds. */
  median: number;
  /** Fastest and slowest round, in ns per operation. */
  min: number;
  max: number;
  /** ns per operation of each round, in the order run. */
  rounds: number[];
  /** Operations run while measuring (warm-up excluded). */
  ops: number;
}

/** A benchmarked operation; it may return a promise, which is awaited before the next call. */
export type BenchFn = () => unknown;

const now = (): bigint => process.hrtime.bigint();

/** Results go here so the JIT cannot drop a call whose value is unused. */
let blackhole: unknown;

/** Returns `value` after storing it where the optimiser cannot prove it dead. */
export function consume<T>(value: T): T {
  blackhole = value;
  return value;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** One function under measurement: its calibrated batch size and its per-round results. */
class Runner {
  batch = 1;
  async = false;
  readonly rounds: number[] = [];
  ops = 0;

  constructor(readonly fn: BenchFn) {}

  /** Runs `n` calls and returns the elapsed ns. */
  private async sample(n: number): Promise<number> {
    const fn = this.fn;
    const t0 = now();
    if (this.async) {
      for (let i = 0; i < n; i++) blackhole = await fn();
    } else {
      for (let i = 0; i < n; i++) blackhole = fn();
    }
    return Number(now() - t0);
  }

  /** Warms up for `ms` and picks a batch size whose sample lasts at least `minSampleMs`. */
  async warmup(ms: number, minSampleMs: number): Promise<void> {
    this.async = isThenable((blackhole = this.fn()));
    if (this.async) await blackhole;
    const budget = ms * 1e6;
    const target = minSampleMs * 1e6;
    let spent = 0;
    let n = 1;
    do {
      const t = await this.sample(n);
      spent += t;
      if (t < target) n = Math.min(n * 2, 1 << 24);
    } while (spent < budget);
    // The last sizes ran at warm speed; size the batch from the last one.
    const t = await this.sample(n);
    this.batch = Math.max(1, Math.ceil((target * n) / Math.max(t, 1)));
  }

  /** One measured round of about `ms`; records ns per operation. */
  async round(ms: number): Promise<void> {
    const budget = ms * 1e6;
    let elapsed = 0;
    let ops = 0;
    while (elapsed < budget) {
      elapsed += await this.sample(this.batch);
      ops += this.batch;
    }
    this.rounds.push(elapsed / ops);
    this.ops += ops;
  }

  result(): Measurement {
    const sorted = [...this.rounds].sort((a, b) => a - b);
    const median = medianOf(sorted);
    return { opsPerSec: 1e9 / median, median, min: sorted[0]!, max: sorted[sorted.length - 1]!, rounds: this.rounds, ops: this.ops };
  }
}

function medianOf(sorted: number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? sorted[n >> 1]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/**
 * Measures several functions together: each is warmed up, then the rounds run round-robin
 * (case A round 1, case B round 1, case A round 2, ...), and each case reports its median.
 */
export async function compare<K extends string>(cases: Record<K, BenchFn>, opts: MeasureOptions = {}): Promise<Record<K, Measurement>> {
  const { warmupMs = 200, roundMs = 500, rounds = 5, minSampleMs = 1, onRound } = opts;
  const runners = Object.entries<BenchFn>(cases).map(([name, fn]) => [name, new Runner(fn)] as const);
  for (const [, r] of runners) await r.warmup(warmupMs, minSampleMs);
  onRound?.(0, rounds);
  for (let i = 0; i < rounds; i++) {
    // Rotate the order too, so no case always runs right after the same neighbour.
    for (let j = 0; j < runners.length; j++) await runners[(i + j) % runners.length]![1].round(roundMs);
    onRound?.(i + 1, rounds);
  }
  return Object.fromEntries(runners.map(([name, r]) => [name, r.result()])) as Record<K, Measurement>;
}

/** Measures one function: warm-up, then `rounds` rounds of `roundMs`; the median round wins. */
export async function measure(fn: BenchFn, opts: MeasureOptions = {}): Promise<Measurement> {
  return (await compare({ fn }, opts)).fn;
}

// ---- reporting -----------------------------------------------------------------------------

export type Align = 'left' | 'right';

export interface Column<R> {
  title: string;
  /** The cell text for a row. */
  value: (row: R) => string;
  /** @default 'left' */
  align?: Align;
}

/** A Markdown table (GitHub flavour) with padded columns, readable as plain text too. */
export function markdownTable<R>(columns: Column<R>[], rows: R[]): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r).replaceAll('|', '\\|')));
  const widths = columns.map((c, i) => Math.max(3, c.title.length, ...cells.map((row) => row[i]!.length)));
  const pad = (s: string, i: number) => (columns[i]!.align === 'right' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const line = (row: string[]) => `| ${row.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (columns[i]!.align === 'right' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(columns.map((c) => c.title)), rule, ...cells.map(line)].join('\n');
}

/** A number with about three significant digits and thousands separators: 1,234,567 / 12.3 / 0.123. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Rows of a batch as the tables print them: 1024 → "1K", 1048576 → "1M", 1000 → "1000". */
export function rowsLabel(n: number): string {
  return n >= 1 << 20 && n % (1 << 20) === 0 ? `${n >> 20}M` : n >= 1024 && n % 1024 === 0 ? `${n >> 10}K` : String(n);
}

/** A ratio as "2.31x". */
export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : '-';
}

/** A duration in ns as µs or ms. */
export function formatDuration(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(ns >= 1e5 ? 0 : 1)} µs`;
}

/** Facts about the run that a reader of saved results needs to compare them. */
export function environment(): Record<string, string | number> {
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    /** 1-minute load average at the end: above the CPU count, expect noisy numbers. */
    loadavg: Number(loadavg()[0]!.toFixed(2)),
    date: new Date().toISOString(),
  };
}

// ---- progress, for the runner of every bench -----------------------------------------------

/** Where a bench is, in its own units of work (runs of a cell, rounds of a comparison). */
export interface BenchProgress {
  done: number;
  total: number;
  /** What is running: "calibrating", "round 3 of 7", "latency". */
  stage: string;
  /** The case being measured, e.g. "unix 65536 rows quiver". */
  cell?: string;
}

/** Set in a bench's environment by the runner (@quiver/bench) to get {@link progress} lines. */
export const PROGRESS_ENV = 'QUIVER_BENCH_PROGRESS';
/** Starts each progress line on stderr; the rest of the line is the {@link BenchProgress} as JSON. */
export const PROGRESS_PREFIX = '@quiver-bench-progress ';

/**
 * Reports progress to the bench runner: one line on stderr when {@link PROGRESS_ENV} is set,
 * nothing otherwise (a bench run by hand keeps its plain log).
 */
export function progress(p: BenchProgress): void {
  if (process.env[PROGRESS_ENV]) process.stderr.write(`${PROGRESS_PREFIX}${JSON.stringify(p)}\n`);
}

/** Writes `data` as indented JSON to `path`. */
export function writeJson(path: string, data: unknown): void {
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
}
