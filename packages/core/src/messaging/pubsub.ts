/**
 * Publish/subscribe over any connection-oriented transport. A publisher listens; each subscriber
 * connects, names a topic with a hello (or sends nothing, like plain pyarrow, and gets the default
 * topic), receives the topic's schema and current dictionaries, then every batch published after
 * it joined. Batches are encoded once and the same buffers fanned out to every subscriber.
 *
 * Each subscription has a bounded queue and a policy for when it is full:
 * - `block` (default): the publisher's `publish` waits until there is room;
 * - `drop-oldest`: the oldest queued batch is dropped and counted (dictionaries never are);
 * - `disconnect`: the subscriber is disconnected (ERR_QUIVER_SLOW_CONSUMER) and counted.
 */
import * as A from 'apache-arrow';
import { ErrorCode, QuiverError } from '../errors.js';
import { RecordBatchEncoder, type EncoderOptions } from '../ipc/encoder.js';
import type { EncodedMessage } from '../ipc/framing.js';
import { StreamReader, type StreamReaderOptions } from '../ipc/stream-reader.js';
import type { Connection, Listener, PeerInfo, TransportOptions, TransportRegistry } from '../transport/transport.js';
import { decodeHello, encodeHello, type Hello } from './control.js';
import { AsyncQueue } from './queue.js';
import { closingSource, connectWithBackoff, PEER_LIMITS, type ReconnectOptions } from './streams.js';

/**
 * What a publisher does when a subscriber's queue is full: `block` (publish waits),
 * `drop-oldest` (the oldest queued batch is dropped and counted), `disconnect` (the subscriber
 * is closed with ERR_QUIVER_SLOW_CONSUMER).
 */
export type SlowSubscriberPolicy = 'block' | 'drop-oldest' | 'disconnect';

/** The topic of a subscriber that names none: every plain Arrow reader (pyarrow) that sends no hello. */
export const DEFAULT_TOPIC = 'default';

/** One subscriber as its publisher sees it ({@link Publisher.stats}). */
export interface SubscriberStats {
  /** Numbered from 1 in order of arrival, per publisher. */
  id: number;
  /** The subscriber, as the transport sees it. */
  peer: PeerInfo;
  /** The topic it receives. */
  topic: string;
  /** Its policy (its hello's, else the topic's, else the publisher's). */
  policy: SlowSubscriberPolicy;
  /** Record batches handed to the transport. */
  batches: number;
  /** Bytes handed to the transport. */
  bytes: number;
  /** Record batches dropped under `drop-oldest`. */
  drops: number;
  /** Messages queued for this subscriber now. */
  queueDepth: number;
  /** `joining` until its topic's schema is queued for it, `active` while it receives, then `closed`. */
  state: 'joining' | 'active' | 'closed';
  /** Why it closed, if it did: an error code (`ERR_QUIVER_SLOW_CONSUMER`...) or message. Absent after a clean end. */
  closeReason?: string;
}

/** Options of {@link Publisher.listen}: defaults for every subscriber. */
export interface PublisherOptions {
  /** Policy for subscribers of every topic unless a topic says otherwise. @default 'block' */
  policy?: SlowSubscriberPolicy;
  /** Queue length per subscriber, in messages. @default 16 */
  queueLength?: number;
  /** Largest queue length a subscriber may ask for in its hello. @default 1024 */
  maxQueueLength?: number;
  /**
   * How long a new connection may take to send its hello before it is taken for a plain Arrow
   * subscriber of the default topic. @default 200
   */
  helloTimeoutMs?: number;
}

interface Item {
  message: EncodedMessage;
  /** Record batches may be dropped; schema and dictionary messages never. */
  droppable: boolean;
}

/** Whether `later` (a full dictionary) makes the queued `earlier` message useless. */
const supersedes = (later: EncodedMessage, earlier: EncodedMessage): boolean =>
  later.kind === 'dictionaryBatch' && !later.isDelta && earlier.kind === 'dictionaryBatch' && earlier.dictionaryId === later.dictionaryId;

class Subscriber {
  readonly queue: AsyncQueue<Item>;
  readonly stats: SubscriberStats;
  private readonly done: Promise<void>;

  constructor(
    readonly conn: Connection,
    id: number,
    topic: string,
    readonly policy: SlowSubscriberPolicy,
    capacity: number,
    private readonly onClose: (s: Subscriber) => void,
  ) {
    this.queue = new AsyncQueue<Item>(capacity);
    this.stats = { id, peer: conn.peer, topic, policy, batches: 0, bytes: 0, drops: 0, queueDepth: 0, state: 'joining' };
    this.done = this.pump();
  }

  /** Queues a message according to the policy. Resolves when queued (block: when there is room). */
  async offer(item: Item): Promise<void> {
    if (this.stats.state === 'closed') return;
    if (!this.queue.full || item.message.kind === undefined) {
      // (The end-of-stream marker, 8 bytes, is never refused: a subscriber that is behind still
      // gets a clean end.)
      this.queue.pushNow(item);
    } else if (this.policy === 'block') {
      try {
        await this.queue.push(item);
      } catch (e) {
        // This subscriber went away while the publish waited for room: the batch is for nobody
        // here now, and the publish goes on for the others. (A topic closing meanwhile ends the
        // queue without closing the subscriber first: that publish fails with ERR_QUIVER_CLOSED.)
        if ((this.stats.state as SubscriberStats['state']) === 'closed') return;
        throw e;
      }
    } else if (this.policy === 'drop-oldest') {
      if (this.queue.removeFirst((i) => i.droppable)) {
        // Room made by dropping the oldest queued batch: exactly one batch lost, and counted.
        this.stats.drops++;
        this.queue.pushNow(item);
      } else if (item.droppable) {
        // Only dictionaries are queued: the new batch is the one dropped.
        this.stats.drops++;
      } else {
        // A dictionary (or the end) when only dictionaries are queued: no queued batch needs an
        // older full dictionary of the same id, so it and its deltas go; the rest must arrive.
        // This keeps the queue within capacity plus one message per dictionary id.
        while (this.queue.removeFirst((i) => supersedes(item.message, i.message)));
        this.queue.pushNow(item);
      }
    } else {
      this.close(new QuiverError(ErrorCode.SLOW_CONSUMER, `subscriber ${this.stats.id} fell ${this.queue.length} messages behind`));
      return;
    }
    this.stats.queueDepth = this.queue.length;
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const r = await this.queue.shift();
        if (r.done) break;
        this.stats.queueDepth = this.queue.length;
        await this.conn.send(r.value.message.buffers);
        this.stats.bytes += r.value.message.byteLength;
        if (r.value.droppable) this.stats.batches++;
      }
      await this.conn.end();
    } catch (e) {
      this.close(e instanceof Error ? e : new Error(String(e)));
    }
  }

  close(reason?: Error): void {
    if (this.stats.state === 'closed') return;
    this.stats.state = 'closed';
    if (reason) this.stats.closeReason = (reason as QuiverError).code ?? reason.message;
    this.queue.clear();
    this.queue.end();
    this.stats.queueDepth = 0;
    void this.conn.close();
    this.onClose(this);
  }

  /** Sends what is queued, then the end of stream has been queued by the caller. */
  async finish(): Promise<void> {
    this.queue.end();
    await this.done;
    if (this.stats.state !== 'closed') {
      this.stats.state = 'closed';
      this.onClose(this);
    }
    await this.conn.close();
  }
}

/** Options of {@link Publisher.topic}: its encoding (compression, dictionary deltas) and its subscribers' defaults. */
export interface TopicOptions extends EncoderOptions {
  /** Policy of this topic's subscribers that do not choose one. @default the publisher's */
  policy?: SlowSubscriberPolicy;
  /** Queue length of this topic's subscribers that do not choose one. @default the publisher's */
  queueLength?: number;
}

/** One named stream of batches with one schema, fanned out to its subscribers. */
export class Topic {
  private readonly encoder: RecordBatchEncoder;
  /** Schema and dictionary messages a joining subscriber needs, in order. */
  private readonly preamble: EncodedMessage[] = [];
  /** @internal The subscribers receiving this topic now. */
  readonly subscribers = new Set<Subscriber>();
  private closed = false;

  /** Made by {@link Publisher.topic}. */
  constructor(
    /** The topic's name (what a subscriber's hello names). */
    readonly name: string,
    /** Every batch published must have this schema. */
    readonly schema: A.Schema,
    /** The options it was made with. */
    readonly options: TopicOptions,
  ) {
    this.encoder = new RecordBatchEncoder(schema, 'stream', options);
    this.preamble.push(...this.encoder.start());
  }

  /**
   * Keeps what a newcomer needs to decode the next batch: the schema, and per dictionary id its
   * last full dictionary and the deltas since. A replacement supersedes what came before it, so
   * a long-running topic holds one dictionary state, not its history.
   */
  private remember(m: EncodedMessage): void {
    if (m.kind === 'dictionaryBatch' && !m.isDelta) {
      for (let i = this.preamble.length - 1; i >= 0; i--) {
        const p = this.preamble[i]!;
        if (p.kind === 'dictionaryBatch' && p.dictionaryId === m.dictionaryId) this.preamble.splice(i, 1);
      }
    }
    this.preamble.push(m);
  }

  /** @internal Starts a subscriber: the schema and current dictionaries come first. */
  join(s: Subscriber): void {
    for (const message of this.preamble) s.queue.pushNow({ message, droppable: false });
    s.stats.state = 'active';
    this.subscribers.add(s);
    for (const w of [...this.joinWaiters]) if (this.subscribers.size >= w.count) w.resolve();
  }

  private readonly joinWaiters = new Set<{ count: number; resolve: () => void }>();

  /** Subscribers receiving this topic now. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Resolves once at least `count` subscribers receive this topic (at once if they already do).
   * Rejects with ERR_QUIVER_ABORTED if `signal` aborts first.
   */
  waitForSubscribers(count: number, signal?: AbortSignal): Promise<void> {
    if (this.subscribers.size >= count) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(new QuiverError(ErrorCode.ABORTED, 'aborted'));
    return new Promise((resolve, reject) => {
      const w = {
        count,
        resolve: () => {
          this.joinWaiters.delete(w);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.joinWaiters.delete(w);
        reject(new QuiverError(ErrorCode.ABORTED, 'aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.joinWaiters.add(w);
    });
  }

  /**
   * Publishes a batch (or a table's batches) to every subscriber of the topic now (a subscriber
   * gets only what is published after it joined). Each batch is encoded once; dictionaries that
   * changed go first and are never dropped. Resolves when every subscriber has taken the batch
   * by its policy: queued (a `block` subscriber with a full queue makes this wait for room),
   * queued or counted as dropped (`drop-oldest`), or disconnected (`disconnect`). It does not
   * wait for the bytes to reach anyone. A subscriber that goes away while a publish waits for
   * room in its queue stops holding it back. ERR_QUIVER_CLOSED once the topic is closed, and for
   * a publish still waiting when it closes (that batch is not delivered);
   * ERR_QUIVER_SCHEMA_MISMATCH for a batch of another schema.
   */
  async publish(data: A.RecordBatch | A.Table): Promise<void> {
    if (this.closed) throw new QuiverError(ErrorCode.CLOSED, `topic '${this.name}' is closed`);
    for (const batch of data instanceof A.Table ? data.batches : [data]) {
      // An encoder's output for one batch: its dictionaries (if they changed), then the batch.
      const messages = this.encoder.write(batch);
      for (let i = 0; i < messages.length; i++) {
        const isBatch = i === messages.length - 1;
        if (!isBatch) this.remember(messages[i]!);
        const item = { message: messages[i]!, droppable: isBatch };
        await Promise.all([...this.subscribers].map((s) => s.offer(item)));
      }
    }
  }

  /** Ends every subscriber's stream cleanly (end-of-stream marker) and stops the topic. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const end = this.encoder.finish();
    await Promise.all(
      [...this.subscribers].map(async (s) => {
        for (const message of end) await s.offer({ message, droppable: false });
        await s.finish();
      }),
    );
  }
}

/**
 * Listens for subscribers and publishes topics to them. Each connection that arrives is read for
 * a hello (its topic, policy, queue length); one that sends none within `helloTimeoutMs` is a
 * plain Arrow subscriber of {@link DEFAULT_TOPIC} (one that sends its hello later, or anything at
 * all, is then closed with ERR_QUIVER_PROTOCOL: it asked for something it is not getting). A
 * subscriber of a topic that does not exist (yet) is closed at once. It then gets the topic's
 * schema and current dictionaries, and every batch published from then on, as a plain Arrow IPC
 * stream.
 */
export class Publisher {
  private readonly topics = new Map<string, Topic>();
  private readonly all = new Set<Subscriber>();
  private nextId = 1;
  private readonly accepting: Promise<void>;
  private closing = false;

  private constructor(
    /** The listener subscribers arrive on. */
    readonly listener: Listener,
    /** The options it was made with. */
    readonly options: PublisherOptions,
  ) {
    this.accepting = this.accept();
  }

  /** Listens on `url` (resolved on `registry`). */
  static async listen(registry: TransportRegistry, url: string, opts: PublisherOptions & { transport?: TransportOptions } = {}): Promise<Publisher> {
    return new Publisher(await registry.listen(url, opts.transport), opts);
  }

  /** A publisher on a listener you already have. */
  static over(listener: Listener, opts: PublisherOptions = {}): Publisher {
    return new Publisher(listener, opts);
  }

  /** The bound URL (with the real port when port 0 was asked for). */
  get url(): string {
    return this.listener.url;
  }

  /**
   * Creates (or returns) a topic. The default topic is named {@link DEFAULT_TOPIC}.
   * ERR_QUIVER_SCHEMA_MISMATCH if the topic exists with another schema.
   */
  topic(name: string, schema: A.Schema, opts: TopicOptions = {}): Topic {
    let t = this.topics.get(name);
    if (t) {
      if (!A.util.compareSchemas(t.schema, schema)) throw new QuiverError(ErrorCode.SCHEMA_MISMATCH, `topic '${name}' exists with another schema`);
      return t;
    }
    t = new Topic(name, schema, opts);
    this.topics.set(name, t);
    return t;
  }

  /** Statistics of every subscriber, current and closed. */
  stats(): SubscriberStats[] {
    return [...this.all].map((s) => ({ ...s.stats, queueDepth: s.queue.length }));
  }

  private async accept(): Promise<void> {
    try {
      for await (const conn of this.listener) void this.admit(conn);
    } catch {
      // The listener failed; close() reports through the listener's own promise.
    }
  }

  /** Reads a hello (or times out to the default topic), then joins the subscriber to its topic. */
  private async admit(conn: Connection): Promise<void> {
    let hello: Hello;
    let late: Promise<IteratorResult<Uint8Array>> | undefined;
    try {
      const r = await readHello(conn, this.options.helloTimeoutMs ?? 200);
      hello = r.hello ?? { topic: DEFAULT_TOPIC };
      late = r.pending;
    } catch {
      await conn.close();
      return;
    }
    const topicName = hello.topic;
    const topic = this.topics.get(topicName);
    if (!topic || this.closing) {
      await conn.close(); // an unknown topic: the subscriber sees the connection close
      return;
    }
    // The subscription's own choice (from its hello), else the topic's, else the publisher's.
    const policy = hello.policy ?? topic.options.policy ?? this.options.policy ?? 'block';
    const capacity = Math.min(hello.queueLength ?? topic.options.queueLength ?? this.options.queueLength ?? 16, this.options.maxQueueLength ?? 1024);
    const s = new Subscriber(conn, this.nextId++, topicName, policy, capacity, (x) => topic.subscribers.delete(x));
    // Put on the default topic for want of a hello: a plain Arrow subscriber sends nothing, ever.
    // Bytes that arrive now are a hello that came too late (a subscriber that asked for another
    // topic, or policy): close it rather than feed it the default topic's batches unasked.
    late?.then(
      (r) => {
        if (!r.done && r.value.byteLength > 0) {
          s.close(new QuiverError(ErrorCode.PROTOCOL, `subscriber ${s.stats.id} sent its hello (or other bytes) after helloTimeoutMs, once it was put on the default topic`));
        }
      },
      () => {}, // a failed connection: the subscriber's sends see it
    );
    this.all.add(s);
    topic.join(s);
  }

  /**
   * Stops listening, then ends every topic's streams cleanly: each subscriber gets what is queued
   * for it and the end-of-stream marker (so this waits for subscribers that are slow to read),
   * then its connection is closed. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.listener.close();
    await Promise.all([...this.topics.values()].map((t) => t.close()));
    await this.accepting;
  }

  /** {@link Publisher.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Waits for a subscriber's hello. Resolves it, or null when nothing arrived in time (a plain
 * Arrow subscriber), with the read still pending then (what arrives later). Reads nothing past
 * the hello.
 */
async function readHello(conn: Connection, timeoutMs: number): Promise<{ hello: Hello | null; pending?: Promise<IteratorResult<Uint8Array>> }> {
  const it = conn[Symbol.asyncIterator]();
  let buffered = new Uint8Array(0);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
  try {
    for (;;) {
      const next = it.next();
      const r = await Promise.race([next, timeout]);
      if (r === 'timeout') {
        // Part of a hello, then nothing: not a plain Arrow subscriber, and not one we understand.
        if (buffered.byteLength > 0) throw new QuiverError(ErrorCode.PROTOCOL, 'an incomplete hello');
        return { hello: null, pending: next };
      }
      if (r.done) throw new QuiverError(ErrorCode.PROTOCOL, 'the subscriber left before its hello');
      const joined = new Uint8Array(buffered.byteLength + r.value.byteLength);
      joined.set(buffered);
      joined.set(r.value, buffered.byteLength);
      buffered = joined;
      const h = decodeHello(buffered);
      if (h) return { hello: h.hello };
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Options of {@link subscribe}: what to ask the publisher for, reconnection, and the reader's limits (`maxMessageBytes` defaults to 256 MiB here). */
export interface SubscribeOptions extends StreamReaderOptions {
  /** Topic to receive. @default 'default' */
  topic?: string;
  /** How the publisher treats this subscription when it falls behind. @default the publisher's */
  policy?: SlowSubscriberPolicy;
  /** This subscription's queue length at the publisher, in messages. @default the publisher's */
  queueLength?: number;
  /** Options for the transport (TLS, ...). */
  transport?: TransportOptions;
  /**
   * Reconnect (with backoff) when the connection drops or the stream ends, so a publisher
   * restart is survived; iteration then ends only at `close()` (or after `maxAttempts`).
   * @default off
   */
  reconnect?: ReconnectOptions | boolean;
  /** Stops the waiting between reconnection attempts (ERR_QUIVER_ABORTED). */
  signal?: AbortSignal;
}

/**
 * Subscribes to a topic. Iterating connects, sends the hello, and yields the stream's batches;
 * it ends at the publisher's end of stream (or when the connection closes without one), and
 * throws the error that broke the stream. With `reconnect`, iteration goes on across
 * disconnections and publisher restarts: each new connection is a new stream (schema and current
 * dictionaries first), and batches published while disconnected are not received. Later
 * streams' schemas are not compared with the first; `schema` keeps the first.
 */
export class Subscription implements AsyncIterable<A.RecordBatch> {
  private conn: Connection | null = null;
  private closedFlag = false;
  /** The first stream's schema (null until it has started; later streams do not change it). */
  schema: A.Schema | null = null;
  /** Streams started (1 plus the number of reconnections). */
  streams = 0;

  /** Made by {@link subscribe}; nothing happens until iteration starts. */
  constructor(
    private readonly registry: TransportRegistry,
    /** The publisher's URL. */
    readonly url: string,
    private readonly opts: SubscribeOptions = {},
  ) {}

  private async open(): Promise<StreamReader> {
    const r = this.opts.reconnect === true ? {} : this.opts.reconnect || null;
    const conn = r
      ? await connectWithBackoff(this.registry, this.url, r, this.opts.transport, this.opts.signal)
      : await this.registry.connect(this.url, this.opts.transport);
    this.conn = conn;
    const hello: Hello = { topic: this.opts.topic ?? DEFAULT_TOPIC };
    if (this.opts.policy) hello.policy = this.opts.policy;
    if (this.opts.queueLength) hello.queueLength = this.opts.queueLength;
    await conn.send([encodeHello(hello)]);
    const reader = await StreamReader.open(closingSource(conn), { ...PEER_LIMITS, ...this.opts, releaseAtEnd: true });
    this.streams++;
    this.schema ??= reader.schema;
    return reader;
  }

  /** Connects and yields batches (see the class). Ending the iteration closes the subscription. */
  async *[Symbol.asyncIterator](): AsyncIterator<A.RecordBatch> {
    const reconnect = !!this.opts.reconnect;
    try {
      while (!this.closedFlag) {
        let reader: StreamReader;
        try {
          reader = await this.open();
        } catch (e) {
          if (this.closedFlag) return;
          throw e;
        }
        try {
          for await (const b of reader) yield b;
          if (reader.end === 'eos' && !reconnect) return;
        } catch (e) {
          if (!reconnect || this.closedFlag) throw e;
        } finally {
          await this.conn?.close();
        }
        if (!reconnect) return;
      }
    } finally {
      await this.close();
    }
  }

  /** Closes the connection; a running iteration ends. Idempotent. */
  async close(): Promise<void> {
    this.closedFlag = true;
    await this.conn?.close();
  }

  /** {@link Subscription.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Subscribes to `url` (resolved on `registry`); connecting starts when iteration does. */
export function subscribe(registry: TransportRegistry, url: string, opts?: SubscribeOptions): Subscription {
  return new Subscription(registry, url, opts);
}
