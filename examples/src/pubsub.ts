/**
 * Publish/subscribe between local services: one publisher process, several subscriber processes,
 * two topics (sensor readings on `default`, events on `events`), once over a Unix socket (core's
 * Publisher and `subscribe()`) and once over shared memory (one `shm://` ring per topic,
 * `ShmPublisher` and `ShmSubscriber`).
 *
 * Subscribers, each its own process: a Node subscriber to each topic that keeps up (policy
 * `block`: the publisher waits for it, so it gets everything), a deliberately slow Node subscriber
 * to the readings (one batch for every 8 published) with policy `drop-oldest`, and over the
 * socket a plain pyarrow script (examples/python/subscribe.py) that sends nothing and so gets the
 * `default` topic once the publisher's hello timeout has passed.
 *
 * Checks its own output and exits non-zero if any check fails: every subscriber's batches are
 * intact and the sum of its column is the sum over the batches it got; the subscribers that keep
 * up got every batch; the slow one's received + dropped equals what was published, and the drops
 * the publisher counted for it equal the gaps in the `seq` column it received.
 *
 *   node examples/dist/src/pubsub.js [unix|shm ...] [--python PATH]
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as A from 'apache-arrow';
import { Publisher, TransportRegistry } from '@quiver/core';
import { socketTransports } from '@quiver/transport-socket';
import { ShmPublisher } from '@quiver/transport-shm';
import { events, expectedSum, readings, type TopicSpec } from './data.js';
import { Checks, defaultPython, isMain, runExample, type ExampleOptions, type Figure } from './example.js';
import type { SubscriberResult, SubscriberSpec } from './pubsub-subscriber.js';

export type PubSubTransport = 'unix' | 'shm';

export interface PubSubOptions extends ExampleOptions {
  transport: PubSubTransport;
  /** Python with pyarrow, for the plain pyarrow subscriber (unix only). @default defaultPython() */
  python?: string;
}

/** Batches of readings published; events go out with every third. */
const BATCHES = 300;
/** The slow subscriber reads one batch per this many published. */
const PACE = 8;
/** The slow subscriber's queue at a socket publisher, in messages. */
const SLOW_QUEUE = 4;
/** Each shm ring's data bytes: about a dozen readings batches, so the slow subscriber falls a ring behind. */
const RING_BYTES = 512 * 1024;
const TOPICS = [readings, events];

/** A subscriber process, and the messages it sends. */
class SubscriberProcess {
  readonly exited: Promise<number | null>;
  /** The first error the process object reported. */
  error: Error | undefined;
  readonly #messages: { type: string }[] = [];
  readonly #waiters: Array<() => void> = [];
  #exitCode: number | null | undefined;

  constructor(
    readonly proc: ChildProcess,
    readonly topic: TopicSpec,
    readonly kind: 'node' | 'node, slow' | 'pyarrow',
  ) {
    proc.on('message', (m: { type: string }) => {
      this.#messages.push(m);
      this.#wake();
    });
    this.exited = new Promise((resolve) => {
      const exit = (code: number | null) => {
        this.#exitCode ??= code;
        this.#wake();
        resolve(this.#exitCode);
      };
      // 'close', not 'exit': by then its output and messages have all arrived.
      proc.on('close', exit);
      // It could not start (no such interpreter), or a message to it found it gone.
      proc.on('error', (e) => {
        this.error ??= e;
        if (proc.pid === undefined) exit(null);
      });
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The next message of `type`; rejects if the process exits first. */
  async wait<T extends { type: string }>(type: T['type']): Promise<T> {
    for (;;) {
      const i = this.#messages.findIndex((m) => m.type === type);
      if (i >= 0) return this.#messages.splice(i, 1)[0] as T;
      if (this.#exitCode !== undefined) throw new Error(`${this.label} ended (${this.error?.message ?? `exit code ${this.#exitCode}`}) before sending '${type}'`);
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  get label(): string {
    return `${this.kind} subscriber ${this.proc.pid ?? '(not started)'} to '${this.topic.name}'`;
  }
}

/** Starts the Node subscriber process. */
function forkNode(url: string, topic: TopicSpec, slow: boolean): SubscriberProcess {
  const spec: SubscriberSpec = { url, topic: topic.name, rows: topic.rows, sumColumn: topic.sumColumn, slow, queueLength: SLOW_QUEUE };
  const script = fileURLToPath(new URL('./pubsub-subscriber.js', import.meta.url));
  return new SubscriberProcess(fork(script, [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), topic, slow ? 'node, slow' : 'node');
}

/** Starts the plain pyarrow subscriber; its one JSON line becomes a 'result' message. */
function spawnPython(python: string, socketPath: string): SubscriberProcess {
  const script = fileURLToPath(new URL('../../python/subscribe.py', import.meta.url));
  const proc = spawn(python, [script, socketPath, String(readings.rows)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const sub = new SubscriberProcess(proc, readings, 'pyarrow');
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stdout!.on('end', () => {
    if (!out.trim()) return; // it failed: its exit code says so
    try {
      proc.emit('message', { ...JSON.parse(out), type: 'result', pid: proc.pid, topic: readings.name, policy: 'block' });
    } catch {
      sub.error ??= new Error(`output that is not one JSON line: ${out.slice(0, 200)}`);
    }
  });
  return sub;
}

/** The publisher's own view of one subscriber. */
interface PublisherView {
  pid?: number;
  topic: string;
  policy: string;
  /** Record batches sent to it (socket), or records it read (shm: schema and dictionaries too). */
  sent: number;
  /** What `sent` counts. */
  unit: 'batches sent' | 'records read';
  drops: number;
}

/** The publishing side over one transport. */
interface Bus {
  readonly name: string;
  url(topic: TopicSpec): string;
  /** Resolves once every subscriber receives its topic. */
  joined(subscribers: SubscriberProcess[]): Promise<void>;
  publish(topic: TopicSpec, batch: A.RecordBatch): Promise<void>;
  /** Ends every stream (end-of-stream marker); subscribers read what is left. */
  end(): Promise<void>;
  views(): PublisherView[];
  close(): Promise<void>;
}

async function socketBus(dir: string): Promise<Bus> {
  const registry = new TransportRegistry(socketTransports());
  // A plain Arrow reader says nothing: after helloTimeoutMs (200 ms) it is taken for a subscriber of 'default'.
  const pub = await Publisher.listen(registry, `unix://${join(dir, 'pub.sock')}`);
  const topics = new Map(TOPICS.map((t) => [t.name, pub.topic(t.name, t.batch(0).schema)]));
  return {
    name: 'unix://',
    url: () => pub.url,
    joined: async (subs) => {
      await Promise.all(TOPICS.map((t) => topics.get(t.name)!.waitForSubscribers(subs.filter((s) => s.topic === t).length)));
    },
    publish: (t, b) => topics.get(t.name)!.publish(b),
    end: () => pub.close(),
    views: () => pub.stats().map((s) => ({ ...(s.peer.pid ? { pid: s.peer.pid } : {}), topic: s.topic, policy: s.policy, sent: s.batches, unit: 'batches sent', drops: s.drops })),
    close: () => pub.close(),
  };
}

async function shmBus(): Promise<Bus> {
  // A ring carries one stream: one segment per topic.
  const pubs = new Map<string, ShmPublisher>();
  try {
    for (const t of TOPICS) pubs.set(t.name, await ShmPublisher.create(`shm://quiver-pubsub-${process.pid}-${t.name}`, { size: RING_BYTES }));
  } catch (e) {
    await Promise.all([...pubs.values()].map((p) => p.close()));
    throw e;
  }
  return {
    name: 'shm://',
    url: (t) => pubs.get(t.name)!.url,
    // A ShmSubscriber is in the ring once open() resolved, which is when it says 'joined'.
    joined: async (subs) => {
      await Promise.all(subs.map((s) => s.wait('joined')));
    },
    publish: (t, b) => pubs.get(t.name)!.publish(b),
    end: async () => {
      await Promise.all([...pubs.values()].map((p) => p.end()));
    },
    views: () => [...pubs].flatMap(([topic, p]) => p.subscribers().map((s) => ({ pid: s.pid, topic, policy: s.policy, sent: s.delivered, unit: 'records read', drops: s.drops }))),
    close: async () => {
      await Promise.all([...pubs.values()].map((p) => p.close()));
    },
  };
}

/** Batch numbers in 0..published-1 missing from `indices` (ascending): the gaps in `seq`. */
function gaps(indices: readonly number[], published: number): number {
  let missing = 0;
  let expected = 0;
  for (const i of indices) {
    missing += i - expected;
    expected = i + 1;
  }
  return missing + published - expected;
}

/**
 * The publisher's view of `r`: by pid where the transport knows its peers' pids (shm; unix with
 * the native addon), else by topic and policy when that is unambiguous (the slow subscriber).
 */
function viewOf(views: PublisherView[], r: SubscriberResult): PublisherView | undefined {
  const byPid = views.find((v) => v.pid === r.pid);
  if (byPid || views.some((v) => v.pid !== undefined)) return byPid;
  const alike = views.filter((v) => v.topic === r.topic && v.policy === r.policy);
  return alike.length === 1 ? alike[0] : undefined;
}

/** Runs the example over one transport; returns its figure, or throws if a check failed. */
export async function pubsub(opts: PubSubOptions): Promise<Figure[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const checks = new Checks(log);
  const dir = await mkdtemp(join(tmpdir(), 'quiver-pubsub-'));
  const subs: SubscriberProcess[] = [];
  let bus: Bus | undefined;
  try {
    bus = opts.transport === 'unix' ? await socketBus(dir) : await shmBus();
    const b = bus;
    // Topics exist before anyone subscribes: a subscriber to an unknown topic is turned away.
    subs.push(forkNode(b.url(readings), readings, false), forkNode(b.url(events), events, false));
    const slow = forkNode(b.url(readings), readings, true);
    subs.push(slow);
    if (opts.transport === 'unix') subs.push(spawnPython(opts.python ?? defaultPython(), join(dir, 'pub.sock')));
    // A subscriber that ends early fails the run instead of leaving the publisher waiting for it.
    const endedEarly = new Promise<never>((_, reject) =>
      subs.forEach((s) => void s.exited.then(() => reject(new Error(`${s.label} ended early (${s.error?.message ?? `exit code ${s.proc.exitCode}`})`)))),
    );
    endedEarly.catch(() => {}); // only raced while waiting for joins
    await Promise.race([b.joined(subs), endedEarly]);
    log(`${subs.length} subscribers joined over ${b.name}: ${subs.map((s) => s.label).join(', ')}`);
    const results = subs.map((s) => s.wait<SubscriberResult>('result'));
    for (const r of results) r.catch(() => {}); // awaited together below, failures included

    // The data is ready before the clock starts: the figure is for moving it, not making it.
    const data = new Map(TOPICS.map((t) => [t, Array.from({ length: t === readings ? BATCHES : BATCHES / 3 }, (_, i) => t.batch(i))]));
    const published = new Map(TOPICS.map((t) => [t, 0]));
    const publish = async (t: TopicSpec) => {
      const i = published.get(t)!;
      await b.publish(t, data.get(t)![i]!);
      published.set(t, i + 1);
    };

    const t0 = performance.now();
    // Batch 0 of each topic first; the slow subscriber has the schema once it read its batch 0.
    for (const t of TOPICS) await publish(t);
    await slow.wait('first');
    for (let i = 1; i < BATCHES; i++) {
      await publish(readings);
      if (i % 3 === 0) await publish(events);
      if (i % PACE === 0) slow.proc.send('tick');
    }
    slow.proc.send('finish');
    await b.end();
    const got = await Promise.all(results);
    const ms = performance.now() - t0;
    const views = b.views();
    for (const s of subs) if (s.kind !== 'pyarrow') s.proc.send('exit');
    const codes = await Promise.all(subs.map((s) => s.exited));
    checks.that('every subscriber process exited cleanly', codes.every((c) => c === 0), `exit codes ${codes.join(', ')}`);

    let slowNote = '';
    for (const [k, s] of subs.entries()) {
      const r = got[k]!;
      const n = published.get(s.topic)!;
      const view = viewOf(views, r);
      const who = s.label;
      log(`${who}: ${r.indices.length} of ${n} batches, ${r.rows} rows, sum ${r.sum}` + (view ? `; publisher: ${view.sent} ${view.unit}, ${view.drops} dropped (${view.policy})` : ''));
      checks.that(`${who}: every batch intact`, r.intact);
      checks.that(`${who}: batches in order`, r.indices.every((x, j) => j === 0 || x > r.indices[j - 1]!));
      checks.equal(`${who}: sum of ${s.topic.sumColumn}`, r.sum, expectedSum(s.topic, r.indices));
      if (s.kind !== 'node, slow') {
        checks.equal(`${who}: batches received`, r.indices.length, n);
        // Without peer pids (unix without the native addon) two subscribers of a topic look alike.
        if (view) checks.equal(`${who}: drops counted by the publisher`, view.drops, 0);
      } else {
        checks.that(`${who}: the publisher's statistics have it`, view !== undefined);
        checks.equal(`${who}: received + dropped`, r.indices.length + view!.drops, n);
        checks.equal(`${who}: drops counted by the publisher = gaps in seq`, view!.drops, gaps(r.indices, n));
        checks.that(`${who}: it fell behind, and drop-oldest dropped batches`, view!.drops > 0);
        if (r.drops !== undefined) checks.equal(`${who}: its own drop count`, r.drops, view!.drops);
        slowNote = `slow subscriber got ${r.indices.length} of ${n}, ${view!.drops} dropped`;
      }
      if (view && b.name === 'unix://') checks.equal(`${who}: batches the publisher sent it`, view.sent, r.indices.length);
    }
    const batches = got.reduce((a, r) => a + r.indices.length, 0);
    const bytes = got.reduce((a, r) => a + r.bytes, 0);
    return [
      {
        scenario: 'pub/sub',
        transport: b.name,
        what: `2 topics to ${subs.length} processes`,
        batches,
        bytes,
        ms,
        checks: checks.take(),
        note: slowNote,
      },
    ];
  } finally {
    for (const s of subs) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill();
    await Promise.all(subs.map((s) => s.exited));
    await bus?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const p = args.indexOf('--python');
  const python = p >= 0 ? args.splice(p, 2)[1] : undefined;
  const transports = (args.length ? args : ['unix', 'shm']) as PubSubTransport[];
  await runExample('pubsub', async (o) => {
    const figures: Figure[] = [];
    for (const transport of transports) figures.push(...(await pubsub({ ...o, transport, ...(python ? { python } : {}) })));
    return figures;
  });
}
