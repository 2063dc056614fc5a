/**
 * Shared-memory transport benchmark: shm: (between processes) and worker: (main thread → worker)
 * against the Unix socket transport, postMessage of the IPC bytes (transferred), and a plain
 * memory copy of the same bytes (the ceiling), in one run, reported as ratios; the loan path at
 * every size; and the round trip of a 1-row batch over two shm rings against a Unix socket. Not a
 * test and never a gate: it prints Markdown and, with `--json PATH`, writes the numbers.
 *
 *   node packages/transport-shm/dist/bench/shm.js [--json PATH] [--quick] [--rounds 5]
 *        [--seconds 0.3] [--sizes 1024,65536,1048576] [--latency 3000 (0: none)] [--cpu-prof DIR]
 *        [--touch columns|values]
 *   pnpm --filter @quiver/transport-shm bench -- --json shm.json
 *
 * How:
 *  - shm and socket: publisher/producer and subscriber/consumer are two forked peers (peer.ts);
 *    this process only coordinates. shm publishes with ShmPublisher.publish (one encode, body copied
 *    once into the ring); the subscriber decodes each batch where it lies (ShmSubscriber.next) and
 *    touches every column (--touch columns, the default: length, null count, first and last value,
 *    as the socket bench; --touch values reads every value). socket: StreamProducer.connect →
 *    acceptStreams with `recycle: true` (as the socket bench: each batch is valid until the next,
 *    the contract a ring subscriber's batches have), so both paths are at their best for a
 *    consumer that touches each batch and moves on.
 *  - worker: this thread publishes into a worker: ring (ShmPublisher.overChannel), a worker thread
 *    (worker.ts) subscribes, decodes and touches as above.
 *  - postMessage: each batch encoded as a whole IPC stream (schema, batch, end) into a fresh
 *    ArrayBuffer (an encode and one copy, as the ring's publish makes), transferred to the worker, which decodes it with core's
 *    readStreamTable and touches it; at most 8 in flight (the worker acks each).
 *  - memcpy: TypedArray.set of the batch message's bytes into a preallocated buffer, in this thread.
 *  - loan: ShmPublisher.loan per batch writing only the message header into the slot (the body
 *    stands for data built in place by the application, not counted; the batch is the bench
 *    batch's fixed-width columns, so whatever bytes the slot holds decode); the subscriber decodes and
 *    reads one value of each column. Its batches/s at 1M rows against 1K rows says whether the path
 *    is limited by message rate or by bytes.
 *  - Throughput is timed by the consuming side from the end of a warm-up. A calibration (two runs,
 *    the first warming the JIT) sizes each cell to about `--seconds`; then `--rounds` rounds run every cell, interleaved (the order
 *    rotates each round); each cell reports its median, each ratio the median of per-round ratios.
 *  - Latency: ping-pong of a 1-row batch (the echo side decodes, touches, re-publishes it), shm
 *    (two rings, one each way) and Unix socket blocks alternating after an untimed warm-up block;
 *    p50/p99 over all timed round trips. It runs first, in two peer processes of its own: peers
 *    that ran the throughput cells answered about 8 µs slower for good (11.5 against 19.9 µs p50
 *    after three 20,000-batch 1-row cells, fresh peers after the same cells 11.3 µs). Their
 *    optimised code had seen other object shapes; the exact cause was not pinned down.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { environment, formatDuration, formatNumber, formatRatio, markdownTable, progress, writeJson } from '@quiver/core/bench/harness';
import { createWorkerChannel, ShmPublisher } from '../src/index.js';
import { data, loanData, now, streamOf, ringSize, toucher, type TouchMode, type Command, type Consumed, type Reply } from './common.js';
import { touchModeOf } from '@quiver/core/bench/data';
import type { WorkerCommand, WorkerReply } from './worker.js';

const log = (s: string) => process.stderr.write(`${s}\n`);
const IMPLS = ['shm', 'worker', 'socket', 'postMessage', 'memcpy', 'loan'] as const;
type Impl = (typeof IMPLS)[number];
type Req = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;

class Peer {
  #next = 1;
  readonly #pending = new Map<number, { ready: (u: string) => void; done: (v: unknown) => void; fail: (e: Error) => void }>();
  readonly child: ChildProcess;

  constructor(
    readonly name: string,
    execArgv: string[],
  ) {
    this.child = fork(fileURLToPath(new URL('./peer.js', import.meta.url)), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (r: Reply) => {
      const p = this.#pending.get(r.id);
      if (!p) return;
      if ('ready' in r) return p.ready(r.ready);
      this.#pending.delete(r.id);
      if ('error' in r) p.fail(new Error(`${name}: ${r.error}`));
      else p.done(r.done);
    });
    this.child.on('exit', (code, signal) => {
      for (const p of this.#pending.values()) p.fail(new Error(`${name} exited (${signal ?? code})`));
      this.#pending.clear();
    });
  }

  request<T>(req: Req): { ready: Promise<string>; done: Promise<T> } {
    const id = this.#next++;
    let ready!: (u: string) => void;
    let done!: (v: unknown) => void;
    let fail!: (e: Error) => void;
    const r = new Promise<string>((res, rej) => {
      ready = res;
      fail = rej;
    });
    const d = new Promise<T>((res, rej) => {
      done = res as (v: unknown) => void;
      const f = fail;
      fail = (e) => {
        f(e);
        rej(e);
      };
    });
    r.catch(() => {});
    this.#pending.set(id, { ready, done, fail });
    this.child.send({ ...req, id });
    return { ready: r, done: d };
  }

  call<T>(req: Req): Promise<T> {
    return this.request<T>(req).done;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ op: 'exit', id: 0 });
    await exited;
  }
}

/** The bench's worker thread: one command at a time; acks of postMessage go to `onAck`. */
class WorkerHost {
  readonly worker = new Worker(new URL('./worker.js', import.meta.url));
  #waiting: { resolve: (c: Consumed) => void; reject: (e: Error) => void } | null = null;
  onAck: () => void = () => {};

  constructor() {
    this.worker.on('message', (m: WorkerReply) => {
      if (m === 'ack') return this.onAck();
      const w = this.#waiting!;
      this.#waiting = null;
      if ('error' in m) w.reject(new Error(`worker: ${m.error}`));
      else w.resolve(m.done);
    });
    this.worker.on('error', (e) => this.#waiting?.reject(e));
  }

  run(cmd: WorkerCommand): Promise<Consumed> {
    const p = new Promise<Consumed>((resolve, reject) => (this.#waiting = { resolve, reject }));
    this.worker.postMessage(cmd);
    return p;
  }
}

interface Cell {
  impl: Impl;
  rows: number;
  bytes: number;
  warm: number;
  count: number;
  rates: number[];
}

interface Ctx {
  a: Peer;
  b: Peer;
  host: WorkerHost;
  dir: string;
  seq: number;
}

/** What consumers read of each batch (--touch; see core's bench data touch / touchColumns). */
let touchMode: TouchMode = 'columns';

const label = (c: Cell) => `${c.rows} rows ${c.impl}`;
const sleep1 = () => new Promise((r) => setTimeout(r, 1));

function check(cell: Cell, r: Consumed, total: number): void {
  if (r.batches !== total || r.rows !== total * cell.rows) throw new Error(`${label(cell)}: expected ${total} batches of ${cell.rows} rows, got ${JSON.stringify(r)}`);
  if (cell.impl === 'loan') return; // bodies are not written: only the counts mean something
  const want = total * toucher(touchMode)(data(cell.rows).batch);
  if (Math.abs(r.checksum - want) > 1e-9 * Math.abs(want)) throw new Error(`${label(cell)}: checksum ${r.checksum}, expected ${want}`);
}

/** One run of one cell; batches per second over the timed part. */
async function runOnce(ctx: Ctx, cell: Cell, warm: number, count: number): Promise<number> {
  const total = warm + count;
  const d = data(cell.rows);
  let r: Consumed;
  switch (cell.impl) {
    case 'shm':
    case 'loan': {
      const name = `quiver-bench-${process.pid}-${++ctx.seq}`;
      const p = ctx.a.request<object>({ op: 'shmPub', name, rows: cell.rows, total, loan: cell.impl === 'loan' });
      await p.ready;
      [r] = await Promise.all([ctx.b.call<Consumed>({ op: 'shmSub', name, warm, touch: cell.impl === 'loan' ? 'columns' : touchMode }), p.done]);
      break;
    }
    case 'socket': {
      const c = ctx.b.request<Consumed>({ op: 'sockSub', path: join(ctx.dir, `s${++ctx.seq}.sock`), warm, touch: touchMode });
      const url = await c.ready;
      [r] = await Promise.all([c.done, ctx.a.call({ op: 'sockPub', url, rows: cell.rows, total })]);
      break;
    }
    case 'worker': {
      const ch = createWorkerChannel({ size: ringSize(d.message.byteLength) });
      const pub = await ShmPublisher.overChannel(ch);
      const res = ctx.host.run({ op: 'ring', sab: ch.sab, warm, touch: touchMode });
      while (pub.subscribers().length === 0) await sleep1();
      for (let i = 0; i < total; i++) await pub.publish(d.batch);
      await pub.close();
      r = await res;
      break;
    }
    case 'postMessage': {
      const res = ctx.host.run({ op: 'pm', warm, total, touch: touchMode });
      let inflight = 0;
      let wake: (() => void) | null = null;
      ctx.host.onAck = () => {
        inflight--;
        const w = wake;
        wake = null;
        w?.();
      };
      for (let i = 0; i < total; i++) {
        while (inflight >= 8) await new Promise<void>((resolve) => (wake = resolve));
        const ab = streamOf(d.batch);
        inflight++;
        ctx.host.worker.postMessage(ab, [ab]);
      }
      r = await res;
      break;
    }
    case 'memcpy': {
      const src = d.message;
      const dst = new Uint8Array(src.byteLength);
      let sum = 0;
      let t0 = now();
      for (let i = 0; i < total; i++) {
        if (i === warm) t0 = now();
        dst.set(src);
        sum += dst[i % dst.byteLength]!;
      }
      const ns = now() - t0;
      if (sum < 0) log('impossible');
      return count / (ns / 1e9);
    }
  }
  check(cell, r, total);
  if (r.timedBatches <= 0 || r.ns <= 0) throw new Error(`${label(cell)}: nothing was timed`);
  return r.timedBatches / (r.ns / 1e9);
}

interface Latency {
  impl: 'shm' | 'socket';
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

async function latency(ctx: Ctx, total: number, blocks: number): Promise<Latency[]> {
  const samples: Record<'shm' | 'socket', number[]> = { shm: [], socket: [] };
  const block = async (impl: 'shm' | 'socket', warm: number, n: number) => {
    let s: { samples: number[] };
    if (impl === 'shm') {
      const ping = `quiver-bench-${process.pid}-${++ctx.seq}`;
      const pong = `quiver-bench-${process.pid}-${++ctx.seq}`;
      const e = ctx.b.request<object>({ op: 'shmEcho', inName: ping, outName: pong });
      await e.ready;
      [s] = await Promise.all([ctx.a.call<{ samples: number[] }>({ op: 'shmPing', outName: ping, inName: pong, warm, n }), e.done]);
    } else {
      const e = ctx.b.request<object>({ op: 'sockEcho', path: join(ctx.dir, `e${++ctx.seq}.sock`) });
      const url = await e.ready;
      [s] = await Promise.all([ctx.a.call<{ samples: number[] }>({ op: 'sockPing', url, warm, n }), e.done]);
    }
    samples[impl].push(...s.samples);
  };
  for (const impl of ['shm', 'socket'] as const) await block(impl, 3000, 0);
  const per = Math.ceil(total / blocks);
  for (let b = 0; b < blocks; b++) for (const impl of b % 2 === 0 ? (['shm', 'socket'] as const) : (['socket', 'shm'] as const)) await block(impl, 200, per);
  return (['shm', 'socket'] as const).map((impl) => {
    const s = Float64Array.from(samples[impl]).sort();
    const at = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
    return { impl, n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[s.length - 1]! };
  });
}

/** {@link latency} in two new peer processes, closed after it (the throughput cells keep ctx's). */
async function latencyInFreshPeers(ctx: Ctx, prof: string[], total: number, blocks: number): Promise<Latency[]> {
  const fresh: Ctx = { ...ctx, a: new Peer('latency peer A', prof), b: new Peer('latency peer B', prof) };
  try {
    return await latency(fresh, total, blocks);
  } finally {
    ctx.seq = fresh.seq;
    await Promise.all([fresh.a.close(), fresh.b.close()]);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[n >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      sizes: { type: 'string', default: '1024,65536,1048576' },
      latency: { type: 'string' },
      'cpu-prof': { type: 'string' },
      touch: { type: 'string', default: 'columns' },
    },
  });
  touchMode = touchModeOf(values.touch);
  const quick = values.quick!;
  const opts = {
    rounds: Number(values.rounds ?? (quick ? 2 : 5)),
    seconds: Number(values.seconds ?? (quick ? 0.12 : 0.3)),
    latencyRoundTrips: Number(values.latency ?? (quick ? 1000 : 4000)),
    sizes: values.sizes!.split(',').map(Number),
  };
  const started = now();
  const prof = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', values['cpu-prof']] : [];
  const ctx: Ctx = { a: new Peer('peer A', prof), b: new Peer('peer B', prof), host: new WorkerHost(), dir: mkdtempSync(join(tmpdir(), 'qshmb-')), seq: 0 };
  try {
    const cells: Cell[] = [];
    for (const rows of opts.sizes) {
      for (const impl of IMPLS) cells.push({ impl, rows, bytes: (impl === 'loan' ? loanData : data)(rows).message.byteLength, warm: 0, count: 0, rates: [] });
    }
    // Progress in runs: one calibration (two runs) and `rounds` runs per cell, then the latency blocks.
    const total = cells.length * (1 + opts.rounds) + (opts.latencyRoundTrips > 0 ? 1 : 0);
    let done = 0;
    // Latency first, in peer processes of its own (see the module documentation).
    if (opts.latencyRoundTrips > 0) {
      log('latency...');
      progress({ done: done++, total, stage: 'latency', cell: 'shm and socket 1-row round trips' });
    }
    const lat = opts.latencyRoundTrips > 0 ? await latencyInFreshPeers(ctx, prof, opts.latencyRoundTrips, quick ? 2 : 4) : [];
    for (const cell of cells) {
      progress({ done: done++, total, stage: 'calibrating', cell: label(cell) });
      const mb = 1 << 20;
      // Twice, the second run sized by the first to about `seconds`: the first is mostly the JIT
      // warming up (its rate can be a fifth of a warm one), and cells sized by it alone would
      // be too short to time anything but noise.
      let rate = await runOnce(ctx, cell, Math.max(20, Math.ceil((4 * mb) / cell.bytes)), Math.max(200, Math.ceil((48 * mb) / cell.bytes)));
      const count = Math.max(200, Math.round(rate * opts.seconds));
      rate = await runOnce(ctx, cell, Math.max(20, Math.round(count / 5)), count);
      cell.count = Math.max(8, Math.round(rate * opts.seconds));
      cell.warm = Math.max(4, Math.round(cell.count / 5));
      log(`calibrated ${label(cell)}: ${formatNumber(rate)} batches/s → ${cell.warm} + ${cell.count} per run`);
    }
    for (let r = 0; r < opts.rounds; r++) {
      log(`round ${r + 1} of ${opts.rounds}...`);
      const order = cells.map((_, i) => cells[(i + r * 5) % cells.length]!);
      if (r % 2 === 1) order.reverse();
      for (const cell of order) {
        progress({ done: done++, total, stage: `round ${r + 1} of ${opts.rounds}`, cell: label(cell) });
        cell.rates.push(await runOnce(ctx, cell, cell.warm, cell.count));
      }
    }

    // ---- report --------------------------------------------------------------------------------
    const cellOf = (impl: Impl, rows: number) => cells.find((c) => c.impl === impl && c.rows === rows)!;
    /** Median over rounds of a/b (both ran in every round). */
    const ratio = (a: Cell, b: Cell) => median(a.rates.map((x, i) => x / b.rates[i]!));
    const rows = cells.map((c) => ({
      impl: c.impl,
      rows: c.rows,
      bytes: c.bytes,
      batchesPerSec: median(c.rates),
      bytesPerSec: median(c.rates) * c.bytes,
      vsSocket: ratio(c, cellOf('socket', c.rows)),
      vsPostMessage: ratio(c, cellOf('postMessage', c.rows)),
      ofMemcpy: ratio(c, cellOf('memcpy', c.rows)),
      rates: c.rates,
    }));
    const get = (impl: Impl, n: number) => rows.find((r) => r.impl === impl && r.rows === n);
    const shmLat = lat.find((l) => l.impl === 'shm');
    const [small, , big] = [opts.sizes[0]!, opts.sizes[1], opts.sizes[opts.sizes.length - 1]!];
    const loanSmall = get('loan', small);
    const loanBig = get('loan', big);
    const targets = [
      { target: `shm ≥ 5x Unix socket, ${formatNumber(big)}-row batches`, value: get('shm', big)!.vsSocket, shown: formatRatio(get('shm', big)!.vsSocket), met: get('shm', big)!.vsSocket >= 5 },
      { target: `shm ≥ 100,000 batches/s, ${formatNumber(small)}-row batches`, value: get('shm', small)!.batchesPerSec, shown: `${formatNumber(get('shm', small)!.batchesPerSec)}/s`, met: get('shm', small)!.batchesPerSec >= 100_000 },
      { target: 'shm p50 round trip ≤ 10 µs (1-row batch)', value: shmLat?.p50 ?? NaN, shown: shmLat ? formatDuration(shmLat.p50) : '-', met: (shmLat?.p50 ?? Infinity) <= 10_000 },
      { target: `worker ≥ 3x postMessage, ${formatNumber(small)}-row batches`, value: get('worker', small)!.vsPostMessage, shown: formatRatio(get('worker', small)!.vsPostMessage), met: get('worker', small)!.vsPostMessage >= 3 },
      {
        target: `loan rate-limited: batches/s at ${formatNumber(big)} rows ≥ 0.5x at ${formatNumber(small)} rows`,
        value: loanBig && loanSmall ? loanBig.batchesPerSec / loanSmall.batchesPerSec : NaN,
        shown: loanBig && loanSmall ? formatRatio(loanBig.batchesPerSec / loanSmall.batchesPerSec) : '-',
        met: !!loanBig && !!loanSmall && loanBig.batchesPerSec / loanSmall.batchesPerSec >= 0.5,
      },
    ];
    const seconds = (now() - started) / 1e9;
    const env: Record<string, string | number> = { ...environment(), seconds: Number(seconds.toFixed(1)) };
    const tp = markdownTable(
      [
        { title: 'rows', value: (r: (typeof rows)[number]) => formatNumber(r.rows), align: 'right' },
        { title: 'path', value: (r) => r.impl },
        { title: 'batch bytes', value: (r) => formatNumber(r.bytes), align: 'right' },
        { title: 'batches/s', value: (r) => formatNumber(r.batchesPerSec), align: 'right' },
        { title: 'MB/s', value: (r) => formatNumber(r.bytesPerSec / 1e6), align: 'right' },
        { title: 'vs socket', value: (r) => formatRatio(r.vsSocket), align: 'right' },
        { title: 'vs postMessage', value: (r) => formatRatio(r.vsPostMessage), align: 'right' },
        { title: 'of memcpy', value: (r) => formatRatio(r.ofMemcpy), align: 'right' },
      ],
      rows,
    );
    const lt = markdownTable(
      [
        { title: 'path', value: (l: Latency) => l.impl },
        { title: 'round trips', value: (l) => formatNumber(l.n), align: 'right' },
        { title: 'p50', value: (l) => formatDuration(l.p50), align: 'right' },
        { title: 'p90', value: (l) => formatDuration(l.p90), align: 'right' },
        { title: 'p99', value: (l) => formatDuration(l.p99), align: 'right' },
        { title: 'max', value: (l) => formatDuration(l.max), align: 'right' },
      ],
      lat,
    );
    const tg = markdownTable(
      [
        { title: 'target', value: (t: (typeof targets)[number]) => t.target },
        { title: 'measured', value: (t) => t.shown, align: 'right' },
        { title: 'met', value: (t) => (t.met ? 'yes' : 'NOT met') },
      ],
      targets,
    );
    const missed = targets.filter((t) => !t.met).length;
    process.stdout.write(
      `## shm / worker transport benchmark\n\n` +
        `Node ${env.node}, ${env.cpu}, ${env.cpus} CPUs, load ${env.loadavg}, ${env.seconds} s; ${opts.rounds} rounds of ~${opts.seconds} s per cell, medians; ratios are medians of per-round ratios (same data, batches/s). ` +
        `loan: header-only writes, consumer reads one value per column (rate, not bytes).\n\n${tp}\n\n` +
        `Round trip of a 1-row batch (echo side decodes, touches, re-publishes):\n\n${lt}\n\n` +
        `Targets: ${missed === 0 ? 'all met' : `${missed} of ${targets.length} NOT met`}.\n\n${tg}\n`,
    );
    if (values.json) {
      writeJson(values.json, { benchmark: 'shm', environment: env, options: opts, throughput: rows, latency: lat, targets });
      log(`wrote ${values.json}`);
    }
  } finally {
    await Promise.all([ctx.a.close(), ctx.b.close(), ctx.host.worker.terminate()]);
    rmSync(ctx.dir, { recursive: true, force: true });
  }
}

await main();
