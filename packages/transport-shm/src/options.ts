/**
 * Options of the shm: and worker: rings, with their defaults, and their validation.
 */
import { ErrorCode, QuiverError } from '@quiver/core';
import { MAX_CAPACITY, MAX_SUBSCRIBERS, MIN_CAPACITY, nextPow2, type Policy, type RingGeometry } from './ring/layout.js';

/** Options of a new ring (the publisher's side: `listen`, `ShmPublisher.create`, worker channels). */
export interface RingOptions {
  /**
   * Bytes of the ring's data area, rounded up to a power of two (1 KiB to 1 GiB). One message
   * may take at most half of it. @default 67108864 (64 MiB)
   */
  size?: number;
  /** Subscribers that can read at once. @default 64 */
  maxSubscribers?: number;
  /**
   * Bytes kept for the schema and the current dictionaries, which every joining subscriber gets
   * first. @default max(64 KiB, size / 16)
   */
  preambleSize?: number;
  /** How subscribers that do not choose a policy are treated when they fall behind. @default 'block' */
  policy?: Policy;
  /** Records written in a row without waiting before yielding to the event loop. @default 64 */
  maxSyncRecords?: number;
}

/** Options of a POSIX shared-memory ring. */
export interface ShmOptions extends RingOptions {
  /** Permission bits of the segment (set exactly, whatever the umask). @default 0o600 */
  mode?: number;
}

/** Options of a subscriber (`connect`, `ShmSubscriber.open`). */
export interface SubscriberOptions {
  /** How the publisher treats this subscriber when it falls behind. @default the ring's policy */
  policy?: Policy;
  /** Records read in a row without waiting before yielding to the event loop. @default 64 */
  maxSyncRecords?: number;
}

/** Default data bytes of a ring: 64 MiB. */
export const DEFAULT_SIZE = 64 * 1024 * 1024;
/** Default subscriber slots of a ring. */
export const DEFAULT_MAX_SUBSCRIBERS = 64;

const bad = (m: string) => new QuiverError(ErrorCode.INVALID_ARGUMENT, m);

export function checkPolicy(p: unknown): Policy | undefined {
  if (p === undefined) return undefined;
  if (p !== 'block' && p !== 'drop-oldest' && p !== 'disconnect') throw bad(`policy must be 'block', 'drop-oldest' or 'disconnect', not ${String(p)}`);
  return p;
}

function count(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(`${name} must be an integer from ${min} to ${max}, not ${String(v)}`);
  return v;
}

export function geometryOf(o: RingOptions): RingGeometry {
  const size = count(o.size, 'size', 1, MAX_CAPACITY) ?? DEFAULT_SIZE;
  const capacity = Math.max(MIN_CAPACITY, nextPow2(size));
  const maxSubscribers = count(o.maxSubscribers, 'maxSubscribers', 1, MAX_SUBSCRIBERS) ?? DEFAULT_MAX_SUBSCRIBERS;
  const preambleCapacity = count(o.preambleSize, 'preambleSize', 1, MAX_CAPACITY) ?? Math.max(64 * 1024, capacity / 16);
  return { capacity, maxSubscribers, preambleCapacity };
}

export function syncRecords(v: unknown): number | undefined {
  return count(v, 'maxSyncRecords', 1, 1 << 20);
}

export function modeOf(v: unknown): number {
  return count(v, 'mode', 0, 0o777) ?? 0o600;
}
