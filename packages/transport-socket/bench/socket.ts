/**
 * Socket transport benchmark: Quiver streams over `unix:` and `tcp:` against the raw bytes over the
 * same socket (the ceiling), apache-arrow's stream writer and reader, and pyarrow to pyarrow, in
 * one run, reported as ratios; and the round-trip latency of a 1-row batch against raw bytes of
 * the same size. Not a test and never a gate: it prints Markdown and, with `--json PATH`, writes
 * the numbers.
 *
 *   node packages/transport-socket/dist/bench/socket.js [--json PATH] [--quick] [--rounds 7]
 *        [--seconds 0.6] [--sizes 1024,65536,1048576] [--schemes unix,tcp] [--no-pyarrow]
 *        [--impls raw,quiver,apache-arrow,pyarrow] [--latency 5000 (0: none)] [--cpu-prof DIR]
 *        [--touch columns|values]
 *   pnpm --filter @quiver/transport-socket bench -- --json socket.json
 *
 * How (see peer.ts for what each implementation does on each side):
 *  - Producer and consumer are separate processes (two long-lived Node peers, and two pyarrow
 *    peers), the coordinator (this process) only tells them what to run and sits idle meanwhile.
 *  - Every batch is the 3-column batch of packages/core/bench/data.ts (int64, float64, utf8 with
 *    ~10% nulls); the consumer touches every column of every batch (--touch columns, the default:
 *    each column's length, null count, first and last value, see core's bench data touchColumns;
 *    --touch values: every value, a loop whose cost is the language's, not the transport's) and its
 *    checksum, batch and row counts are checked after each run.
 *  - Throughput is timed by the consumer, from the end of a warm-up to the last batch, so process
 *    and connection set-up never count. A first pass calibrates each cell's batch count to about
 *    `--seconds`; then `--rounds` rounds run every cell once each, interleaved (the order rotates
 *    each round), and each cell reports its median. Ratios are of batches per second (same data),
 *    the median of the rounds' ratios; raw's batches per second is its bytes per second over the
 *    size of Quiver's batch message. Each side's CPU time per batch is reported too, and the
 *    "CPU-bound" rate it implies (see report.ts): on a shared machine it is the steadier number.
 *  - Latency: ping-pong of a 1-row batch, Quiver both ways (the echo side decodes, touches and
 *    re-encodes it), against raw bytes of the same size echoed once complete. After an untimed
 *    block of each (JIT warm-up) and a round of the alternating blocks that follow, untimed too,
 *    timed blocks of each alternate; p50/p99 over all of them. It
 *    runs first, in two Node peers of its own: processes that had run the throughput cells
 *    answered slower for good (as in the shm bench, where it was measured: see shm.ts).
 *    It runs three times, each in a fresh pair of peers: where the scheduler puts them, then
 *    pinned (every thread, with taskset) to one core, then to two cores, one each. Left to the
 *    scheduler, on a small virtual machine, the two sides of a round trip sometimes share a
 *    core (a round trip is then both sides' CPU time: ~18 µs raw here) and sometimes not (then
 *    each wake-up crosses cores: ~60 µs raw here), and raw's placement and Quiver's need not be
 *    the same in one run: their ratio then measures the scheduler. Pinned, both run the same
 *    way, and each placement is judged on its own.
 *  - `--quick`: 2 rounds of about 0.25 s and 1,000 round trips, for a smoke run (~20 s).
 * Targets (from the issue): Quiver at least 85% of the raw ceiling from 64K rows up, at least 2x
 * apache-arrow, at least pyarrow's throughput (Unix); p50 round trip at most 1.5x raw's, p99 at
 * most 3x its own p50.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as A from 'apache-arrow';
import { RecordBatchEncoder, writeIpcFile } from '@quiver/core';
import { makeTable, touchModeOf } from '@quiver/core/bench/data';
import { environment, progress, writeJson } from '@quiver/core/bench/harness';
import { python } from '@quiver/testkit';
import { Peer } from './peers.js';
import type { Consumed, Impl, TouchMode, Loaded, Pinged, Produced, Scheme } from './protocol.js';
import { toucher } from './protocol.js';
import { report, summarise, type Cell, type LatencyResult, type Options } from './report.js';

interface SizeInfo {
  rows: number;
  /** Bytes of one record batch message, per implementation (raw sends Quiver's). */
  batchBytes: Record<Impl, number>;
  /** The touch of one batch, and the exact int64 sum pyarrow reports when touching values. */
  checksum: number;
  intSum: bigint;
}

interface Peers {
  producer: Peer;
  consumer: Peer;
  py: { producer: Peer; consumer: Peer } | null;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
let runSeq = 0;
/** What consumers read of each batch (--touch). */
let touchMode: TouchMode = 'columns';
let pyVersion = '';
/** Why the pyarrow cells are missing, when they are. */
let pyNote = '';

interface Run {
  batchesPerSec: number;
  /** CPU ns per batch: the consumer's over the timed batches, the producer's over all it sent. */
  consumerCpu: number;
  producerCpu: number;
}

/** One run of one cell: `warm` untimed then `count` timed batches. */
async function runOnce(peers: Peers, dir: string, info: SizeInfo, cell: Cell, warm: number, count: number): Promise<Run> {
  const py = cell.impl === 'pyarrow';
  if (py && !peers.py) throw new Error('pyarrow peers are not running');
  const consumer = py ? peers.py!.consumer : peers.consumer;
  const producer = py ? peers.py!.producer : peers.producer;
  const path = join(dir, `r${++runSeq}.sock`);
  const batchBytes = info.batchBytes[cell.impl];
  const c = consumer.request<Consumed>({ op: 'consume', impl: cell.impl, scheme: cell.scheme, path, rows: cell.rows, warm, count, batchBytes, touch: touchMode });
  const url = await c.ready;
  const [r, p] = await within(Promise.all([c.done, producer.call<Produced>({ op: 'produce', impl: cell.impl, url, rows: cell.rows, total: warm + count })]), label(cell));
  check(cell, info, r, warm + count);
  if (r.timedBatches <= 0 || r.ns <= 0) throw new Error(`${label(cell)}: nothing was timed`);
  return { batchesPerSec: r.timedBatches / (r.ns / 1e9), consumerCpu: r.cpuNs / r.timedBatches, producerCpu: p.cpuNs / (warm + count) };
}

/** A run is sized to take about a second; one that takes minutes is stuck (a peer hung), not slow. */
const RUN_TIMEOUT_MS = 120_000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${RUN_TIMEOUT_MS / 1000} s`)), RUN_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Whether every batch arrived whole: counts, and the consumer's checksum against ours. */
function check(cell: Cell, info: SizeInfo, r: Consumed, total: number): void {
  const fail = (what: string) => {
    throw new Error(`${label(cell)}: ${what} (got ${JSON.stringify(r)})`);
  };
  if (cell.impl === 'raw') {
    if (r.checksum !== total * info.batchBytes.raw) fail(`expected ${total * info.batchBytes.raw} bytes`);
    return;
  }
  if (r.batches !== total || r.rows !== total * cell.rows) fail(`expected ${total} batches of ${cell.rows} rows`);
  // apache-arrow's reader does not say how its stream ended; the count above covers it.
  if (cell.impl !== 'apache-arrow' && r.end !== 'eos') fail('the stream did not end with its end-of-stream marker');
  if (cell.impl === 'pyarrow' && touchMode === 'values') {
    if (BigInt(r.checksum) !== BigInt(total) * info.intSum) fail('int64 sum differs');
  } else {
    const want = total * info.checksum;
    if (Math.abs((r.checksum as number) - want) > 1e-9 * Math.abs(want)) fail(`checksum differs from ${want}`);
  }
}

const label = (c: Cell) => `${c.scheme} ${c.rows} rows ${c.impl}`;

async function prepareSize(rows: number, dir: string, peers: Peers): Promise<SizeInfo> {
  const table = makeTable(rows);
  const batch = table.batches[0]!;
  const enc = new RecordBatchEncoder(batch.schema);
  enc.start();
  const quiverBytes = enc.write(batch).reduce((n, m) => n + m.byteLength, 0);
  // apache-arrow's batch message: a two-batch stream minus a one-batch stream.
  const arrowBytes = A.tableToIPC(new A.Table([batch, batch]), 'stream').byteLength - A.tableToIPC(new A.Table([batch]), 'stream').byteLength;
  const loaded = await peers.producer.call<Loaded>({ op: 'load', rows });
  if (loaded.batchBytes !== quiverBytes) throw new Error('the peer encoded a different batch');
  let pyBytes = NaN;
  if (peers.py) {
    const file = join(dir, `${rows}.arrows`);
    await writeIpcFile(file, table, 'stream');
    try {
      const l = await peers.py.producer.call<Loaded>({ op: 'load', rows, file });
      await peers.py.consumer.call<Loaded>({ op: 'load', rows, file });
      pyBytes = l.batchBytes;
      pyVersion = l.version ?? '?';
    } catch (e) {
      // No pyarrow in that interpreter, most likely: the rest of the bench still means something.
      pyNote = `pyarrow skipped: ${(e as Error).message.split('\n').slice(-2).join(' ')}`;
      log(pyNote);
      await Promise.all([peers.py.producer.close(), peers.py.consumer.close()]);
      peers.py = null;
    }
  }
  const ints = batch.getChildAt(0)!.toArray() as BigInt64Array;
  let intSum = 0n;
  for (const v of ints) intSum += v;
  return { rows, checksum: toucher(touchMode)(batch), intSum, batchBytes: { raw: quiverBytes, quiver: quiverBytes, 'apache-arrow': arrowBytes, pyarrow: pyBytes } };
}

/** Ping-pong blocks of raw and Quiver, alternating; every timed round trip pooled per impl. */
async function latency(peers: Peers, dir: string, scheme: Scheme, rawBytes: number, blocks: number, perBlock: number, placement?: string): Promise<LatencyResult[]> {
  const samples: Record<'raw' | 'quiver', number[]> = { raw: [], quiver: [] };
  const block = async (impl: 'raw' | 'quiver', warm: number, n: number, timed = true) => {
    const e = peers.consumer.request<object>({ op: 'echo', impl, scheme, path: join(dir, `e${++runSeq}.sock`), batchBytes: rawBytes });
    const url = await e.ready;
    const [p] = await within(Promise.all([peers.producer.call<Pinged>({ op: 'ping', impl, url, warm, n }), e.done]), `${scheme} ${impl} ping-pong`);
    if (timed) samples[impl].push(...p.samples);
  };
  const alternate = async (timed: boolean) => {
    for (let b = 0; b < blocks; b++) {
      const order = b % 2 === 0 ? (['raw', 'quiver'] as const) : (['quiver', 'raw'] as const);
      for (const impl of order) await block(impl, 300, perBlock, timed);
    }
  };
  // A long untimed block of each first: the JIT takes a few thousand round trips to settle on
  // Quiver's path, far more than on raw's. Measured on one core, after 300 round trips: of the
  // next 1,000, 70% took over 4x the final median; of the 1,000 after, 10%; then 1.5%; from
  // about 4,000 on, 0.5% (garbage collection).
  for (const impl of ['raw', 'quiver'] as const) await block(impl, 10_000, 0);
  // Then the timed pattern itself, untimed: alternating raw and Quiver in the same processes sends
  // Node's stream code other object shapes, and the JIT deoptimises and recompiles for a few more
  // blocks (--trace-opt: ~290 compilations and ~50 deoptimisations in the first block, ~20 in each
  // of the next two, about none after). Those compilations run on threads of the same one or two
  // cores, and the blocks they fell in had 3 to 5 times the slow round trips of later ones: timed,
  // they made the p99 of whichever scheme a fresh pair of peers ran first (unix before tcp: 4x to
  // 40x its p50; tcp first: the same for tcp, and unix within 2x).
  await alternate(false);
  await alternate(true);
  return (['raw', 'quiver'] as const).map((impl) => {
    const s = Float64Array.from(samples[impl]).sort();
    const at = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
    return { scheme, impl, bytes: rawBytes, n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[s.length - 1]!, ...(placement ? { placement } : {}) };
  });
}

/** A pinned placement of the latency peers: the CPUs each may run on (all its threads). */
interface Placement {
  name: string;
  producer: string;
  consumer: string;
}

/**
 * The pinned placements this machine allows: both peers on one core, and each on a core of its
 * own (with two CPUs or more). None without `taskset` (util-linux) or off Linux.
 */
function placements(): Placement[] {
  if (process.platform !== 'linux') return [];
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return [];
  }
  const out: Placement[] = [{ name: 'one core', producer: '0', consumer: '0' }];
  if (availableParallelism() >= 2) out.push({ name: 'two cores', producer: '0', consumer: '1' });
  return out;
}

/** Every thread of process `pid` (V8's helpers too) may run only on `cpus`. */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      sizes: { type: 'string', default: '1024,65536,1048576' },
      schemes: { type: 'string', default: 'unix,tcp' },
      impls: { type: 'string', default: 'raw,quiver,apache-arrow,pyarrow' },
      'no-pyarrow': { type: 'boolean', default: false },
      latency: { type: 'string' },
      'cpu-prof': { type: 'string' },
      touch: { type: 'string', default: 'columns' },
    },
  });
  touchMode = touchModeOf(values.touch);
  const quick = values.quick!;
  const opts: Options = {
    rounds: Number(values.rounds ?? (quick ? 2 : 7)),
    seconds: Number(values.seconds ?? (quick ? 0.25 : 0.6)),
    latencyRoundTrips: Number(values.latency ?? (quick ? 1000 : 5000)),
    sizes: values.sizes!.split(',').map(Number),
    schemes: values.schemes!.split(',') as Scheme[],
    impls: values.impls!.split(',') as Impl[],
    touch: touchMode,
  };
  const started = process.hrtime.bigint();
  const dir = mkdtempSync(join(tmpdir(), 'qsb-'));
  const prof = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', values['cpu-prof']] : [];
  const peers: Peers = { producer: Peer.node('producer', prof), consumer: Peer.node('consumer', prof), py: null };
  if (!values['no-pyarrow'] && opts.impls.includes('pyarrow')) {
    try {
      const py = python();
      peers.py = { producer: Peer.python('pyarrow producer', py), consumer: Peer.python('pyarrow consumer', py) };
    } catch (e) {
      pyNote = `pyarrow skipped: ${(e as Error).message}`;
      log(pyNote);
    }
  }
  try {
    const infos = new Map<number, SizeInfo>();
    for (const rows of opts.sizes) infos.set(rows, await prepareSize(rows, dir, peers));

    const cells: Cell[] = [];
    for (const rows of opts.sizes) {
      for (const scheme of opts.schemes) {
        const impls = opts.impls.filter((i) => i !== 'pyarrow' || (peers.py && scheme === 'unix'));
        for (const impl of impls) cells.push({ scheme, rows, impl, batchBytes: infos.get(rows)!.batchBytes[impl], warm: 0, count: 0, rates: [], consumerCpu: [], producerCpu: [] });
      }
    }

    // Progress in runs: one unit per latency scheme, then one calibration (two runs) and `rounds` runs per cell.
    const total = cells.length * (1 + opts.rounds) + (opts.latencyRoundTrips > 0 ? opts.schemes.length * (1 + placements().length) : 0);
    let done = 0;
    // Latency first, in two Node peers of its own (see the module documentation).
    const lat: LatencyResult[] = [];
    if (opts.latencyRoundTrips > 0) {
      log('latency...');
      const blocks = quick ? 2 : 5;
      // Where the scheduler puts the two peers, then (in fresh peers each time) pinned to one
      // core and to two: see the module documentation.
      for (const placement of [undefined, ...placements()]) {
        const own: Peers = { producer: Peer.node('latency producer', prof), consumer: Peer.node('latency consumer', prof), py: null };
        try {
          const rawBytes = (await own.producer.call<Loaded>({ op: 'load', rows: 1 })).batchBytes;
          await own.consumer.call<Loaded>({ op: 'load', rows: 1 });
          if (placement) {
            // Once both have started, so that every thread they made is there to be pinned
            // (threads made later inherit the mask of the thread that makes them).
            pin(own.producer.pid, placement.producer);
            pin(own.consumer.pid, placement.consumer);
          }
          for (const scheme of opts.schemes) {
            progress({ done: done++, total, stage: 'latency', cell: `${scheme} 1-row round trips${placement ? `, pinned to ${placement.name}` : ''}` });
            lat.push(...(await latency(own, dir, scheme, rawBytes, blocks, Math.ceil(opts.latencyRoundTrips / blocks), placement?.name)));
          }
        } finally {
          await Promise.all([own.producer.close(), own.consumer.close()]);
        }
      }
    }
    // Calibration: a short run of each cell sizes its batch count to about `seconds`. It also warms
    // both peers' JIT for every path, so the first measured round is not the cold one.
    for (const cell of cells) {
      progress({ done: done++, total, stage: 'calibrating', cell: label(cell) });
      const mb = 1 << 20;
      // Twice, the second run sized by the first to about `seconds`: the first is mostly the JIT
      // warming up, and cells sized by it alone would be too short to time anything but noise.
      let { batchesPerSec: rate } = await runOnce(peers, dir, infos.get(cell.rows)!, cell, Math.max(2, Math.ceil((4 * mb) / cell.batchBytes)), Math.max(4, Math.ceil((32 * mb) / cell.batchBytes)));
      const count = Math.max(4, Math.round(rate * opts.seconds));
      ({ batchesPerSec: rate } = await runOnce(peers, dir, infos.get(cell.rows)!, cell, Math.max(2, Math.round(count / 5)), count));
      cell.count = Math.max(4, Math.round(rate * opts.seconds));
      cell.warm = Math.max(2, Math.round(cell.count / 5));
      log(`calibrated ${label(cell)}: ${Math.round(rate)} batches/s → ${cell.warm} + ${cell.count} batches per run`);
    }
    for (let r = 0; r < opts.rounds; r++) {
      log(`round ${r + 1} of ${opts.rounds}...`);
      // Rotate (and on odd rounds reverse) the order, so no cell always follows the same one.
      const order = cells.map((_, i) => cells[(i + r * 3) % cells.length]!);
      if (r % 2 === 1) order.reverse();
      for (const cell of order) {
        progress({ done: done++, total, stage: `round ${r + 1} of ${opts.rounds}`, cell: label(cell) });
        const run = await runOnce(peers, dir, infos.get(cell.rows)!, cell, cell.warm, cell.count);
        cell.rates.push(run.batchesPerSec);
        cell.consumerCpu.push(run.consumerCpu);
        cell.producerCpu.push(run.producerCpu);
      }
    }


    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const env = { ...environment(), seconds: Number(seconds.toFixed(1)) };
    const summary = summarise(cells, lat);
    process.stdout.write(report(summary, opts, env, `apache-arrow 21.2.0, ${pyVersion ? `pyarrow ${pyVersion}` : pyNote}`));
    if (values.json) {
      writeJson(values.json, { benchmark: 'socket', environment: env, options: opts, baselines: { 'apache-arrow': '21.2.0', pyarrow: pyVersion || pyNote }, ...summary });
      log(`wrote ${values.json}`);
    }
  } finally {
    await Promise.all([peers.producer.close(), peers.consumer.close(), peers.py?.producer.close(), peers.py?.consumer.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
