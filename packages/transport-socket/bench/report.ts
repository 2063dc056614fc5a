/**
 * The socket bench's results: medians and ratios per cell, the issue's targets, and the Markdown
 * printed at the end of a run (tables made with core's bench harness).
 */
import { formatDuration, formatNumber, formatRatio, markdownTable } from '@quiver/core/bench/harness';
import type { Impl, Scheme } from './protocol.js';

export interface Options {
  rounds: number;
  /** Target duration of one timed run, in seconds. */
  seconds: number;
  latencyRoundTrips: number;
  sizes: number[];
  schemes: Scheme[];
  impls: Impl[];
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
  /** Batches per second over raw's (raw: bytes per second / Quiver's batch size), apache-arrow's, pyarrow's. */
  vsRaw: number;
  vsArrow: number;
  vsPyarrow: number;
  rounds: number[];
}

export interface Target {
  target: string;
  scheme: Scheme;
  rows: number | null;
  value: number;
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

export function summarise(cells: Cell[], latency: LatencyResult[]): Summary {
  const rate = (scheme: Scheme, rows: number, impl: Impl) => {
    const c = cells.find((x) => x.scheme === scheme && x.rows === rows && x.impl === impl);
    return c ? median(c.rates) : NaN;
  };
  const throughput = cells.map((c): CellSummary => {
    const r = median(c.rates);
    return {
      scheme: c.scheme, rows: c.rows, impl: c.impl, batchBytes: c.batchBytes,
      batchesPerSec: r, mbPerSec: (r * c.batchBytes) / 1e6,
      minBatchesPerSec: Math.min(...c.rates), maxBatchesPerSec: Math.max(...c.rates), batchesPerRun: c.count,
      consumerCpuNs: median(c.consumerCpu), producerCpuNs: median(c.producerCpu),
      vsRaw: r / rate(c.scheme, c.rows, 'raw'),
      vsArrow: r / rate(c.scheme, c.rows, 'apache-arrow'),
      vsPyarrow: r / rate('unix', c.rows, 'pyarrow'),
      rounds: c.rates,
    };
  });
  const targets: Target[] = [];
  for (const q of throughput.filter((c) => c.impl === 'quiver')) {
    if (q.rows >= 65536) targets.push({ target: '≥85% of raw', scheme: q.scheme, rows: q.rows, value: q.vsRaw, limit: 0.85, met: q.vsRaw >= 0.85 });
    targets.push({ target: '≥2x apache-arrow', scheme: q.scheme, rows: q.rows, value: q.vsArrow, limit: 2, met: q.vsArrow >= 2 });
    if (q.scheme === 'unix' && Number.isFinite(q.vsPyarrow)) {
      targets.push({ target: '≥1x pyarrow', scheme: q.scheme, rows: q.rows, value: q.vsPyarrow, limit: 1, met: q.vsPyarrow >= 1 });
    }
  }
  const lat = latency.map((l) => {
    const raw = latency.find((x) => x.scheme === l.scheme && x.impl === 'raw')!;
    return { ...l, p50VsRaw: l.p50 / raw.p50, p99OverP50: l.p99 / l.p50 };
  });
  for (const l of lat.filter((x) => x.impl === 'quiver')) {
    targets.push({ target: 'p50 round trip ≤1.5x raw', scheme: l.scheme, rows: 1, value: l.p50VsRaw, limit: 1.5, met: l.p50VsRaw <= 1.5 });
    targets.push({ target: 'p99 ≤3x p50', scheme: l.scheme, rows: 1, value: l.p99OverP50, limit: 3, met: l.p99OverP50 <= 3 });
  }
  return { throughput, latency: lat, targets };
}

export function rowsLabel(n: number): string {
  return n >= 1 << 20 && n % (1 << 20) === 0 ? `${n >> 20}M` : n >= 1024 && n % 1024 === 0 ? `${n >> 10}K` : String(n);
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
      { title: 'vs raw', value: (c) => pct(c.vsRaw), align: 'right' },
      { title: 'vs apache-arrow', value: (c) => ratio(c.vsArrow), align: 'right' },
      { title: 'vs pyarrow (unix)', value: (c) => ratio(c.vsPyarrow), align: 'right' },
    ],
    s.throughput,
  );
  const lat = markdownTable<Summary['latency'][number]>(
    [
      { title: 'transport', value: (l) => l.scheme },
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
      { title: 'result', value: (t) => (t.met ? 'met' : 'NOT met') },
    ],
    s.targets,
  );
  const missed = s.targets.filter((t) => !t.met).length;
  return (
    `## Quiver socket transport benchmark\n\n` +
    `Producer and consumer in separate processes; one record batch (int64, float64, utf8 with ~10% nulls) sent repeatedly, ` +
    `the consumer touching every column. Medians of ${opts.rounds} interleaved rounds, each run timed over about ${opts.seconds} s ` +
    `after a warm-up. Ratios are of batches per second. ${env.node}, ${env.cpus} CPUs, load ${env.loadavg}, ${env.seconds} s.` +
    `${note ? ` ${note}.` : ''}\n\n${tp}\n\n` +
    `Round trip of a 1-row batch (Quiver: decoded, touched and re-encoded by the echo side; raw: the same number of bytes echoed once complete):\n\n${lat}\n\n` +
    `Targets: ${missed === 0 ? 'all met' : `${missed} of ${s.targets.length} NOT met`}.\n\n${tg}\n`
  );
}
