/**
 * Pieces both transports share: waiting for a socket to connect or a server to listen (with an
 * AbortSignal), and the optional native addon.
 */
import type { Server, Socket } from 'node:net';
import type { NativeBinding } from '@quiver/native';
import { abortError, listenError, socketError } from './errors.js';

/**
 * Resolves when `socket` emits `event` ('connect', or 'secureConnect' for TLS); rejects with the
 * mapped error, or ERR_QUIVER_ABORTED (destroying the socket) when `signal` aborts first.
 */
export function whenConnected(socket: Socket, event: 'connect' | 'secureConnect', signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      socket.off(event, onReady);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      socket.destroy();
      reject(socketError(err, what));
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(abortError(signal!, what));
    };
    socket.once(event, onReady);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves when `server` listens at `address`; rejects with the mapped error. */
export function whenListening(server: Server, address: { path: string } | { host: string; port: number }, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(listenError(err, what));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // exclusive: a listener of ours never shares a port with a cluster sibling.
    server.listen({ ...address, exclusive: true });
  });
}

let nativeLoad: Promise<NativeBinding | undefined> | undefined;

/**
 * The @quiver/native binding, or `undefined` when the package is not installed or its addon
 * did not load. Never throws. The import runs once; the result is immutable.
 */
export function loadNative(): Promise<NativeBinding | undefined> {
  nativeLoad ??= import('@quiver/native').then(
    (m) => m.native,
    () => undefined,
  );
  return nativeLoad;
}

/** Why the addon is unavailable, for error messages. */
export async function nativeUnavailableReason(): Promise<string> {
  try {
    const m = await import('@quiver/native');
    return m.nativeLoadError?.message ?? 'unknown reason';
  } catch (e) {
    return `@quiver/native is not installed (${(e as Error).message})`;
  }
}

/** Peer credentials by SO_PEERCRED, or `undefined` (no addon, no fd, or the call failed). */
export function peerCred(native: NativeBinding | undefined, socket: Socket): { pid: number; uid: number; gid: number } | undefined {
  if (!native) return undefined;
  // net.Socket keeps its libuv handle in `_handle`; on POSIX the Pipe handle exposes `fd`.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    const c = native.getPeerCred(fd);
    return { pid: c.pid, uid: c.uid, gid: c.gid };
  } catch {
    return undefined;
  }
}
