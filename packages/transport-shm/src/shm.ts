/**
 * The `shm:` transport: a ring in a POSIX shared-memory segment, `shm://name` being
 * `/dev/shm/name`.
 *
 * Roles: `listen(shm://name)` creates the segment (mode 0600, exclusive; a stale one left by a
 * dead publisher is replaced) and is the side that writes; its listener yields one connection,
 * the publisher's, and closing it unlinks the segment. `connect(shm://name)` opens the segment
 * as a subscriber: one of up to `maxSubscribers` readers, each with its own cursor, each getting
 * the schema and current dictionaries first, then every message published after it joined.
 * So by default a pipeline over shm has its producer listen and its consumer connect, the
 * reverse of a socket pipeline; the `direction` option turns this round (`listen` with
 * `direction: 'read'` creates the segment and reads, `connect` with `direction: 'write'` attaches
 * as its one writer). Publish/subscribe maps directly (core's `Publisher.over(listener)` sees
 * the ring as one subscriber and the ring fans out to every reader, without copies).
 *
 * Needs @quiver/native; without it `availability()` says so (ERR_QUIVER_NATIVE_UNAVAILABLE) and
 * importing this package still works.
 */
import { ErrorCode, QuiverError, type Availability, type Connection, type Listener, type Transport, type TransportOptions } from '@quiver/core';
import { abortError } from './errors.js';
import { RingReaderConnection, RingWriterConnection } from './connection.js';
import { RingListener, RingReaderListener } from './listener.js';
import type { NativeBinding } from '@quiver/native';
import { native, nativeUnavailableReason, requireShmNative } from './native.js';
import { checkPolicy, geometryOf, modeOf, syncRecords, type ShmOptions, type SubscriberOptions } from './options.js';
import { H, setPublisher, type Ring } from './ring/layout.js';
import { selfIdentity } from './ring/liveness.js';
import { RingReader } from './ring/reader.js';
import { futexWaiter, type Waiter } from './ring/wait.js';
import { RingWriter } from './ring/writer.js';
import { createSegment, openSegment, segmentName, shmUrl, unlinkIfOurs } from './segment.js';

/** Whether `shm:` works here: Linux with the native addon; else why not (ERR_QUIVER_NATIVE_UNAVAILABLE). */
export function shmAvailability(): Availability {
  if (process.platform !== 'linux') return { available: false, reason: 'POSIX shared memory rings need Linux', code: ErrorCode.NATIVE_UNAVAILABLE };
  if (!native) return { available: false, reason: `the @quiver/native addon is not available: ${nativeUnavailableReason}`, code: ErrorCode.NATIVE_UNAVAILABLE };
  return { available: true };
}

/** Which end of the ring a `listen` or `connect` takes. */
export type Direction = 'read' | 'write';

/** The `direction` option of `listen` and `connect`. */
export interface DirectionOption {
  /**
   * `listen` (direction 'write') only: the listener yields the publisher's connection once this
   * many subscribers have joined the ring (they get everything published from then on).
   * @default 0 (at once)
   */
  waitSubscribers?: number;
  /**
   * The end of the ring this side takes. `listen` defaults to `'write'` (create and publish),
   * `connect` to `'read'` (join as a subscriber). `listen(..., { direction: 'read' })` creates
   * the segment and reads; its one writer then attaches with `connect(..., { direction: 'write' })`.
   */
  direction?: Direction;
}

function directionOf(v: unknown, dflt: Direction): Direction {
  if (v === undefined) return dflt;
  if (v !== 'read' && v !== 'write') throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `direction must be 'read' or 'write', not ${String(v)}`);
  return v;
}

/**
 * Creates the segment. By default (direction 'write') returns its publisher's connection inside
 * a listener; with direction 'read', a listener whose one connection reads (see
 * {@link RingReaderListener}).
 */
export async function listenShm(url: URL | string, opts: ShmOptions & SubscriberOptions & DirectionOption & { signal?: AbortSignal } & { direction: 'read' }): Promise<RingReaderListener>;
export async function listenShm(url: URL | string, opts?: ShmOptions & DirectionOption & { signal?: AbortSignal } & { direction?: 'write' }): Promise<RingListener>;
export async function listenShm(url: URL | string, opts?: ShmOptions & SubscriberOptions & DirectionOption & { signal?: AbortSignal }): Promise<RingListener | RingReaderListener> {
  return listenEither(url, opts);
}

async function listenEither(
  url: URL | string,
  opts: ShmOptions & SubscriberOptions & DirectionOption & { signal?: AbortSignal } = {},
): Promise<RingListener | RingReaderListener> {
  if (opts.signal?.aborted) throw abortError(opts.signal, 'listen');
  const direction = directionOf(opts.direction, 'write');
  const wanted = count(opts.waitSubscribers, 'waitSubscribers', 0, geometryOf(opts).maxSubscribers) ?? 0;
  const nat = requireShmNative('shm:');
  const name = segmentName(url);
  const ring = createSegment(name, { ...geometryOf(opts), policy: checkPolicy(opts.policy) ?? 'block', mode: modeOf(opts.mode) });
  if (direction === 'read') return listenForWriter(nat, name, ring, opts);
  const writer = new RingWriter(ring, { waiter: futexWaiter(nat, ring.buffer), maxSyncRecords: syncRecords(opts.maxSyncRecords) });
  let unlinked = false;
  const unlink = () => {
    if (unlinked) return;
    unlinked = true;
    unlinkIfOurs(name, ring.id);
  };
  const ready = wanted > 0 ? (stop: AbortSignal) => untilSubscribers(writer, ring, futexWaiter(nat, ring.buffer), wanted, stop) : undefined;
  return new RingListener(new RingWriterConnection(writer, shmUrl(name), { address: name, pid: process.pid }, unlink), unlink, ready);
}

/** Resolves true once `n` subscribers are on the ring, false if `stop` aborts first (polls JOINS in slices). */
async function untilSubscribers(writer: RingWriter, ring: Ring, waiter: Waiter, n: number, stop: AbortSignal): Promise<boolean> {
  const stopped = whenStopped(stop);
  for (;;) {
    if (stop.aborted) return false;
    const joins = Atomics.load(ring.words, H.JOINS);
    if (writer.subscribers().filter((s) => s.state === 'active').length >= n) return true;
    await Promise.race([waiter.wait(H.JOINS, joins, 100), stopped]);
  }
}

/** Resolves when `stop` aborts. */
function whenStopped(stop: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stop.aborted) resolve();
    else stop.addEventListener('abort', () => resolve(), { once: true });
  });
}

function count(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `${name} must be an integer from ${min} to ${max}, not ${String(v)}`);
  return v;
}

/** The creator reads: it joins at once, and its listener yields the reader once a writer attached. */
async function listenForWriter(nat: NativeBinding, name: string, ring: Ring, opts: SubscriberOptions & { signal?: AbortSignal }): Promise<RingReaderListener> {
  let unlinked = false;
  const unlink = () => {
    if (unlinked) return;
    unlinked = true;
    unlinkIfOurs(name, ring.id);
  };
  const waiter = futexWaiter(nat, ring.buffer);
  let reader: RingReader;
  try {
    reader = await RingReader.join(ring, { waiter, identity: selfIdentity(), maxSyncRecords: syncRecords(opts.maxSyncRecords), policy: 'block' });
  } catch (e) {
    unlink();
    throw e;
  }
  if (opts.signal?.aborted) {
    reader.close();
    unlink();
    throw abortError(opts.signal, 'listen');
  }
  const conn = new RingReaderConnection(reader, shmUrl(name), { address: name, pid: 0 }, () => {});
  const w = ring.words;
  const attached = async (stop: AbortSignal): Promise<boolean> => {
    // The writer moves PUB_STATE from 0 and wakes the word; wait in slices (never blocking).
    const stopped = whenStopped(stop);
    while (Atomics.load(w, H.PUB_STATE) === 0) {
      if (stop.aborted) return false;
      await Promise.race([waiter.wait(H.PUB_STATE, 0, 100), stopped]);
    }
    if (stop.aborted) return false;
    (conn.peer as { pid?: number }).pid = Atomics.load(w, H.PUB_PID);
    return true;
  };
  return new RingReaderListener(conn, attached, unlink);
}

/**
 * Opens an existing segment. By default (direction 'read') as a subscriber; with direction
 * 'write' as its one publisher (the segment's creator listened with direction 'read'); a ring
 * that has or had a publisher refuses with ERR_QUIVER_ADDRESS_IN_USE.
 */
export async function connectShm(url: URL | string, opts: SubscriberOptions & DirectionOption & { signal?: AbortSignal } & { direction: 'write' }): Promise<RingWriterConnection>;
export async function connectShm(url: URL | string, opts?: SubscriberOptions & DirectionOption & { signal?: AbortSignal } & { direction?: 'read' }): Promise<RingReaderConnection>;
export async function connectShm(url: URL | string, opts?: SubscriberOptions & DirectionOption & { signal?: AbortSignal }): Promise<RingReaderConnection | RingWriterConnection> {
  return connectEither(url, opts);
}

async function connectEither(
  url: URL | string,
  opts: SubscriberOptions & DirectionOption & { signal?: AbortSignal } = {},
): Promise<RingReaderConnection | RingWriterConnection> {
  if (opts.signal?.aborted) throw abortError(opts.signal, 'connect');
  const direction = directionOf(opts.direction, 'read');
  const nat = requireShmNative('shm:');
  const name = segmentName(url);
  const ring = openSegment(name);
  if (direction === 'write') {
    const creator = Atomics.load(ring.words, H.PUB_PID);
    // Throws ERR_QUIVER_ADDRESS_IN_USE unless this is the ring's first publisher.
    const writer = new RingWriter(ring, { waiter: futexWaiter(nat, ring.buffer), maxSyncRecords: syncRecords(opts.maxSyncRecords) });
    // Readers now watch this process's liveness; the creator's listener is woken.
    setPublisher(ring.words, selfIdentity());
    nat.futexWake(ring.buffer, H.PUB_STATE * 4, Infinity);
    return new RingWriterConnection(writer, shmUrl(name), { address: name, pid: creator }, () => {});
  }
  const policy = checkPolicy(opts.policy);
  const reader = await RingReader.join(ring, {
    waiter: futexWaiter(nat, ring.buffer),
    identity: selfIdentity(),
    maxSyncRecords: syncRecords(opts.maxSyncRecords),
    ...(policy ? { policy } : {}),
  });
  if (opts.signal?.aborted) {
    reader.close();
    throw abortError(opts.signal, 'connect');
  }
  return new RingReaderConnection(reader, shmUrl(name), { address: name, pid: Atomics.load(ring.words, H.PUB_PID) }, () => {});
}

/**
 * The `shm:` transport for a {@link TransportRegistry}. `defaults` apply to every listen and
 * connect; options passed there override them.
 */
export function shmTransport(defaults: ShmOptions & SubscriberOptions = {}): Transport {
  // A direction is chosen per call (listen and connect default differently), never as a default.
  return {
    schemes: ['shm'],
    availability: shmAvailability,
    async listen(url: URL, opts?: TransportOptions): Promise<Listener> {
      return listenEither(url, { ...defaults, ...(opts as ShmOptions & SubscriberOptions & DirectionOption) });
    },
    async connect(url: URL, opts?: TransportOptions): Promise<Connection> {
      return connectEither(url, { ...defaults, ...(opts as SubscriberOptions & DirectionOption) });
    },
  };
}
