/**
 * The `worker:` transport: the same ring in a SharedArrayBuffer that the threads of one process
 * share, waking each other with Atomics.waitAsync/Atomics.notify (never Atomics.wait: the main
 * thread must not block). A batch a worker reads is a set of views of the buffer: nothing is
 * copied between the threads, and nothing crosses the kernel.
 *
 * ```ts
 * // main thread
 * const transport = workerTransport();
 * const channel = transport.createChannel({ size: 1 << 24 });
 * const worker = new Worker(url, { workerData: { sab: channel.sab, url: channel.url } });
 * const listener = await transport.listen(new URL(channel.url));   // the publisher's end
 * // in the worker
 * const transport = workerTransport();
 * transport.attach(workerData.sab);
 * const conn = await transport.connect(new URL(workerData.url));  // a subscriber
 * ```
 *
 * Roles are those of `shm:` (listen writes, connect reads; any thread may take either). Each
 * thread registers the channels it uses on its own transport object: no global state.
 */
import { ErrorCode, QuiverError, type Availability, type Connection, type Listener, type Transport, type TransportOptions } from '@quiver/core';
import { abortError } from './errors.js';
import { RingReaderConnection, RingWriterConnection } from './connection.js';
import { RingListener } from './listener.js';
import { checkPolicy, geometryOf, syncRecords, type RingOptions, type SubscriberOptions } from './options.js';
import { formatRing, H, openRing, randomId, ringSizes, S, setPublisher, slotWord } from './ring/layout.js';
import { reclaimThread } from './ring/slots.js';
import { selfIdentity } from './ring/liveness.js';
import { RingReader } from './ring/reader.js';
import { atomicsWaiter, hasWaitAsync } from './ring/wait.js';
import { RingWriter } from './ring/writer.js';

/** A ring in a SharedArrayBuffer, to hand to workers (postMessage or workerData copy the reference, not the memory). */
export interface WorkerChannel {
  /** The ring's memory: hand it to the other thread (workerData or postMessage share it, never copy it). */
  readonly sab: SharedArrayBuffer;
  /** `worker://<id>`, the id being the ring's own (random, 128 bits). */
  readonly url: string;
  /** The ring's id (32 hex digits). */
  readonly id: string;
}

/** Makes a new ring in a new SharedArrayBuffer. */
export function createWorkerChannel(opts: RingOptions = {}): WorkerChannel {
  const sizes = ringSizes(geometryOf(opts));
  const sab = new SharedArrayBuffer(sizes.segmentBytes);
  const ring = formatRing(sab, sizes, selfIdentity(), checkPolicy(opts.policy) ?? 'block', randomId());
  return { sab, url: `worker://${ring.id}`, id: ring.id };
}

/** The channel a SharedArrayBuffer holds (checking its header). */
export function workerChannelOf(sab: SharedArrayBuffer): WorkerChannel {
  const ring = openRing(sab);
  return { sab, url: `worker://${ring.id}`, id: ring.id };
}

function channelId(url: URL | string): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'worker:' || !/^[0-9a-f]{32}$/.test(u.host)) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `not a worker channel URL: ${u.href}`);
  return u.host;
}

/** Options of `listen`/`connect` on worker: URLs. */
export interface WorkerOptions extends SubscriberOptions {
  /** The channel's buffer, when it was not registered with `attach` or `createChannel`. */
  sab?: SharedArrayBuffer;
  /** @default 64 */
  maxSyncRecords?: number;
}

/**
 * The `worker:` transport of one thread, with the channels it knows (registered by
 * {@link WorkerTransport.createChannel} or {@link WorkerTransport.attach}). `listen` takes a
 * channel's one writing end, `connect` joins it as a subscriber. Available where
 * `Atomics.waitAsync` exists (else ERR_QUIVER_UNSUPPORTED).
 */
export class WorkerTransport implements Transport {
  readonly schemes = ['worker'] as const;
  readonly #channels = new Map<string, SharedArrayBuffer>();

  /** `defaults` apply to every listen and connect; options passed there override them. */
  constructor(private readonly defaults: WorkerOptions = {}) {}

  availability(): Availability {
    return hasWaitAsync() && typeof SharedArrayBuffer === 'function'
      ? { available: true }
      : { available: false, reason: 'Atomics.waitAsync and SharedArrayBuffer are needed', code: ErrorCode.UNSUPPORTED };
  }

  /** Makes a channel and registers it with this transport. */
  createChannel(opts: RingOptions = {}): WorkerChannel {
    const ch = createWorkerChannel(opts);
    this.#channels.set(ch.id, ch.sab);
    return ch;
  }

  /** Registers a channel made elsewhere (typically by the thread that started this one). */
  attach(sab: SharedArrayBuffer): WorkerChannel {
    const ch = workerChannelOf(sab);
    this.#channels.set(ch.id, sab);
    return ch;
  }

  #buffer(url: URL, opts: WorkerOptions): SharedArrayBuffer {
    const id = channelId(url);
    const sab = opts.sab ?? this.#channels.get(id);
    if (!sab) throw new QuiverError(ErrorCode.CONNECTION_FAILED, `no channel ${id} in this thread: attach its SharedArrayBuffer first`);
    return sab;
  }

  /**
   * Becomes the channel's publisher (one per channel, ever: a second gets
   * ERR_QUIVER_ADDRESS_IN_USE). The listener yields that one writing connection at once.
   * ERR_QUIVER_CONNECTION_FAILED for a channel this transport does not know.
   */
  async listen(url: URL, topts?: TransportOptions): Promise<Listener & RingListener> {
    const opts: WorkerOptions & TransportOptions = { ...this.defaults, ...topts };
    if (opts.signal?.aborted) throw abortError(opts.signal, 'listen');
    const ring = openRing(this.#buffer(url, opts));
    const writer = new RingWriter(ring, { waiter: atomicsWaiter(ring.buffer), maxSyncRecords: syncRecords(opts.maxSyncRecords) });
    setPublisher(ring.words, selfIdentity());
    return new RingListener(new RingWriterConnection(writer, `worker://${ring.id}`, { address: `worker://${ring.id}`, pid: process.pid }, () => {}));
  }

  /**
   * Joins the channel as a subscriber: it gets the schema and current dictionaries, then what is
   * published from now on. ERR_QUIVER_SHM_FULL when every slot is taken.
   */
  async connect(url: URL, topts?: TransportOptions): Promise<Connection & RingReaderConnection> {
    const opts: WorkerOptions & TransportOptions = { ...this.defaults, ...topts };
    if (opts.signal?.aborted) throw abortError(opts.signal, 'connect');
    const ring = openRing(this.#buffer(url, opts));
    const policy = checkPolicy(opts.policy);
    const reader = await RingReader.join(ring, {
      waiter: atomicsWaiter(ring.buffer),
      identity: selfIdentity(),
      maxSyncRecords: syncRecords(opts.maxSyncRecords),
      ...(policy ? { policy } : {}),
    });
    return new RingReaderConnection(reader, `worker://${ring.id}`, { address: `worker://${ring.id}`, pid: process.pid }, () => {});
  }
}

/** What {@link releaseWorkerThread} did. */
export interface ReleasedThread {
  /** Subscriber slots of the thread that were freed. */
  subscribers: number;
  /** Whether the channel's publisher was marked gone. */
  publisher: boolean;
}

/**
 * Tells a channel that one of its worker threads is gone (terminated, or died of an uncaught
 * error): call it from the thread that sees the `Worker`'s `'exit'`, with `worker.threadId`.
 * Threads share their process's pid, so the ring cannot find this out by itself as it does for
 * a dead process.
 *
 * - The thread's subscriber slots are freed, records it held included: a publisher waiting for
 *   it (policy `block`, or a held record) goes on.
 * - With `publisher: true` (the thread was the channel's publisher; the caller knows, having
 *   given it that role), the channel's publisher is marked gone: its subscribers read everything
 *   it published, then fail with ERR_QUIVER_CONNECTION_FAILED, as after a publisher process's
 *   death. A message it was writing when it died was never published (records are published
 *   whole). Never do this for a publisher that is alive.
 */
export function releaseWorkerThread(channel: WorkerChannel | SharedArrayBuffer, thread: number, opts: { publisher?: boolean } = {}): ReleasedThread {
  if (!Number.isInteger(thread) || thread < 0) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `a thread id is a non-negative integer, not ${String(thread)}`);
  const ring = openRing(channel instanceof SharedArrayBuffer ? channel : channel.sab);
  const w = ring.words;
  const freed = reclaimThread(w, ring.sizes.maxSubscribers, thread);
  for (const slot of freed) {
    // As a subscriber that leaves: nothing held, and the writer woken if it waits for room.
    Atomics.store(w, slotWord(slot, S.RELEASED), 0);
    Atomics.add(w, slotWord(slot, S.FREED), 1);
    Atomics.notify(w, slotWord(slot, S.FREED));
  }
  let publisher = false;
  if (opts.publisher && Atomics.load(w, H.PUB_PID) === process.pid) {
    // No live process has pid -1: readers take the publisher for dead at their next check.
    Atomics.store(w, H.PUB_PID, -1);
    Atomics.add(w, H.PUBLISHED, 1);
    Atomics.notify(w, H.PUBLISHED);
    publisher = true;
  }
  return { subscribers: freed.length, publisher };
}

/** The `worker:` transport for a {@link TransportRegistry}. */
export function workerTransport(defaults: WorkerOptions = {}): WorkerTransport {
  return new WorkerTransport(defaults);
}
