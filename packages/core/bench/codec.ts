/**
 * Codec benchmark: encode and decode throughput of one record batch (int64, float64, utf8 with
 * ~10% nulls) at 1K, 64K and 1M rows, against apache-arrow and @uwdata/flechette in the same
 * run, reported as ratios. Not a test and never a gate: it prints a Markdown table and, with
 * `--json PATH`, writes the numbers for the report generator.
 *
 *   node packages/core/dist/bench/codec.js [--json PATH] [--quick] [--rounds 5] [--round-ms 400]
 *                                          [--warmup-ms 200] [--sizes 1024,65536,1048576]
 *
 * `--quick`: 2 rounds of 150 ms after 100 ms of warm-up, for a smoke run (~10 s). `npm run bench`
 * at the workspace root runs this bench with the others and renders the report (packages/bench).
 *
 * What each case does per operation (building inputs happens outside the timed region):
 *  - encode, quiver: a new RecordBatchEncoder, write(batch) and finish(): a whole stream (schema,
 *    batch, end marker) as the gather list a transport hands to writev, never concatenated.
 *    apache-arrow's tableToIPC(table, 'stream') and flechette's tableToIPC(table) produce the same
 *    stream as one Uint8Array. "quiver (open encoder)" is one more write() on a started encoder,
 *    the steady state of a long stream, shown for information.
 *  - decode: every library reads the same bytes (Quiver's stream: the messages apache-arrow
 *    writes, its schema flatbuffer laid out 16 bytes shorter) and the bench touches every column
 *    (its length and its last value) so lazy work counts. "quiver" is MessageFramer +
 *    BatchDecoder, the synchronous API transports use; "quiver (readStreamTable)" is the async
 *    one-call API, the counterpart of tableFromIPC (like it, it builds a Table; the framer path
 *    stops at the RecordBatch a transport hands on).
 * Targets (from the issue): encode at least 2x apache-arrow at every size; decode at least 2x
 * apache-arrow's batches per second at every size.
 */
import { parseArgs } from 'node:util';
import * as A from 'apache-arrow';
import * as F from '@uwdata/flechette';
import * as Q from '../src/index.js';
import { makeTable } from './data.js';
import { compare, environment, formatDuration, formatNumber, formatRatio, markdownTable, progress, rowsLabel, writeJson, type Measurement, type MeasureOptions } from './harness.js';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

// ---- the operations under measurement ------------------------------------------------------

function quiverEncode(schema: A.Schema, batch: A.RecordBatch): Q.EncodedMessage[] {
  const enc = new Q.RecordBatchEncoder(schema);
  const out = enc.write(batch);
  out.push(...enc.finish());
  return out;
}

/** Lengths and last values of every column, so decoders that defer work must do it. */
function touchArrow(batch: A.RecordBatch | A.Table): number {
  let n = 0;
  for (let i = 0; i < batch.numCols; i++) {
    const v = batch.getChildAt(i)!;
    n += v.length;
    if (v.get(v.length - 1) !== null) n++;
  }
  return n;
}

function touchFlechette(table: F.Table): number {
  let n = 0;
  for (const c of table.children) {
    n += c.length;
    if (c.at(c.length - 1) !== null) n++;
  }
  return n;
}

/** Schema message, then every message up to the end marker, through the synchronous API. */
function quiverDecodeFramed(bytes: Uint8Array): A.RecordBatch {
  const framer = new Q.MessageFramer();
  framer.push(bytes);
  const first = framer.next();
  if (first === null || first === 'eos' || first.message.header.type !== 'schema') throw new Error('no schema');
  const decoder = new Q.BatchDecoder(first.message.header.schema, first.message.version);
  let batch: A.RecordBatch | null = null;
  for (let m = framer.next(); m !== null && m !== 'eos'; m = framer.next()) batch = decoder.apply(m.message, m.body) ?? batch;
  framer.finish();
  if (!batch) throw new Error('no batch');
  return batch;
}

// ---- running -------------------------------------------------------------------------------

type Op = 'encode' | 'decode';

interface CellResult {
  rows: number;
  op: Op;
  lib: string;
  /** Bytes of IPC produced (encode) or read (decode) per operation. */
  bytes: number;
  opsPerSec: number;
  mbPerSec: number;
  nsPerOp: number;
  minNs: number;
  maxNs: number;
  roundsNs: number[];
}

interface Summary {
  rows: number;
  op: Op;
  bytes: number;
  quiver: CellResult;
  /** The second Quiver variant (open encoder / readStreamTable). */
  quiverAlt: CellResult;
  arrow: CellResult;
  flechette: CellResult;
  vsArrow: number;
  vsFlechette: number;
  target: number;
  met: boolean;
}

const TARGET = { encode: 2, decode: 2 } as const;
/** The pinned versions (packages/core/package.json) the ratios are against. */
const BASELINES = { 'apache-arrow': '21.2.0', '@uwdata/flechette': '2.6.0' };

function cell(rows: number, op: Op, lib: string, bytes: number, m: Measurement): CellResult {
  return {
    rows, op, lib, bytes,
    opsPerSec: m.opsPerSec,
    mbPerSec: (bytes * m.opsPerSec) / 1e6,
    nsPerOp: m.median,
    minNs: m.min,
    maxNs: m.max,
    roundsNs: m.rounds,
  };
}

function summarise(rows: number, op: Op, cells: Record<string, CellResult>, alt: string): Summary {
  const quiver = cells.quiver!;
  const arrow = cells['apache-arrow']!;
  const flechette = cells.flechette!;
  const vsArrow = quiver.opsPerSec / arrow.opsPerSec;
  return {
    rows, op, bytes: quiver.bytes, quiver, quiverAlt: cells[alt]!, arrow, flechette,
    vsArrow, vsFlechette: quiver.opsPerSec / flechette.opsPerSec,
    target: TARGET[op], met: vsArrow >= TARGET[op],
  };
}

/** Reports the progress of a bench of `sizes` sizes, two comparisons each (warm-up + rounds). */
function tracker(sizes: number, rounds: number) {
  const total = sizes * 2 * (rounds + 1);
  let step = 0;
  return (rows: number, op: Op): MeasureOptions['onRound'] => {
    const base = step++ * (rounds + 1);
    return (round) => progress({ done: base + round + 1, total, stage: round === 0 ? `${op}: warm-up` : `${op}: round ${round} of ${rounds}`, cell: `${rows} rows` });
  };
}

async function benchSize(rows: number, opts: MeasureOptions, log: (s: string) => void, track: ReturnType<typeof tracker>): Promise<{ cells: CellResult[]; summaries: Summary[] }> {
  const table = makeTable(rows);
  const batch = table.batches[0]!;
  const schema = table.schema;

  // Inputs and sanity checks, outside every timed region.
  const quiverBytes = concat(quiverEncode(schema, batch).flatMap((m) => m.buffers));
  const arrowBytes = A.tableToIPC(table, 'stream');
  const ftable = F.tableFromIPC(arrowBytes);
  const flechetteBytes = F.tableToIPC(ftable, { format: 'stream' })!;
  log(`${rows} rows: IPC stream of ${quiverBytes.byteLength} bytes (apache-arrow ${arrowBytes.byteLength}, flechette ${flechetteBytes.byteLength})`);
  const expected = touchArrow(table);
  if (touchArrow(quiverDecodeFramed(quiverBytes)) !== expected) throw new Error('quiver (framer) decoded different data');
  if (touchArrow(await Q.readStreamTable(quiverBytes)) !== expected) throw new Error('quiver (readStreamTable) decoded different data');
  if (touchArrow(A.tableFromIPC(quiverBytes)) !== expected) throw new Error('apache-arrow decoded different data');
  if (touchFlechette(F.tableFromIPC(quiverBytes)) !== expected) throw new Error('flechette decoded different data');
  if (F.tableFromIPC(quiverBytes).getChild('str').at(rows - 1) !== table.getChild('str')!.get(rows - 1)) throw new Error('flechette read a different string');

  const open = new Q.RecordBatchEncoder(schema);
  open.start();
  const byteLength = (ms: Q.EncodedMessage[]) => ms.reduce((n, m) => n + m.byteLength, 0);
  const openBytes = byteLength(open.write(batch));

  log(`${rows} rows: encode...`);
  const enc = await compare(
    {
      quiver: () => quiverEncode(schema, batch),
      'quiver (open encoder)': () => open.write(batch),
      'apache-arrow': () => A.tableToIPC(table, 'stream'),
      flechette: () => F.tableToIPC(ftable, { format: 'stream' }),
    },
    { ...opts, onRound: track(rows, 'encode') },
  );
  log(`${rows} rows: decode...`);
  const dec = await compare(
    {
      quiver: () => touchArrow(quiverDecodeFramed(quiverBytes)),
      'quiver (readStreamTable)': async () => touchArrow(await Q.readStreamTable(quiverBytes)),
      'apache-arrow': () => touchArrow(A.tableFromIPC(quiverBytes)),
      flechette: () => touchFlechette(F.tableFromIPC(quiverBytes)),
    },
    { ...opts, onRound: track(rows, 'decode') },
  );

  const encBytes: Record<string, number> = {
    quiver: quiverBytes.byteLength,
    'quiver (open encoder)': openBytes,
    'apache-arrow': arrowBytes.byteLength,
    flechette: flechetteBytes.byteLength,
  };
  const encCells = Object.fromEntries(Object.entries(enc).map(([lib, m]) => [lib, cell(rows, 'encode', lib, encBytes[lib]!, m as Measurement)]));
  const decCells = Object.fromEntries(Object.entries(dec).map(([lib, m]) => [lib, cell(rows, 'decode', lib, quiverBytes.byteLength, m as Measurement)]));
  return {
    cells: [...Object.values(encCells), ...Object.values(decCells)],
    summaries: [summarise(rows, 'encode', encCells, 'quiver (open encoder)'), summarise(rows, 'decode', decCells, 'quiver (readStreamTable)')],
  };
}

function report(summaries: Summary[]): string {
  const ops = (c: CellResult) => formatNumber(c.opsPerSec);
  const main = markdownTable<Summary>(
    [
      { title: 'rows', value: (s) => rowsLabel(s.rows), align: 'right' },
      { title: 'op', value: (s) => s.op },
      { title: 'IPC MB', value: (s) => formatNumber(s.bytes / 1e6), align: 'right' },
      { title: 'quiver ops/s', value: (s) => ops(s.quiver), align: 'right' },
      { title: 'quiver MB/s', value: (s) => formatNumber(s.quiver.mbPerSec), align: 'right' },
      { title: 'quiver time', value: (s) => formatDuration(s.quiver.nsPerOp), align: 'right' },
      { title: 'apache-arrow ops/s', value: (s) => ops(s.arrow), align: 'right' },
      { title: 'apache-arrow MB/s', value: (s) => formatNumber(s.arrow.mbPerSec), align: 'right' },
      { title: 'flechette ops/s', value: (s) => ops(s.flechette), align: 'right' },
      { title: 'flechette MB/s', value: (s) => formatNumber(s.flechette.mbPerSec), align: 'right' },
      { title: 'quiver / arrow', value: (s) => formatRatio(s.vsArrow), align: 'right' },
      { title: 'quiver / flechette', value: (s) => formatRatio(s.vsFlechette), align: 'right' },
      { title: 'target', value: (s) => `≥${s.target}x arrow: ${s.met ? 'met' : 'NOT met'}` },
    ],
    summaries,
  );
  const alt = markdownTable<Summary>(
    [
      { title: 'rows', value: (s) => rowsLabel(s.rows), align: 'right' },
      { title: 'variant', value: (s) => s.quiverAlt.lib },
      { title: 'ops/s', value: (s) => ops(s.quiverAlt), align: 'right' },
      { title: 'MB/s', value: (s) => formatNumber(s.quiverAlt.mbPerSec), align: 'right' },
      { title: 'time', value: (s) => formatDuration(s.quiverAlt.nsPerOp), align: 'right' },
      { title: 'vs arrow', value: (s) => formatRatio(s.quiverAlt.opsPerSec / s.arrow.opsPerSec), align: 'right' },
      { title: 'vs quiver row above', value: (s) => formatRatio(s.quiverAlt.opsPerSec / s.quiver.opsPerSec), align: 'right' },
    ],
    summaries,
  );
  return `${main}\n\nOther Quiver entry points (same run):\n\n${alt}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      'round-ms': { type: 'string' },
      'warmup-ms': { type: 'string' },
      sizes: { type: 'string', default: '1024,65536,1048576' },
    },
  });
  const quick = values.quick!;
  const opts: MeasureOptions = {
    rounds: Number(values.rounds ?? (quick ? 2 : 5)),
    roundMs: Number(values['round-ms'] ?? (quick ? 150 : 400)),
    warmupMs: Number(values['warmup-ms'] ?? (quick ? 100 : 200)),
  };
  const sizes = values.sizes!.split(',').map(Number);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = process.hrtime.bigint();
  const cells: CellResult[] = [];
  const summaries: Summary[] = [];
  const track = tracker(sizes.length, opts.rounds!);
  for (const rows of sizes) {
    const r = await benchSize(rows, opts, log, track);
    cells.push(...r.cells);
    summaries.push(...r.summaries);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const encodeMet = summaries.filter((s) => s.op === 'encode').every((s) => s.met);
  const decodeMet = summaries.filter((s) => s.op === 'decode').every((s) => s.met);

  const env = environment();
  const libs = Object.entries(BASELINES).map(([k, v]) => `${k} ${v}`).join(', ');
  process.stdout.write(
    `## Quiver codec benchmark\n\n` +
      `One record batch (int64, float64, utf8 with ~10% nulls); medians of ${opts.rounds} interleaved rounds of ${opts.roundMs} ms; ` +
      `ops/s = batches per second; MB/s = IPC bytes per second. Baselines: ${libs}. ` +
      `${env.node}, ${env.cpus} CPUs, load ${env.loadavg}, ${seconds.toFixed(0)} s.\n\n` +
      `${report(summaries)}\n\n` +
      `Encode "quiver": new RecordBatchEncoder, write, finish (a whole stream, as a gather list). ` +
      `Decode "quiver": MessageFramer + BatchDecoder, touching every column.\n\n` +
      `Targets: encode ≥2x apache-arrow at every size: ${encodeMet ? 'met' : 'NOT met'}; ` +
      `decode ≥2x apache-arrow batches/s at every size: ${decodeMet ? 'met' : 'NOT met'}.\n`,
  );
  if (values.json) {
    writeJson(values.json, {
      benchmark: 'codec',
      environment: { ...env, seconds },
      options: opts,
      baselines: BASELINES,
      targets: { encodeVsArrow: TARGET.encode, decodeVsArrow: TARGET.decode, encodeMet, decodeMet },
      summaries: summaries.map((s) => ({
        rows: s.rows, op: s.op, bytes: s.bytes,
        quiverOpsPerSec: s.quiver.opsPerSec, arrowOpsPerSec: s.arrow.opsPerSec, flechetteOpsPerSec: s.flechette.opsPerSec,
        quiverMBps: s.quiver.mbPerSec, arrowMBps: s.arrow.mbPerSec, flechetteMBps: s.flechette.mbPerSec,
        vsArrow: s.vsArrow, vsFlechette: s.vsFlechette, target: s.target, met: s.met,
      })),
      results: cells,
    });
    log(`wrote ${values.json}`);
  }
}

await main();
