/**
 * The soak: one publisher, sixteen subscribers, one transport, for a while. Every batch carries
 * its sequence number; each subscriber keeps books of what it saw (lost, duplicated, reordered,
 * corrupt), the publisher keeps the drop counts, and the resident memory of every process is
 * sampled. `runSoak` returns the figures (the CI test asserts on them); run as a script it prints
 * them:
 *
 *   node packages/transport-shm/dist/soak/soak.js --seconds 60 --transport unix [--policy mixed]
 *        [--subscribers 16] [--python 6] [--rows 256] [--json]
 *
 * Subscribers: unix:/tcp: Node processes (core's subscribe) and plain pyarrow processes
 * (soak_sub.py: a socket and pa.ipc.open_stream); shm: Node processes (ShmSubscriber; pyarrow
 * cannot read the ring); worker: worker threads of the publisher's process.
 *
 * Policies: `block` (every subscriber), `drop-oldest` (every subscriber; half of them slowed so
 * that they fall behind), `mixed` (the default: alternately a block subscriber at full speed and
 * a slowed drop-oldest one; pyarrow subscribers block, having no hello to ask otherwise).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Publisher, RecordBatchEncoder, TransportRegistry, type SubscriberStats } from '@quiver/core';
import { socketTransports } from '@quiver/transport-socket';
import { python, tmpDir, within } from '@quiver/testkit';
import { createWorkerChannel, ShmPublisher } from '../src/index.js';
import { lostOf, rssOf, soakBatch, type SeqReport } from './common.js';

export type SoakTransport = 'unix' | 'tcp' | 'shm' | 'worker';
export type SoakPolicy = 'block' | 'drop-oldest' | 'mixed';

export interface SoakOptions {
  transport: SoakTransport;
  /** How long the publisher publishes. */
  seconds: number;
  /** @default 'mixed' */
  policy?: SoakPolicy;
  /** @default 16 */
  subscribers?: number;
  /** Of the subscribers, plain pyarrow processes (unix and tcp only). @default 6 on sockets */
  python?: number;
  /** Rows per batch. @default 256 */
  rows?: number;
  /** What a slowed subscriber sleeps after each batch, in ms. @default 2 */
  slowMs?: number;
  /** RSS sampling interval, in ms. @default 100 */
  sampleMs?: number;
  /**
   * Samples of the first this many seconds of publishing are left out of the RSS figures (code
   * being compiled, heaps and buffers reaching their working size). @default min(1, seconds / 4)
   */
  warmupSeconds?: number;
  /** Ring size for shm and worker. @default 8 MiB */
  ringBytes?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface Rss {
  /** Median of the first quarter of the samples, and of the last quarter, in bytes. */
  start: number;
  end: number;
  growth: number;
  samples: number;
}

export interface SubscriberFigures extends SeqReport {
  name: string;
  kind: 'node' | 'python' | 'worker';
  policy: 'block' | 'drop-oldest';
  slow: boolean;
  /** Sequence numbers of the published range it never got. */
  lost: number;
  /** Drops the transport counted for it (socket: the publisher's; ring: the subscriber's). */
  drops: number;
  /** Processes only (threads share the publisher's). */
  rss?: Rss;
  /** Threads only: the thread's own V8 heap in use, sampled as the RSS is. */
  heap?: Rss;
}

export interface SoakReport {
  transport: SoakTransport;
  policy: SoakPolicy;
  /** Time spent publishing, in seconds. */
  seconds: number;
  batches: number;
  /** Bytes of one batch message (all are the same size). */
  messageBytes: number;
  /** Bytes published (batches × messageBytes; each subscriber is sent them). */
  bytes: number;
  publisher: { pid: number; rss: Rss };
  subscribers: SubscriberFigures[];
  /**
   * Whether drop counts equal the gaps: per subscriber on shm and worker; on sockets (where the
   * publisher counts drops per connection, and a subscriber process does not know which
   * connection it is there) as equal multisets over the subscribers, with every subscriber's
   * received + lost = batches and every connection's sent + dropped = batches.
   */
  dropsEqualGaps: boolean;
}

interface Sub {
  name: string;
  kind: SubscriberFigures['kind'];
  policy: SubscriberFigures['policy'];
  slow: boolean;
  proc?: ChildProcess;
  worker?: Worker;
  /** The next message or line, in order. */
  next(): Promise<unknown>;
  exited: Promise<unknown>;
}

const subscriberScript = fileURLToPath(new URL('./subscriber.js', import.meta.url));
const workerScript = new URL('./worker.js', import.meta.url);
const pythonScript = fileURLToPath(new URL('../../soak/soak_sub.py', import.meta.url));

function lineReader(proc: ChildProcess): () => Promise<unknown> {
  const it = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return async () => {
    const r = await it.next();
    if (r.done) throw new Error('the subscriber ended without reporting');
    return r.value.startsWith('{') ? JSON.parse(r.value) : r.value;
  };
}

function processSub(name: string, kind: 'node' | 'python', policy: Sub['policy'], slow: boolean, args: string[], slowMs: number): Sub {
  const proc =
    kind === 'node'
      ? spawn(process.execPath, [subscriberScript, ...args, policy, String(slow ? slowMs : 0)], { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn(python(), [pythonScript, ...args, String(slow ? slowMs : 0)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { name, kind, policy, slow, proc, next: lineReader(proc), exited: once(proc, 'exit') };
}

function threadSub(name: string, sab: SharedArrayBuffer, policy: Sub['policy'], slow: boolean, slowMs: number, sampleMs: number): Sub {
  const worker = new Worker(workerScript, { workerData: { sab, policy, slowMs: slow ? slowMs : 0, sampleMs } });
  const queue: unknown[] = [];
  const waiting: Array<(m: unknown) => void> = [];
  worker.on('message', (m: unknown) => (waiting.length ? waiting.shift()!(m) : queue.push(m)));
  return {
    name, kind: 'worker', policy, slow, worker,
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r))),
    exited: once(worker, 'exit'),
  };
}

/** Who is what: policies and slowness by the soak's policy, pyarrow subscribers last. */
function plan(o: Required<Pick<SoakOptions, 'subscribers' | 'policy'>> & { python: number }): Array<{ kind: 'node' | 'python'; policy: Sub['policy']; slow: boolean }> {
  return Array.from({ length: o.subscribers }, (_, i) => {
    const kind = i >= o.subscribers - o.python ? ('python' as const) : ('node' as const);
    if (o.policy === 'block') return { kind, policy: 'block' as const, slow: false };
    if (o.policy === 'drop-oldest') return { kind, policy: 'drop-oldest' as const, slow: i % 2 === 1 };
    // mixed: pyarrow has no hello, so it gets the publisher's default (block)
    return kind === 'python' || i % 2 === 0 ? { kind, policy: 'block' as const, slow: false } : { kind, policy: 'drop-oldest' as const, slow: true };
  });
}

function rssFigures(samples: number[]): Rss {
  const q = Math.max(1, Math.floor(samples.length / 4));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const start = median(samples.slice(0, q));
  const end = median(samples.slice(-q));
  return { start, end, growth: end - start, samples: samples.length };
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const transport = opts.transport;
  const policy = opts.policy ?? 'mixed';
  const n = opts.subscribers ?? 16;
  const sockets = transport === 'unix' || transport === 'tcp';
  const py = sockets ? Math.min(n, opts.python ?? 6) : 0;
  const rows = opts.rows ?? 256;
  const slowMs = opts.slowMs ?? 2;
  const log = opts.log ?? (() => {});
  const roles = plan({ subscribers: n, policy, python: py });
  const message = new RecordBatchEncoder(soakBatch(0, rows).schema, 'stream');
  message.start();
  const messageBytes = message.write(soakBatch(0, rows)).reduce((s, m) => s + m.byteLength, 0);
  const subs: Sub[] = [];
  const cleanup: Array<() => unknown> = [];
  let publish: (seq: number) => Promise<void>;
  let finish: () => Promise<void>;
  let socketStats: () => SubscriberStats[] = () => [];

  try {
    if (sockets) {
      const url = transport === 'unix' ? `unix://${tmpDir()}/soak.sock` : 'tcp://127.0.0.1:0';
      const pub = await Publisher.listen(new TransportRegistry(socketTransports()), url, {
        policy: policy === 'drop-oldest' ? 'drop-oldest' : 'block',
        helloTimeoutMs: 100,
      });
      cleanup.push(() => pub.close());
      const topic = pub.topic('default', soakBatch(0, rows).schema);
      roles.forEach((r, i) => subs.push(processSub(`${r.kind}-${i + 1}`, r.kind, r.policy, r.slow, [pub.url], slowMs)));
      await within(topic.waitForSubscribers(n), `${n} subscribers joining`, 60_000);
      publish = (seq) => topic.publish(soakBatch(seq, rows));
      finish = () => pub.close();
      socketStats = () => pub.stats();
    } else {
      const enc = new RecordBatchEncoder(soakBatch(0, rows).schema, 'stream');
      let pub: ShmPublisher;
      let sab: SharedArrayBuffer | undefined;
      if (transport === 'shm') {
        pub = await ShmPublisher.create(`shm://quiver-soak-${process.pid}-${Date.now()}`, { size: opts.ringBytes ?? 8 << 20, maxSubscribers: Math.max(64, n) });
      } else {
        const channel = createWorkerChannel({ size: opts.ringBytes ?? 8 << 20, maxSubscribers: Math.max(64, n) });
        sab = channel.sab;
        pub = await ShmPublisher.overChannel(channel);
      }
      cleanup.push(() => pub.close());
      // The schema goes first, so every subscriber finds it in the preamble: a drop is then
      // always a batch, and drops equal gaps exactly.
      await pub.send(enc.start());
      roles.forEach((r, i) =>
        subs.push(sab ? threadSub(`worker-${i + 1}`, sab, r.policy, r.slow, slowMs, opts.sampleMs ?? 100) : processSub(`node-${i + 1}`, 'node', r.policy, r.slow, [pub.url], slowMs)),
      );
      await within(Promise.all(subs.map(async (s) => ((await s.next()) === 'joined' ? undefined : Promise.reject(new Error(`${s.name} did not join`))))), `${n} subscribers joining`, 60_000);
      publish = (seq) => pub.send(enc.write(soakBatch(seq, rows)));
      finish = async () => {
        await pub.send(enc.finish());
        await pub.close();
      };
    }
    for (const s of subs) cleanup.push(() => (s.proc ? s.proc.kill('SIGKILL') : s.worker!.terminate()));
    log(`soak ${transport} ${policy}: ${n} subscribers joined (${py} pyarrow); publishing for ${opts.seconds} s`);

    // Resident memory, sampled while publishing: this process and every subscriber process.
    const rss = new Map<number, number[]>([[process.pid, []]]);
    for (const s of subs) if (s.proc) rss.set(s.proc.pid!, []);
    const warmupUntil = performance.now() + 1000 * (opts.warmupSeconds ?? Math.min(1, opts.seconds / 4));
    const window = { from: Date.now() + (warmupUntil - performance.now()), to: Infinity };
    const sample = () => {
      if (performance.now() < warmupUntil) return;
      for (const [pid, xs] of rss) xs.push(pid === process.pid ? process.memoryUsage().rss : rssOf(pid));
    };
    const sampler = setInterval(sample, opts.sampleMs ?? 100);
    cleanup.push(() => clearInterval(sampler));

    const started = performance.now();
    const until = started + opts.seconds * 1000;
    let batches = 0;
    let lastLog = started;
    while (performance.now() < until) {
      await publish(batches++);
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        const subRss = subs.filter((x) => x.proc).map((x) => rssOf(x.proc!.pid!));
        const range = subRss.length ? `, subscribers ${mib(Math.min(...subRss))}-${mib(Math.max(...subRss))} MiB` : '';
        log(`  ${batches} batches after ${((lastLog - started) / 1000).toFixed(0)} s; RSS publisher ${mib(process.memoryUsage().rss)} MiB${range}`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    window.to = Date.now();
    sample();
    clearInterval(sampler);
    await within(finish(), 'the end of publishing', 120_000);
    const reports = await within(Promise.all(subs.map(async (s) => (await s.next()) as SeqReport & { heap?: Array<[number, number]> })), "the subscribers' reports", 120_000);
    await within(Promise.all(subs.map((s) => s.exited)), "the subscribers' exits", 30_000);

    const figures: SubscriberFigures[] = subs.map((s, i) => {
      const { heap, ...r } = reports[i]!;
      const f: SubscriberFigures = { ...r, name: s.name, kind: s.kind, policy: s.policy, slow: s.slow, lost: lostOf(r, batches), drops: r.drops ?? -1 };
      if (s.proc) f.rss = rssFigures(rss.get(s.proc.pid!)!);
      if (heap) f.heap = rssFigures(heap.filter(([at]) => at >= window.from && at <= window.to).map(([, bytes]) => bytes));
      return f;
    });
    let dropsEqualGaps: boolean;
    if (sockets) {
      const stats = socketStats();
      const counted = stats.map((x) => x.drops).sort((a, b) => a - b);
      const gaps = figures.map((f) => f.lost).sort((a, b) => a - b);
      dropsEqualGaps =
        stats.length === n &&
        JSON.stringify(counted) === JSON.stringify(gaps) &&
        stats.every((x) => x.batches + x.drops === batches) &&
        figures.every((f) => f.received - f.duplicated + f.lost === batches);
      // Each subscriber's drop count is the one of the connection whose sent count it received.
      const bySent = new Map<number, number[]>();
      for (const x of stats) bySent.set(x.batches, [...(bySent.get(x.batches) ?? []), x.drops]);
      for (const f of figures) f.drops = bySent.get(f.received)?.shift() ?? -1;
    } else {
      dropsEqualGaps = figures.every((f) => f.drops === f.lost);
    }
    return {
      transport, policy, seconds, batches, messageBytes, bytes: batches * messageBytes,
      publisher: { pid: process.pid, rss: rssFigures(rss.get(process.pid)!) },
      subscribers: figures,
      dropsEqualGaps,
    };
  } finally {
    for (const c of cleanup.reverse()) {
      try {
        await c();
      } catch {
        // best effort: the run failed already, or this was closed
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// The script
// ------------------------------------------------------------------------------------------------

const MiB = 1024 * 1024;
const mib = (b: number) => (b / MiB).toFixed(1);

/** The report as a table. */
export function formatReport(r: SoakReport): string {
  const out: string[] = [];
  out.push(
    `soak ${r.transport}, policy ${r.policy}: ${r.batches} batches in ${r.seconds.toFixed(1)} s (${Math.round(r.batches / r.seconds)}/s), ` +
      `${r.messageBytes} bytes each, ${mib(r.bytes)} MiB published to each of ${r.subscribers.length} subscribers`,
  );
  const pr = r.publisher.rss;
  out.push(`publisher pid ${r.publisher.pid}: RSS ${mib(pr.start)} -> ${mib(pr.end)} MiB (${pr.growth >= 0 ? '+' : ''}${mib(pr.growth)}, ${pr.samples} samples)`);
  out.push('subscriber   policy       slow  received      lost   drops  dup  reord  corrupt  RSS (threads: V8 heap) start -> end (MiB)');
  for (const s of r.subscribers) {
    out.push(
      [
        s.name.padEnd(12),
        s.policy.padEnd(12),
        (s.slow ? 'yes' : 'no').padEnd(5),
        String(s.received).padStart(8),
        String(s.lost).padStart(9),
        String(s.drops).padStart(7),
        String(s.duplicated).padStart(4),
        String(s.reordered).padStart(6),
        String(s.corrupt).padStart(8),
        s.rss ? `  ${mib(s.rss.start)} -> ${mib(s.rss.end)}` : s.heap ? `  thread heap ${mib(s.heap.start)} -> ${mib(s.heap.end)}` : '',
      ].join(' '),
    );
  }
  out.push(`drops equal gaps: ${r.dropsEqualGaps ? 'yes' : 'NO'}`);
  return out.join('\n');
}

function parseArgs(argv: string[]): SoakOptions & { json: boolean } {
  const o: Record<string, string> = {};
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') json = true;
    else if (a.startsWith('--') && i + 1 < argv.length) o[a.slice(2)] = argv[++i]!;
    else throw new Error(`soak: unexpected argument ${a}`);
  }
  const transport = (o['transport'] ?? 'unix') as SoakTransport;
  if (!['unix', 'tcp', 'shm', 'worker'].includes(transport)) throw new Error('soak: --transport unix|tcp|shm|worker');
  const policy = (o['policy'] ?? 'mixed') as SoakPolicy;
  if (!['block', 'drop-oldest', 'mixed'].includes(policy)) throw new Error('soak: --policy block|drop-oldest|mixed');
  const num = (k: string) => (o[k] === undefined ? undefined : Number(o[k]));
  const opts: SoakOptions & { json: boolean } = { transport, policy, seconds: num('seconds') ?? 10, json };
  for (const k of ['subscribers', 'python', 'rows', 'slowMs', 'sampleMs', 'warmupSeconds', 'ringBytes'] as const) if (num(k) !== undefined) opts[k] = num(k);
  return opts;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const opts = parseArgs(process.argv.slice(2));
  const report = await runSoak({ ...opts, sampleMs: opts.sampleMs ?? Math.max(100, opts.seconds * 10), log: (l) => console.error(l) });
  console.log(opts.json ? JSON.stringify(report, null, 2) : formatReport(report));
  const bad = report.subscribers.some((s) => s.duplicated || s.reordered || s.corrupt || (s.policy === 'block' && s.lost));
  process.exitCode = bad || !report.dropsEqualGaps ? 1 : 0;
}
