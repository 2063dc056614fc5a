/**
 * The transports the network verbs (send, recv, pub, sub) can use, chosen by URL scheme. Built in
 * this one place: a new transport package is one more entry in the list.
 */
import { TransportRegistry, type TransportOptions } from '@quiver/core';
import { shmTransport } from '@quiver/transport-shm';
import { socketTransports } from '@quiver/transport-socket';

/**
 * A registry of every transport the CLI ships: `unix:`, `tcp:` and `shm:`. Without the native
 * addon `shm:` is listed as unavailable (capabilities) and using it fails with
 * ERR_QUIVER_NATIVE_UNAVAILABLE; the others are unaffected.
 */
export function createRegistry(): TransportRegistry {
  return new TransportRegistry([...socketTransports(), shmTransport()]);
}

/**
 * Transport options saying which way the data flows for this end, for transports whose listener
 * is not always the reader. A shared-memory ring's creator (listener) writes by default and its
 * joiners (connectors) read: `recv` (listens, reads) and `send` (connects, writes) need the
 * reverse. Socket transports are two-way and get no hint.
 */
export function directionFor(url: string, direction: 'read' | 'write'): TransportOptions {
  return isShm(url) ? { direction } : {};
}

/** Whether `url` is a shared-memory ring (`shm:`), whose roles differ from a socket's. */
export const isShm = (url: string): boolean => new URL(url).protocol === 'shm:';
