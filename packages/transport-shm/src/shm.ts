/**
 * The `shm:` transport: a ring in a POSIX shared-memory segment, `shm://name` being
 * `/dev/shm/name`.
 *
 * Roles: `listen(shm://name)` creates the segment (mode 0600, exclusive; a stale one left by a
 * dead publisher is replaced) and is the side that writes; its listener yields one connection,
 * the publisher's, and closing it unlinks the segment. `connect(shm://name)` opens the segment
 * as a subscriber: one of up to `maxSubscribers` readers, each with its own cursor, each getting
 * the schema and current dictionaries first, then every message published after it joined.
 * So a pipeline over shm has its producer listen and its consumer connect, the reverse of a
 * socket pipeline, and publish/subscribe maps directly (core's `Publisher.over(listener)` sees
 * the ring as one subscriber and the ring fans out to every reader, without copies).
 *
 * Needs @quiver/native; without it `availability()` says so (ERR_QUIVER_NATIVE_UNAVAILABLE) and
 * importing this package still works.
 */
import { ErrorCode, type Availability, type Connection, type Listener, type Transport, type TransportOptions } from '@quiver/core';
import { abortError } from './errors.js';
import { RingReaderConnection, RingWriterConnection } from './connection.js';
import { RingListener } from './listener.js';
import { native, nativeUnavailableReason, requireShmNative } from './native.js';
import { checkPolicy, geometryOf, modeOf, syncRecords, type ShmOptions, type SubscriberOptions } from './options.js';
import { H } from './ring/layout.js';
import { selfIdentity } from './ring/liveness.js';
import { RingReader } from './ring/reader.js';
import { futexWaiter } from './ring/wait.js';
import { RingWriter } from './ring/writer.js';
import { createSegment, openSegment, segmentName, shmUrl, unlinkIfOurs } from './segment.js';

export function shmAvailability(): Availability {
  if (process.platform !== 'linux') return { available: false, reason: 'POSIX shared memory rings need Linux', code: ErrorCode.NATIVE_UNAVAILABLE };
  if (!native) return { available: false, reason: `the @quiver/native addon is not available: ${nativeUnavailableReason}`, code: ErrorCode.NATIVE_UNAVAILABLE };
  return { available: true };
}

/** Creates the segment and returns its publisher's connection inside a listener. */
export async function listenShm(url: URL | string, opts: ShmOptions & { signal?: AbortSignal } = {}): Promise<RingListener> {
  if (opts.signal?.aborted) throw abortError(opts.signal, 'listen');
  const nat = requireShmNative('shm:');
  const name = segmentName(url);
  const ring = createSegment(name, { ...geometryOf(opts), policy: checkPolicy(opts.policy) ?? 'block', mode: modeOf(opts.mode) });
  const writer = new RingWriter(ring, { waiter: futexWaiter(nat, ring.buffer), maxSyncRecords: syncRecords(opts.maxSyncRecords) });
  let unlinked = false;
  const unlink = () => {
    if (unlinked) return;
    unlinked = true;
    unlinkIfOurs(name, ring.id);
  };
  return new RingListener(new RingWriterConnection(writer, shmUrl(name), { address: name, pid: process.pid }, unlink), unlink);
}

/** Opens the segment as a subscriber. */
export async function connectShm(url: URL | string, opts: SubscriberOptions & { signal?: AbortSignal } = {}): Promise<RingReaderConnection> {
  if (opts.signal?.aborted) throw abortError(opts.signal, 'connect');
  const nat = requireShmNative('shm:');
  const name = segmentName(url);
  const ring = openSegment(name);
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
  return {
    schemes: ['shm'],
    availability: shmAvailability,
    async listen(url: URL, opts?: TransportOptions): Promise<Listener> {
      return listenShm(url, { ...defaults, ...(opts as ShmOptions) });
    },
    async connect(url: URL, opts?: TransportOptions): Promise<Connection> {
      return connectShm(url, { ...defaults, ...(opts as SubscriberOptions) });
    },
  };
}
