/**
 * The report's charts, from the collected results: throughput against batch size for the socket
 * bench, the shm bench and the codec (each chart from one bench, so every line in it was measured
 * the same way in the same interleaved rounds), and the round-trip latency percentiles of every
 * transport. Quiver's lines are solid with filled markers, baselines dashed with hollow ones.
 */
import { rowsLabel } from '@quiver/core/bench/harness';
import { barChart, lineChart, type Marker, type Series, type Tick } from './svg.js';
import { num, type CodecSummary, type Collected, type ShmImpl, type SocketImpl, type SocketScheme } from './results.js';

/** File name → SVG text. */
export type Charts = Record<string, string>;

const COLOR = {
  quiver: '#0969da',
  quiverAlt: '#54aeff',
  raw: '#57606a',
  rawAlt: '#8c959f',
  arrow: '#e16f24',
  arrowAlt: '#f4a261',
  pyarrow: '#1a7f37',
  flechette: '#8250df',
  flechetteAlt: '#c297ff',
  worker: '#1b7c83',
  postMessage: '#bf8700',
  p50: '#9ecbff',
  p90: '#4194e0',
  p99: '#0b3d91',
};

const sizeTicks = (sizes: number[]): Tick[] => [...new Set(sizes)].sort((a, b) => a - b).map((n) => ({ value: n, label: rowsLabel(n) }));

/** µs on a tick: "50 µs", "1 ms". */
const microseconds = (v: number): string => (v >= 1000 ? `${Number((v / 1000).toPrecision(3))} ms` : `${Number(v.toPrecision(3))} µs`);

/** MB/s on a tick: "100 MB/s", "10 GB/s", "1 TB/s". */
export const megabytesPerSecond = (v: number): string => {
  const [scale, unit] = v >= 1e6 ? [1e6, 'TB/s'] : v >= 1e3 ? [1e3, 'GB/s'] : [1, 'MB/s'];
  return `${Number((v / scale).toPrecision(3))} ${unit}`;
};

const X_LABEL = 'rows per record batch (int64, float64, utf8; log scale)';
const Y_LABEL = 'throughput (log scale)';

function socketChart(c: Collected): string | null {
  const s = c.socket;
  if (!s) return null;
  const line = (scheme: SocketScheme, impl: SocketImpl, name: string, color: string, marker: Marker): Series => ({
    name,
    color,
    marker,
    dashed: impl !== 'quiver',
    points: s.throughput.filter((x) => x.scheme === scheme && x.impl === impl).map((x) => [x.rows, x.mbPerSec]),
  });
  const series = [
    line('unix', 'quiver', 'Quiver, unix', COLOR.quiver, 'circle'),
    line('tcp', 'quiver', 'Quiver, tcp', COLOR.quiverAlt, 'square'),
    line('unix', 'raw', 'raw bytes, unix (ceiling)', COLOR.raw, 'circle'),
    line('tcp', 'raw', 'raw bytes, tcp (ceiling)', COLOR.rawAlt, 'square'),
    line('unix', 'apache-arrow', 'apache-arrow, unix', COLOR.arrow, 'circle'),
    line('tcp', 'apache-arrow', 'apache-arrow, tcp', COLOR.arrowAlt, 'square'),
    line('unix', 'pyarrow', 'pyarrow → pyarrow, unix', COLOR.pyarrow, 'diamond'),
  ].filter((x) => x.points.length > 0);
  return lineChart({
    title: 'Socket transports: throughput against batch size',
    subtitle: `Producer and consumer processes; the consumer decodes and touches every column. Medians of ${s.options.rounds} interleaved rounds.`,
    xLabel: X_LABEL,
    yLabel: Y_LABEL,
    xTicks: sizeTicks(s.options.sizes),
    yFormat: megabytesPerSecond,
    series,
  });
}

function shmChart(c: Collected): string | null {
  const s = c.shm;
  if (!s) return null;
  const line = (impl: ShmImpl, name: string, color: string, marker: Marker, dashed: boolean): Series => ({
    name,
    color,
    marker,
    dashed,
    points: s.throughput.filter((x) => x.impl === impl).map((x) => [x.rows, x.bytesPerSec / 1e6]),
  });
  // The loan path is left out: it writes only headers, so its MB/s counts bytes never moved.
  const series = [
    line('shm', 'Quiver shm: (processes)', COLOR.quiver, 'circle', false),
    line('worker', 'Quiver worker: (threads)', COLOR.worker, 'square', false),
    line('socket', 'Quiver unix socket', COLOR.quiverAlt, 'triangle', false),
    line('postMessage', 'postMessage (transfer)', COLOR.postMessage, 'square', true),
    line('memcpy', 'memcpy (ceiling)', COLOR.raw, 'diamond', true),
  ].filter((x) => x.points.length > 0);
  return lineChart({
    title: 'Shared memory: throughput against batch size',
    subtitle: `The consumer decodes each batch where it lies and reads every value. Medians of ${s.options.rounds} interleaved rounds.`,
    xLabel: X_LABEL,
    yLabel: Y_LABEL,
    xTicks: sizeTicks(s.options.sizes),
    yFormat: megabytesPerSecond,
    series,
  });
}

function codecChart(c: Collected): string | null {
  const s = c.codec;
  if (!s) return null;
  type Lib = 'quiver' | 'arrow' | 'flechette';
  const mb: Record<Lib, (x: CodecSummary) => number> = { quiver: (x) => x.quiverMBps, arrow: (x) => x.arrowMBps, flechette: (x) => x.flechetteMBps };
  const line = (lib: Lib, op: 'encode' | 'decode', name: string, color: string): Series => ({
    name,
    color,
    marker: op === 'encode' ? 'circle' : 'square',
    dashed: lib !== 'quiver',
    points: s.summaries.filter((x) => x.op === op).map((x) => [x.rows, mb[lib](x)]),
  });
  const series = [
    line('quiver', 'encode', 'Quiver encode', COLOR.quiver),
    line('quiver', 'decode', 'Quiver decode', COLOR.quiverAlt),
    line('arrow', 'encode', 'apache-arrow encode', COLOR.arrow),
    line('arrow', 'decode', 'apache-arrow decode', COLOR.arrowAlt),
    line('flechette', 'encode', 'flechette encode', COLOR.flechette),
    line('flechette', 'decode', 'flechette decode', COLOR.flechetteAlt),
  ].filter((x) => x.points.length > 0);
  return lineChart({
    title: 'Codec: encode and decode throughput against batch size',
    // Quiver's encode is a gather list of the batch's own buffers and its decode makes views of
    // the input: neither copies column data, so its bytes per second grow with the batch.
    subtitle: `One batch to a whole IPC stream and back, in one thread; Quiver copies no column data either way. Medians of ${s.options.rounds} rounds.`,
    xLabel: X_LABEL,
    yLabel: 'IPC bytes per second (log scale)',
    xTicks: sizeTicks(s.summaries.map((x) => x.rows)),
    yFormat: megabytesPerSecond,
    series,
  });
}

function latencyChart(c: Collected): string | null {
  const groups: string[] = [];
  const pct: Record<'p50' | 'p90' | 'p99', number[]> = { p50: [], p90: [], p99: [] };
  const add = (group: string, l: { p50: number; p90: number; p99: number }) => {
    groups.push(group);
    for (const k of ['p50', 'p90', 'p99'] as const) pct[k].push(num(l[k]) / 1e3);
  };
  for (const l of c.socket?.latency ?? []) add(`${l.scheme}${l.placement ? ` (${l.placement})` : ''}\n${l.impl === 'raw' ? 'raw bytes' : 'Quiver'}`, l);
  for (const l of c.shm?.latency ?? []) add(l.impl === 'shm' ? 'shm:\nQuiver' : 'unix\nQuiver (shm bench)', l);
  if (groups.length === 0) return null;
  return barChart({
    title: 'Round trip of a 1-row batch: latency percentiles',
    subtitle: 'Ping-pong between two processes; the echo side decodes, touches and re-encodes the batch (raw: echoes the same bytes).',
    yLabel: 'round trip (log scale)',
    xLabel: 'transport and implementation',
    groups,
    bars: [
      { name: 'p50', color: COLOR.p50, values: pct.p50 },
      { name: 'p90', color: COLOR.p90, values: pct.p90 },
      { name: 'p99', color: COLOR.p99, values: pct.p99 },
    ],
    yFormat: microseconds,
  });
}

/** Every chart the results allow (a bench that did not run has no chart). */
export function renderCharts(c: Collected): Charts {
  const charts: Charts = {};
  const add = (file: string, svg: string | null) => {
    if (svg) charts[file] = svg;
  };
  add('throughput-socket.svg', socketChart(c));
  add('throughput-shm.svg', shmChart(c));
  add('codec.svg', codecChart(c));
  add('latency.svg', latencyChart(c));
  return charts;
}
