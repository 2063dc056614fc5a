/**
 * The ring over any SharedArrayBuffer: layout, the writer, the reader, and how they wait.
 * Used for POSIX shm segments (shm.ts) and worker channels (worker.ts) alike.
 */
export {
  formatRing, openRing, ringSizes, nextPow2, randomId, LAYOUT_VERSION, MAGIC, MIN_CAPACITY, MAX_CAPACITY, MAX_SUBSCRIBERS,
  type Policy, type RecordKind, type Ring, type RingGeometry, type RingSizes,
} from './layout.js';
export { RingWriter, Loan, type RingWriterOptions, type SubscriberInfo } from './writer.js';
export { RingReader, RingRecord, type RingReaderOptions } from './reader.js';
export { classify, type RecordMeta } from './classify.js';
export { atomicsWaiter, futexWaiter, type Waiter, type WaitResult } from './wait.js';
export { isAlive, selfIdentity, type ProcessIdentity } from './liveness.js';
