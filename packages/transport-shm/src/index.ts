/**
 * @quiver/transport-shm: the fastest path between processes and threads on one machine. Record
 * batches are written once into a shared-memory ring and read in place by every subscriber,
 * without a copy and without crossing the kernel:
 *
 * - `shm://name`: a ring in a POSIX shared-memory segment, between processes (needs
 *   @quiver/native, Linux);
 * - `worker://<id>`: the same ring in a SharedArrayBuffer, between worker threads.
 *
 * ```ts
 * import { TransportRegistry } from '@quiver/core';
 * import { shmTransport, workerTransport } from '@quiver/transport-shm';
 * const registry = new TransportRegistry([shmTransport(), workerTransport()]);
 * ```
 *
 * @packageDocumentation
 */
export { shmTransport, shmAvailability, listenShm, connectShm, type Direction, type DirectionOption } from './shm.js';
export {
  workerTransport, WorkerTransport, createWorkerChannel, workerChannelOf, releaseWorkerThread,
  type ReleasedThread, type WorkerChannel, type WorkerOptions,
} from './worker.js';
export { cleanupStaleSegments, segmentName, shmUrl, SHM_DIR } from './segment.js';
export { RingWriterConnection, RingReaderConnection } from './connection.js';
export { RingListener, RingReaderListener } from './listener.js';
export { DEFAULT_SIZE, DEFAULT_MAX_SUBSCRIBERS, type RingOptions, type ShmOptions, type SubscriberOptions } from './options.js';
export { ShmError, ShmErrorCode } from './errors.js';
export * from './ring/index.js';
export { ShmPublisher, ShmSubscriber, metaOfEncoded, type BatchHold, type ShmSubscriberOptions } from './api.js';
