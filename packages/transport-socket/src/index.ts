/**
 * @quiver/transport-socket: Unix-socket and TCP (optionally TLS) transports for Quiver.
 *
 * A connection carries exactly the bytes given to `send`: no framing, no handshake of its own.
 * Quiver's messaging layer sends a plain Arrow IPC stream over it, so any program reading an
 * Arrow stream from a socket (pyarrow `pa.ipc.open_stream(sock.makefile('rb'))`) is a peer.
 *
 * ```ts
 * import { TransportRegistry } from '@quiver/core';
 * import { socketTransports } from '@quiver/transport-socket';
 * const registry = new TransportRegistry(socketTransports());
 * const listener = await registry.listen('unix:///run/app/quiver.sock');
 * ```
 *
 * @packageDocumentation
 */
import { badArgument, type Transport, type TransportRegistry } from '@quiver/core';
import type { TcpOptions, UnixOptions } from './options.js';
import { tcpTransport } from './tcp.js';
import { unixTransport } from './unix.js';

export { SocketConnection } from './connection.js';
export { SocketListener, type ListenerStats } from './listener.js';
export type { Pem, SocketOptions, TcpOptions, TlsOptions, UnixOptions } from './options.js';
export { DEFAULT_MAX_CONNECTIONS } from './options.js';
export { hostPort, tcpAddress, tcpTransport } from './tcp.js';
export { MAX_UNIX_PATH_BYTES, unixPath, unixTransport, unixUrl } from './unix.js';

/** Defaults for both transports of {@link socketTransports}. */
export interface SocketTransportsOptions {
  /** Defaults of the `unix:` transport. */
  unix?: UnixOptions;
  /** Defaults of the `tcp:` transport. */
  tcp?: TcpOptions;
}

/** Both transports, `unix:` then `tcp:`, for `new TransportRegistry(socketTransports())`. */
export function socketTransports(opts: SocketTransportsOptions = {}): Transport[] {
  return [unixTransport(opts.unix), tcpTransport(opts.tcp)];
}

/**
 * Registers `unix:` and `tcp:` on `registry`. ERR_QUIVER_INVALID_ARGUMENT if either scheme is
 * taken, in which case neither is registered.
 */
export function registerSocketTransports(registry: TransportRegistry, opts: SocketTransportsOptions = {}): TransportRegistry {
  const taken = new Set(registry.capabilities().map((c) => c.scheme));
  for (const s of ['unix', 'tcp']) if (taken.has(s)) throw badArgument(`scheme '${s}:' is already registered`);
  for (const t of socketTransports(opts)) registry.register(t);
  return registry;
}
