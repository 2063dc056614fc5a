/**
 * RESULTS.md: the stamp (machine, versions), the ratios users ask about in one table (Quiver
 * against apache-arrow and pyarrow over a socket, shm and worker against a socket and
 * postMessage, each against its raw ceiling, the codec against apache-arrow and flechette), every
 * target of the issue with whether it is met (as each bench judged it), the charts, and the
 * details: throughput per bench and latency percentiles.
 */
import { formatDuration, formatNumber, formatRatio, markdownTable, rowsLabel } from '@quiver/core/bench/harness';
import type { Charts } from './charts.js';
import { num, type CodecSummary, type Collected, type ShmCell, type ShmImpl, type SocketCell, type SocketImpl, type SocketScheme } from './results.js';

const GB = 1024 ** 3;
const pct = (r: number): string => (Number.isFinite(r) ? `${(r * 100).toFixed(0)}%` : '-');
const ratio = (r: number): string => (Number.isFinite(r) ? formatRatio(r) : '-');
const seconds = (s: number): string => (s >= 90 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`);
const mark = (met: boolean | undefined): string => (met === undefined ? '' : met ? ' ✓' : ' ✗');

/** One target of the issue, as a bench judged it. */
export interface TargetRow {
  bench: 'codec' | 'socket' | 'shm';
  target: string;
  /** Transport and batch size it applies to. */
  where: string;
  measured: string;
  /** The same ratio from CPU time (socket bench): what the code costs on a loaded machine. */
  cpuBound: string;
  met: boolean;
  /** Batch size, when the target is about one (for the marks in the headline table). */
  rows?: number;
}

/** Every target every bench reported, in one shape. */
export function targets(c: Collected): TargetRow[] {
  const out: TargetRow[] = [];
  for (const s of c.codec?.summaries ?? []) {
    out.push({ bench: 'codec', target: `${s.op} ≥${s.target}x apache-arrow`, where: `${rowsLabel(s.rows)} rows`, measured: ratio(num(s.vsArrow)), cpuBound: '', met: s.met, rows: s.rows });
  }
  for (const t of c.socket?.targets ?? []) {
    const show = t.target.includes('%') ? pct : ratio;
    const where = `${t.scheme}${t.rows === null ? '' : `, ${t.rows === 1 ? '1 row' : `${rowsLabel(t.rows)} rows`}`}`;
    const row: TargetRow = { bench: 'socket', target: t.target, where, measured: show(num(t.value)), cpuBound: Number.isFinite(num(t.cpuBound)) ? show(num(t.cpuBound)) : '', met: t.met };
    if (t.rows !== null) row.rows = t.rows;
    out.push(row);
  }
  for (const t of c.shm?.targets ?? []) {
    // The shm bench names its batch size in the text: "…, 1,048,576-row batches".
    const m = /^(.*?),? (?:at )?([\d,]+)-row batches$/.exec(t.target);
    const row: TargetRow = { bench: 'shm', target: m ? m[1]! : t.target, where: m ? `${rowsLabel(Number(m[2]!.replaceAll(',', '')))} rows` : '', measured: t.shown, cpuBound: '', met: t.met };
    if (m) row.rows = Number(m[2]!.replaceAll(',', ''));
    out.push(row);
  }
  return out;
}

interface Headline {
  comparison: string;
  /** Value per batch size, NaN when not measured. */
  value: (rows: number) => number;
  show: (v: number) => string;
  /** The target judged at a size, if one applies there. */
  met?: (rows: number) => boolean | undefined;
  /** The target, as the bench words it. */
  target: string;
}

function headlines(c: Collected, all: TargetRow[]): Headline[] {
  const out: Headline[] = [];
  const judged = (bench: TargetRow['bench'], test: (t: TargetRow) => boolean) => {
    const ts = all.filter((t) => t.bench === bench && test(t));
    return { met: (rows: number) => ts.find((t) => t.rows === rows)?.met, target: [...new Set(ts.map((t) => t.target))].join('; ') };
  };
  const s = c.socket;
  if (s) {
    const cell = (scheme: SocketScheme, impl: SocketImpl, rows: number) => s.throughput.find((x) => x.scheme === scheme && x.impl === impl && x.rows === rows);
    for (const scheme of s.options.schemes) {
      const of = (f: (x: NonNullable<ReturnType<typeof cell>>) => number) => (rows: number) => {
        const x = cell(scheme, 'quiver', rows);
        return x ? f(x) : NaN;
      };
      const t = (word: string) => judged('socket', (x) => x.where.startsWith(scheme) && x.target.includes(word));
      out.push({ comparison: `${scheme}: Quiver / apache-arrow, both over the socket`, value: of((x) => num(x.vsArrow)), show: ratio, ...t('apache-arrow') });
      if (s.throughput.some((x) => x.scheme === scheme && x.impl === 'pyarrow')) {
        out.push({ comparison: `${scheme}: Quiver / pyarrow → pyarrow`, value: of((x) => num(x.vsPyarrow)), show: ratio, ...t('pyarrow') });
      }
      out.push({ comparison: `${scheme}: Quiver / raw bytes over the socket (ceiling)`, value: of((x) => num(x.vsRaw)), show: pct, ...t('% of raw') });
    }
  }
  const m = c.shm;
  if (m) {
    const of = (impl: ShmImpl, f: (x: ShmCell) => number) => (rows: number) => {
      const x = m.throughput.find((y) => y.impl === impl && y.rows === rows);
      return x ? f(x) : NaN;
    };
    out.push({ comparison: 'shm / unix socket (both Quiver)', value: of('shm', (x) => num(x.vsSocket)), show: ratio, ...judged('shm', (x) => /^shm .*socket/i.test(x.target)) });
    out.push({ comparison: 'worker / postMessage of the IPC bytes (transferred)', value: of('worker', (x) => num(x.vsPostMessage)), show: ratio, ...judged('shm', (x) => /^worker .*postMessage/.test(x.target)) });
    out.push({ comparison: 'shm / memcpy of the same bytes (ceiling)', value: of('shm', (x) => num(x.ofMemcpy)), show: pct, target: '' });
    out.push({ comparison: 'worker / memcpy of the same bytes (ceiling)', value: of('worker', (x) => num(x.ofMemcpy)), show: pct, target: '' });
  }
  const k = c.codec;
  if (k) {
    for (const op of ['encode', 'decode'] as const) {
      const of = (f: (x: CodecSummary) => number) => (rows: number) => {
        const x = k.summaries.find((y) => y.op === op && y.rows === rows);
        return x ? f(x) : NaN;
      };
      out.push({ comparison: `codec ${op}: Quiver / apache-arrow`, value: of((x) => num(x.vsArrow)), show: ratio, ...judged('codec', (x) => x.target.startsWith(op)) });
      out.push({ comparison: `codec ${op}: Quiver / flechette`, value: of((x) => num(x.vsFlechette)), show: ratio, target: '' });
    }
  }
  return out;
}

/** The batch sizes any bench measured, ascending. */
function sizes(c: Collected): number[] {
  const all = [...(c.socket?.options.sizes ?? []), ...(c.shm?.options.sizes ?? []), ...(c.codec?.summaries.map((s) => s.rows) ?? [])];
  return [...new Set(all)].sort((a, b) => a - b);
}

function stamp(c: Collected): string {
  const m = c.machine;
  const v = c.versions;
  const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const rows: Array<[string, string]> = [
    ['date', `${c.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, ${seconds(c.seconds)} in all`],
    ['CPU', `${m.cpu}, ${m.cores} cores`],
    ['memory', `${(m.memory / GB).toFixed(1)} GiB, ${(m.freeMemory / GB).toFixed(1)} GiB free at the start`],
    ['load average (1 / 5 / 15 min)', `${loads(m.loadStart)} at the start, ${loads(m.loadEnd)} at the end`],
    ['OS', m.os],
    ['Node', `${v.node} (V8 ${v.v8})`],
    ['apache-arrow', v.apacheArrow],
    ['@uwdata/flechette', v.flechette],
    ['pyarrow', v.pyarrow],
    ['Quiver', `commit ${v.quiver}`],
  ];
  return markdownTable<[string, string]>(
    [
      { title: 'run', value: (r) => r[0] },
      { title: '', value: (r) => r[1] },
    ],
    rows,
  );
}

function loadNote(c: Collected): string {
  const peak = Math.max(...c.machine.loadStart, ...c.machine.loadEnd);
  if (peak <= c.machine.cores) return '';
  return (
    `The machine was busy with other work (load average up to ${peak.toFixed(1)} on ${c.machine.cores} cores): absolute rates are ` +
    `lower and noisier than on an idle machine. Ratios hold up better: each is the median of per-round ratios of cells ` +
    `run next to each other, so both sides saw the same load; the socket bench's CPU-bound column says what the code costs ` +
    `when each process has a core.\n`
  );
}

function socketDetails(c: Collected): string {
  const s = c.socket!;
  return markdownTable<SocketCell>(
    [
      { title: 'transport', value: (x) => x.scheme },
      { title: 'rows', value: (x) => rowsLabel(x.rows), align: 'right' },
      { title: 'implementation', value: (x) => x.impl },
      { title: 'batches/s', value: (x) => formatNumber(x.batchesPerSec), align: 'right' },
      { title: 'MB/s', value: (x) => formatNumber(x.mbPerSec), align: 'right' },
      { title: 'CPU-bound batches/s', value: (x) => formatNumber(num(x.cpuBoundBatchesPerSec)), align: 'right' },
      { title: 'vs raw', value: (x) => pct(num(x.vsRaw)), align: 'right' },
      { title: 'vs apache-arrow', value: (x) => ratio(num(x.vsArrow)), align: 'right' },
      { title: 'vs pyarrow', value: (x) => ratio(num(x.vsPyarrow)), align: 'right' },
    ],
    s.throughput,
  );
}

function shmDetails(c: Collected): string {
  const s = c.shm!;
  return markdownTable<ShmCell>(
    [
      { title: 'rows', value: (x) => rowsLabel(x.rows), align: 'right' },
      { title: 'path', value: (x) => x.impl },
      { title: 'batches/s', value: (x) => formatNumber(x.batchesPerSec), align: 'right' },
      { title: 'MB/s', value: (x) => (x.impl === 'loan' ? '-' : formatNumber(x.bytesPerSec / 1e6)), align: 'right' },
      { title: 'vs unix socket', value: (x) => ratio(num(x.vsSocket)), align: 'right' },
      { title: 'vs postMessage', value: (x) => ratio(num(x.vsPostMessage)), align: 'right' },
      { title: 'of memcpy', value: (x) => (x.impl === 'loan' ? '-' : pct(num(x.ofMemcpy))), align: 'right' },
    ],
    s.throughput,
  );
}

function codecDetails(c: Collected): string {
  const s = c.codec!;
  return markdownTable<CodecSummary>(
    [
      { title: 'rows', value: (x) => rowsLabel(x.rows), align: 'right' },
      { title: 'op', value: (x) => x.op },
      { title: 'Quiver MB/s', value: (x) => formatNumber(x.quiverMBps), align: 'right' },
      { title: 'apache-arrow MB/s', value: (x) => formatNumber(x.arrowMBps), align: 'right' },
      { title: 'flechette MB/s', value: (x) => formatNumber(x.flechetteMBps), align: 'right' },
      { title: 'vs apache-arrow', value: (x) => ratio(num(x.vsArrow)), align: 'right' },
      { title: 'vs flechette', value: (x) => ratio(num(x.vsFlechette)), align: 'right' },
    ],
    s.summaries,
  );
}

interface LatencyRow {
  bench: string;
  transport: string;
  impl: string;
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  vs: string;
}

function latencyTable(c: Collected): string {
  const rows: LatencyRow[] = [];
  for (const l of c.socket?.latency ?? []) {
    rows.push({ bench: 'socket', transport: l.placement ? `${l.scheme}, pinned to ${l.placement}` : l.scheme, impl: l.impl === 'raw' ? 'raw bytes' : 'Quiver', n: l.n, p50: l.p50, p90: l.p90, p99: l.p99, max: l.max, vs: l.impl === 'raw' ? '' : `${ratio(num(l.p50VsRaw))} raw` });
  }
  const sock = c.shm?.latency.find((l) => l.impl === 'socket');
  for (const l of c.shm?.latency ?? []) {
    rows.push({ bench: 'shm', transport: l.impl === 'shm' ? 'shm' : 'unix', impl: 'Quiver', n: l.n, p50: l.p50, p90: l.p90, p99: l.p99, max: l.max, vs: l.impl === 'shm' && sock ? `${ratio(l.p50 / sock.p50)} unix` : '' });
  }
  return markdownTable<LatencyRow>(
    [
      { title: 'bench', value: (r) => r.bench },
      { title: 'transport', value: (r) => r.transport },
      { title: 'implementation', value: (r) => r.impl },
      { title: 'round trips', value: (r) => formatNumber(r.n), align: 'right' },
      { title: 'p50', value: (r) => formatDuration(r.p50), align: 'right' },
      { title: 'p90', value: (r) => formatDuration(r.p90), align: 'right' },
      { title: 'p99', value: (r) => formatDuration(r.p99), align: 'right' },
      { title: 'max', value: (r) => formatDuration(r.max), align: 'right' },
      { title: 'p50 vs', value: (r) => r.vs, align: 'right' },
    ],
    rows,
  );
}

/** RESULTS.md for `c`; `charts` are the SVG files written beside it. */
export function renderMarkdown(c: Collected, charts: Charts): string {
  const all = targets(c);
  const ns = sizes(c);
  const head = headlines(c, all);
  const parts: string[] = [];
  parts.push(`# Quiver benchmarks\n`);
  parts.push(
    `Every benchmark of the repository in one run, by \`npm run bench\`${c.quick ? ' **with --quick: a smoke run, too short to quote**' : ''}. ` +
      `The raw numbers are in [results.json](results.json); each bench's own report explains its method ` +
      `(packages/core/bench/codec.ts, packages/transport-socket/bench/socket.ts, packages/transport-shm/bench/shm.ts).\n`,
  );
  parts.push(`${stamp(c)}\n`);
  const failed = c.runs.filter((r) => !r.ok);
  if (failed.length > 0) parts.push(`**Failed:** ${failed.map((r) => `${r.name} (${r.error?.split('\n')[0] ?? 'no output'})`).join('; ')}. Their rows are missing below.\n`);
  parts.push(loadNote(c));

  parts.push(`## Quiver against its baselines\n`);
  parts.push(
    `Ratios of batches per second on the same data (above 1x or 100%: Quiver is faster), per batch size. ` +
      `✓ / ✗: the issue's target for that cell, met or not, as the bench judged it.\n`,
  );
  parts.push(
    markdownTable<Headline>(
      [
        { title: 'comparison', value: (h) => h.comparison },
        ...ns.map((n) => ({ title: `${rowsLabel(n)} rows`, value: (h: Headline) => `${h.show(h.value(n))}${mark(h.met?.(n))}`, align: 'right' as const })),
        { title: 'target', value: (h) => h.target },
      ],
      head,
    ) + '\n',
  );

  const met = all.filter((t) => t.met).length;
  parts.push(`## Targets\n`);
  parts.push(`${met} of ${all.length} met. "CPU-bound" is the socket bench's ratio of CPU time per batch: the rate each side would reach with a core to itself.\n`);
  parts.push(
    markdownTable<TargetRow>(
      [
        { title: 'bench', value: (t) => t.bench },
        { title: 'target', value: (t) => t.target },
        { title: 'where', value: (t) => t.where },
        { title: 'measured', value: (t) => t.measured, align: 'right' },
        { title: 'CPU-bound', value: (t) => t.cpuBound, align: 'right' },
        { title: 'result', value: (t) => (t.met ? 'met' : '**NOT met**') },
      ],
      all,
    ) + '\n',
  );

  if (Object.keys(charts).length > 0) {
    parts.push(`## Charts\n`);
    const titles: Record<string, string> = {
      'throughput-socket.svg': 'Socket transports: throughput against batch size',
      'throughput-shm.svg': 'Shared memory: throughput against batch size',
      'codec.svg': 'Codec: encode and decode throughput',
      'latency.svg': 'Round-trip latency percentiles',
    };
    for (const file of Object.keys(charts)) parts.push(`![${titles[file] ?? file}](${file})\n`);
  }

  parts.push(`## Details\n`);
  if (c.socket) {
    parts.push(`### Socket transports (${c.socket.options.rounds} rounds, consumer touches ${c.socket.options.touch ?? 'columns'})\n`);
    parts.push(`${socketDetails(c)}\n`);
  }
  if (c.shm) {
    parts.push(`### Shared memory (${c.shm.options.rounds} rounds, consumer reads every value)\n`);
    parts.push(`loan: the application builds the batch in the ring (only headers are written), so its MB/s would count bytes never moved.\n`);
    parts.push(`${shmDetails(c)}\n`);
  }
  if (c.codec) {
    parts.push(`### Codec (${c.codec.options.rounds} rounds of ${c.codec.options.roundMs} ms)\n`);
    parts.push(
      `MB/s are IPC bytes per second. Quiver's encode hands the batch's own buffers to writev as a gather list and its decode ` +
        `makes views of the input, so neither copies column data and its MB/s grow with the batch; apache-arrow and flechette ` +
        `encode into one new buffer.\n`,
    );
    parts.push(`${codecDetails(c)}\n`);
  }
  if (c.socket?.latency.length || c.shm?.latency.length) {
    parts.push(`### Latency: round trip of a 1-row batch\n`);
    parts.push(`${latencyTable(c)}\n`);
  }
  parts.push(`## Runs\n`);
  parts.push(
    markdownTable<Collected['runs'][number]>(
      [
        { title: 'bench', value: (r) => r.name },
        { title: 'command', value: (r) => `\`${r.command}\`` },
        { title: 'time', value: (r) => seconds(r.seconds), align: 'right' },
        { title: 'result', value: (r) => (r.ok ? 'ok' : 'FAILED') },
      ],
      c.runs,
    ) + '\n',
  );
  return parts.filter((p) => p !== '').join('\n');
}
