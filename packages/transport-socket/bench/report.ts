/**
 * The socket bench's results: medians and ratios per cell, the issue's targets, and the Markdown
 * printed at the end of a run (tables made with core's bench harness).
 */
import { formatDuration, formatNumber, formatRatio, markdownTable, rowsLabel } from '@quiver/core/bench/harness';
import type { Impl, Scheme } from './protocol.js';

export interface Options {
  rounds: number;
  /** Target duration of one timed run, in seconds. */
  seconds: number;
  latencyRoundTrips: number;
  sizes: number[];
  schemes: Scheme[];
  impls: Impl[];
  /** What the consumer reads of each batch (see core's bench data: touch / touchColumns). */
  touch: 'values' | 'columns';
}

/** One transport × size × implementation, with its batches per second of each round. */
export interface Cell {
  scheme: Scheme;
  rows: number;
  impl: Impl;
  /** Bytes of one record batch message (raw: Quiver's). */
  batchBytes: number;
  warm: number;
  count: number;
  rates: number[];
  /** CPU ns per batch of each round: the consumer's (timed batches), the producer's (all). */
  consumerCpu: number[];
  producerCpu: number[];
}

export interface LatencyResult {
  scheme: Scheme;
  impl: 'raw' | 'quiver';
  /** Bytes each way per round trip (one 1-row batch message). */
  bytes: number;
  n: number;
  /** Round-trip times in ns. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Where the two peers ran: absent when the scheduler chose; else pinned ('one core', 'two cores'). */
  placement?: string;
}

export interface CellSummary {
  scheme: Scheme;
  rows: number;
  impl: Impl;
  batchBytes: number;
  batchesPerSec: number;
  mbPerSec: number;
  /** Slowest and fastest round, batches per second. */
  minBatchesPerSec: number;
  maxBatchesPerSec: number;
  batchesPerRun: number;
  /** Median CPU time per batch, in ns, of the consumer and the producer process. */
  consumerCpuNs: number;
  producerCpuNs: number;
  /**
   * Batches per second over raw's (raw: bytes per second / Quiver's batch size), apache-arrow's,
   * pyarrow's: the median of the rounds' ratios (see paired()).
   */
  vsRaw: number;
  vsArrow: number;
  vsPyarrow: number;
  /**
   * Batches per second if each process had a core to itself (1 / the busier side's CPU time per
   * batch), and its ratios: on a loaded machine, where wall-clock rates mostly measure the
   * scheduler, this says what the code costs.
   */
  cpuBoundBatchesPerSec: number;
  cpuVsRaw: number;
  cpuVsArrow: number;
  cpuVsPyarrow: number;
  /** Batches per second, consumer and producer CPU ns per batch, of each round in the order run. */
  rounds: number[];
  consumerCpuRounds: number[];
  producerCpuRounds: number[];
}

export interface Target {
  target: string;
  scheme: Scheme;
  rows: number | null;
  /** The measured ratio the target is judged on. */
  value: number;
  /** The same ratio from CPU-bound rates (NaN for latency). */
  cpuBound: number;
  limit: number;
  met: boolean;
}

export interface Summary {
  throughput: CellSummary[];
  latency: Array<LatencyResult & { p50VsRaw: number; p99OverP50: number }>;
  targets: Target[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[n >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/**
 * The median over rounds of `a`'s rate over `b`'s in the same round. Cells of one size and
 * transport run next to each other in every round, so a slow spell of a shared machine hits both
 * sides of a ratio; a ratio of medians taken from different rounds would not cancel it.
 */
function paired(a: number[], b: number[] | undefined): number {
  return b ? median(a.map((x, i) => x / b[i]!)) : NaN;
}

/** Batches per second each round if each process had a core of its own: 1 / the busier side's CPU time. */
const cpuBound = (c: Cell): number[] => c.consumerCpu.map((cc, i) => 1e9 / Math.max(cc, c.producerCpu[i]!));

export function summarise(cells: Cell[], latency: LatencyResult[]): Summary {
  const find = (scheme: Scheme, rows: number, impl: Impl) => cells.find((x) => x.scheme === scheme && x.rows === rows && x.impl === impl);
  const throughput = cells.map((c): CellSummary => {
    const r = median(c.rates);
    const raw = find(c.scheme, c.rows, 'raw');
    const arrow = find(c.scheme, c.rows, 'apache-arrow');
    const py = find('unix', c.rows, 'pyarrow');
    const cpu = cpuBound(c);
    const cpuOf = (x: Cell | undefined) => (x ? cpuBound(x) : undefined);
    return {
      scheme: c.scheme, rows: c.rows, impl: c.impl, batchBytes: c.batchBytes,
      batchesPerSec: r, mbPerSec: (r * c.batchBytes) / 1e6,
      minBatchesPerSec: Math.min(...c.rates), maxBatchesPerSec: Math.max(...c.rates), batchesPerRun: c.count,
      consumerCpuNs: median(c.consumerCpu), producerCpuNs: median(c.producerCpu),
      vsRaw: paired(c.rates, raw?.rates),
      vsArrow: paired(c.rates, arrow?.rates),
      // pyarrow runs on unix only; a tcp cell is compared with it across rounds as well.
      vsPyarrow: paired(c.rates, py?.rates),
      cpuBoundBatchesPerSec: median(cpu),
      cpuVsRaw: paired(cpu, cpuOf(raw)),
      cpuVsArrow: paired(cpu, cpuOf(arrow)),
      cpuVsPyarrow: paired(cpu, cpuOf(py)),
      rounds: c.rates,
      consumerCpuRounds: c.consumerCpu,
      producerCpuRounds: c.producerCpu,
    };
  });
  const targets: Target[] = [];
  const add = (target: string, q: CellSummary, value: number, cpu: number, limit: number) =>
    targets.push({ target, scheme: q.scheme, rows: q.rows, value, cpuBound: cpu, limit, met: value >= limit });
  for (const q of throughput.filter((c) => c.impl === 'quiver')) {
    if (q.rows >= 65536) add('≥85% of raw', q, q.vsRaw, q.cpuVsRaw, 0.85);
    add('≥2x apache-arrow', q, q.vsArrow, q.cpuVsArrow, 2);
    if (q.scheme === 'unix' && Number.isFinite(q.vsPyarrow)) add('≥1x pyarrow', q, q.vsPyarrow, q.cpuVsPyarrow, 1);
  }
  const lat = latency.map((l) => {
    const raw = latency.find((x) => x.scheme === l.scheme && x.placement === l.placement && x.impl === 'raw')!;
    return { ...l, p50VsRaw: l.p50 / raw.p50, p99OverP50: l.p99 / l.p50 };
  });
  for (const l of lat.filter((x) => x.impl === 'quiver')) {
    const on = l.placement ? ` (pinned to ${l.placement})` : '';
    targets.push({ target: `p50 round trip ≤1.5x raw${on}`, scheme: l.scheme, rows: 1, value: l.p50VsRaw, cpuBound: NaN, limit: 1.5, met: l.p50VsRaw <= 1.5 });
    targets.push({ target: `p99 ≤3x p50${on}`, scheme: l.scheme, rows: 1, value: l.p99OverP50, cpuBound: NaN, limit: 3, met: l.p99OverP50 <= 3 });
  }
  return { throughput, latency: lat, targets };
}

const ratio = (r: number) => formatRatio(r);
const pct = (r: number) => (Number.isFinite(r) ? `${(r * 100).toFixed(0)}%` : '-');

export function report(s: Summary, opts: Options, env: Record<string, string | number>, note: string): string {
  const tp = markdownTable<CellSummary>(
    [
      { title: 'transport', value: (c) => c.scheme },
      { title: 'rows', value: (c) => rowsLabel(c.rows), align: 'right' },
      { title: 'implementation', value: (c) => c.impl },
      { title: 'batch KB', value: (c) => formatNumber(c.batchBytes / 1e3), align: 'right' },
      { title: 'batches/s', value: (c) => formatNumber(c.batchesPerSec), align: 'right' },
      { title: 'MB/s', value: (c) => formatNumber(c.mbPerSec), align: 'right' },
      { title: 'rounds min–max', value: (c) => `${formatNumber(c.minBatchesPerSec)}–${formatNumber(c.maxBatchesPerSec)}`, align: 'right' },
      { title: 'consumer CPU/batch', value: (c) => formatDuration(c.consumerCpuNs), align: 'right' },
      { title: 'producer CPU/batch', value: (c) => formatDuration(c.producerCpuNs), align: 'right' },
      { title: 'CPU-bound batches/s', value: (c) => formatNumber(c.cpuBoundBatchesPerSec), align: 'right' },
      { title: 'vs raw', value: (c) => pct(c.vsRaw), align: 'right' },
      { title: 'vs apache-arrow', value: (c) => ratio(c.vsArrow), align: 'right' },
      { title: 'vs pyarrow (unix)', value: (c) => ratio(c.vsPyarrow), align: 'right' },
    ],
    s.throughput,
  );
  const lat = markdownTable<Summary['latency'][number]>(
    [
      { title: 'transport', value: (l) => l.scheme },
      { title: 'peers ran', value: (l) => (l.placement ? `pinned to ${l.placement}` : 'where the scheduler chose') },
      { title: 'implementation', value: (l) => l.impl },
      { title: 'bytes each way', value: (l) => String(l.bytes), align: 'right' },
      { title: 'round trips', value: (l) => formatNumber(l.n), align: 'right' },
      { title: 'p50', value: (l) => formatDuration(l.p50), align: 'right' },
      { title: 'p90', value: (l) => formatDuration(l.p90), align: 'right' },
      { title: 'p99', value: (l) => formatDuration(l.p99), align: 'right' },
      { title: 'max', value: (l) => formatDuration(l.max), align: 'right' },
      { title: 'p99 / p50', value: (l) => ratio(l.p99OverP50), align: 'right' },
      { title: 'p50 vs raw', value: (l) => ratio(l.p50VsRaw), align: 'right' },
    ],
    s.latency,
  );
  const tg = markdownTable<Target>(
    [
      { title: 'target', value: (t) => t.target },
      { title: 'transport', value: (t) => t.scheme },
      { title: 'rows', value: (t) => (t.rows === null ? '' : rowsLabel(t.rows)), align: 'right' },
      { title: 'Quiver', value: (t) => (t.target.includes('%') ? pct(t.value) : ratio(t.value)), align: 'right' },
      { title: 'CPU-bound', value: (t) => (t.target.includes('%') ? pct(t.cpuBound) : ratio(t.cpuBound)), align: 'right' },
      { title: 'result', value: (t) => (t.met ? 'met' : 'NOT met') },
    ],
    s.targets,
  );
  const missed = s.targets.filter((t) => !t.met).length;
  return (
    `## Quiver socket transport benchmark\n\n` +
    `Producer and consumer in separate processes; one record batch (int64, float64, utf8 with ~10% nulls) sent repeatedly, ` +
    `the consumer touching every column (${opts.touch === 'columns' ? 'each column\'s length, null count, first and last value: the decode must be real, the cost does not grow with rows' : 'every value of every column: a JavaScript loop, which at 1M rows costs more than the transfer'}; raw touches nothing). Medians of ${opts.rounds} interleaved rounds, each run timed over about ${opts.seconds} s ` +
    `after a warm-up. Ratios are of batches per second, the median of each round's ratio. CPU time per batch is the process's ` +
    `(user + system); "CPU-bound" is 1 / the busier side's, the rate with a core per process, which on a loaded machine says more ` +
    `about the code than the wall clock does. ${env.node}, ${env.cpus} CPUs, load ${env.loadavg}, ${env.seconds} s.` +
    `${note ? ` ${note}.` : ''}\n\n${tp}\n\n` +
    `Round trip of a 1-row batch (Quiver: decoded, touched and re-encoded by the echo side; raw: the same number of bytes echoed once complete):\n\n${lat}\n\n` +
    `Targets (judged on the wall-clock ratios): ${missed === 0 ? 'all met' : `${missed} of ${s.targets.length} NOT met`}.\n\n${tg}\n`
  );
}
