// Publisher and Topic over an in-memory transport whose sends the test settles by hand, so the
// order of events that a real socket leaves to the kernel (a send failing while a publish waits
// for room, say) is fixed here and cannot race.
import test from 'ava';
import * as A from 'apache-arrow';
import {
  ErrorCode, Publisher, TransportRegistry,
  type CloseReason, type Connection, type ConnectionStatus, type Listener, type Transport,
} from '../src/index.js';

/** A send the test settles: it stays pending until `accept()` or `fail()`. */
interface PendingSend {
  bytes: number;
  accept(): void;
  fail(e: Error): void;
}

/** A connection whose peer never says anything and whose every send waits for the test. */
class ManualConnection implements Connection {
  readonly url = 'mem://test';
  readonly peer = { address: 'mem' };
  readonly sends: PendingSend[] = [];
  #closed = false;
  #onClose!: (r: CloseReason) => void;
  readonly closed = new Promise<CloseReason>((r) => (this.#onClose = r));
  #stopReading!: () => void;
  readonly #readingStopped = new Promise<void>((r) => (this.#stopReading = r));

  send(buffers: readonly Uint8Array[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    return new Promise((accept, fail) => this.sends.push({ bytes: buffers.reduce((n, b) => n + b.byteLength, 0), accept, fail }));
  }
  async end(): Promise<void> {}
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopReading();
    this.#onClose({ kind: 'local' });
  }
  status(): ConnectionStatus {
    return this.#closed ? { state: 'closed', reason: { kind: 'local' } } : { state: 'open' };
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    await this.#readingStopped; // no hello: a plain Arrow subscriber, on the default topic
  }
}

/** A `mem:` transport: `accept()` hands the publisher a new ManualConnection. */
function memTransport() {
  const waiting: Array<(c: IteratorResult<Connection>) => void> = [];
  const backlog: Connection[] = [];
  let closeListener!: () => void;
  const listener: Listener = {
    url: 'mem://test',
    closed: new Promise<void>((r) => (closeListener = r)),
    async close() {
      for (const w of waiting.splice(0)) w({ done: true, value: undefined });
      closeListener();
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
    [Symbol.asyncIterator]: () => ({
      next: () => (backlog.length ? Promise.resolve({ done: false, value: backlog.shift()! }) : new Promise((r) => waiting.push(r))),
    }),
  };
  const transport: Transport = {
    schemes: ['mem'],
    availability: () => ({ available: true }),
    connect: () => Promise.reject(new Error('not here')),
    listen: async () => listener,
  };
  const accept = (): ManualConnection => {
    const c = new ManualConnection();
    const w = waiting.shift();
    if (w) w({ done: false, value: c });
    else backlog.push(c);
    return c;
  };
  return { registry: new TransportRegistry([transport]), accept };
}

const schema = new A.Schema([new A.Field('x', new A.Int32(), false)]);
const batch = (x: number) => new A.RecordBatch({ x: A.makeData({ type: new A.Int32(), data: Int32Array.of(x) }) });

/** Lets every queued promise continuation and timer of this turn run. */
const turn = () => new Promise((r) => setImmediate(r));

async function settled(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  void p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  for (let i = 0; i < 5; i++) await turn();
  return state;
}

/** Runs `p` to its end, accepting every send of `conn` as it comes (what a reading peer does). */
async function acceptingSends(conn: ManualConnection, p: Promise<void>): Promise<void> {
  let done = false;
  void p.then(() => (done = true));
  while (!done) {
    for (const s of conn.sends.splice(0)) s.accept();
    await turn();
  }
  await p;
}

async function activeSubscriber(queueLength: number) {
  const mem = memTransport();
  const pub = await Publisher.listen(mem.registry, 'mem://test', { queueLength, helloTimeoutMs: 1 });
  const topic = pub.topic('default', schema);
  const conn = mem.accept();
  await topic.waitForSubscribers(1);
  // The schema went out first; accept it.
  while (conn.sends.length === 0) await turn();
  conn.sends.shift()!.accept();
  return { pub, topic, conn };
}

test('block: a publish waiting for room resolves when the subscriber fails meanwhile, and publishing goes on', async (t) => {
  const { pub, topic, conn } = await activeSubscriber(1);
  t.teardown(() => pub.close());
  await topic.publish(batch(1)); // taken by the pump, whose send now waits
  while (conn.sends.length === 0) await turn();
  await topic.publish(batch(2)); // queued: the queue is full
  const waiting = topic.publish(batch(3));
  t.is(await settled(waiting), 'pending', 'publish waits for room under block');
  t.is(pub.stats()[0]!.queueDepth, 1);
  // The send fails with nothing taken off the queue: the subscriber is closed while the publish
  // waits. The batch is for nobody now; the publish must not fail the publisher's loop.
  conn.sends.shift()!.fail(new Error('reset by peer'));
  t.is(await settled(waiting), 'resolved');
  await t.notThrowsAsync(topic.publish(batch(4)));
  const [s] = pub.stats();
  t.is(s!.state, 'closed');
  t.is(s!.closeReason, 'reset by peer');
  t.is(s!.batches, 0);
  t.is(s!.queueDepth, 0);
});

test('block: a publish waiting for room when the publisher closes fails with ERR_QUIVER_CLOSED (not delivered), the rest ends cleanly', async (t) => {
  const { pub, topic, conn } = await activeSubscriber(1);
  await topic.publish(batch(1));
  while (conn.sends.length === 0) await turn();
  await topic.publish(batch(2));
  const waiting = topic.publish(batch(3));
  t.is(await settled(waiting), 'pending');
  // The publisher's close queues the end of stream (never refused) behind what is queued and
  // waits for the sends.
  await acceptingSends(conn, pub.close());
  const e = await t.throwsAsync(waiting);
  t.is((e as { code?: string }).code, ErrorCode.CLOSED);
  const [s] = pub.stats();
  t.is(s!.batches, 2, 'what was queued before the close was sent, then the end');
  t.is(s!.closeReason, undefined);
});

test('drop-oldest and disconnect never make a publish wait, whatever the subscriber does', async (t) => {
  for (const policy of ['drop-oldest', 'disconnect'] as const) {
    const mem = memTransport();
    const pub = await Publisher.listen(mem.registry, 'mem://test', { queueLength: 1, helloTimeoutMs: 1, policy });
    const topic = pub.topic('default', schema);
    const conn = mem.accept();
    await topic.waitForSubscribers(1);
    for (let i = 0; i < 10; i++) t.is(await settled(topic.publish(batch(i))), 'resolved', `${policy} publish ${i}`);
    const [s] = pub.stats();
    if (policy === 'drop-oldest') {
      t.is(s!.state, 'active');
      t.true(s!.drops > 0);
    } else {
      t.is(s!.state, 'closed');
      t.is(s!.closeReason, ErrorCode.SLOW_CONSUMER);
    }
    await acceptingSends(conn, pub.close());
  }
});
