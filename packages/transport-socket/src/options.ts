/**
 * The options of the socket transports, their defaults and their validation. Options given to
 * {@link unixTransport} / {@link tcpTransport} are defaults; options given to one `connect` or
 * `listen` call (through the registry's `TransportOptions`) override them key by key. Keys this
 * package does not know are ignored (the registry passes one options object to whichever
 * transport the URL picks); known keys with a wrong type are an ERR_QUIVER_INVALID_ARGUMENT.
 */
import { badArgument } from '@quiver/core';
import type { ListenerStats } from './listener.js';

/** Default of {@link SocketOptions.maxConnections}. */
export const DEFAULT_MAX_CONNECTIONS = 1024;

/** Options shared by both transports. */
export interface SocketOptions {
  /**
   * Bytes `send()` may leave queued in this process (Node's write queue) when it resolves.
   * `0`: `send()` resolves only once every byte was handed to the kernel, so `close()` right
   * after it loses nothing. A larger value lets a sender run ahead of the kernel by that much;
   * `close()` discards what is still queued (use `end()` for a graceful finish).
   * @default 0
   */
  highWaterMark?: number;
  /**
   * Listener only: how many accepted connections may be open at once (taken or waiting to be
   * taken). A connection beyond this is closed as soon as it arrives (counted in
   * {@link ListenerStats}; the peer sees its connection end or reset). Bounds the descriptors and
   * buffers a flood of clients can take; `Infinity` lifts the limit.
   * @default 1024
   */
  maxConnections?: number;
  /**
   * Listener only: accepted connections waiting for the consumer to take them by iterating the
   * listener. A connection arriving when this many wait is closed at once (and counted in
   * {@link ListenerStats}): accepting never grows an unbounded queue.
   * @default 128
   */
  maxPending?: number;
  /** Abandons a `connect` (or the setup of a `listen`): ERR_QUIVER_ABORTED. */
  signal?: AbortSignal;
}

/** Options of the `unix:` transport. */
export interface UnixOptions extends SocketOptions {
  /**
   * Listener only: permission bits of the socket file. Set before the file appears under its
   * name (see the README, "Security"), never widened by the umask.
   * @default 0o600
   */
  mode?: number;
  /**
   * Listener only: the user ids allowed to connect, checked with SO_PEERCRED on every accepted
   * connection; any other peer is closed at once. Needs `@quiver/native`: without it, `listen`
   * with this option fails with ERR_QUIVER_NATIVE_UNAVAILABLE.
   * @default undefined (whoever the file mode lets in)
   */
  allowUids?: readonly number[];
}

/** PEM text or bytes, or a list of them, as `node:tls` takes them. */
export type Pem = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

/** TLS for the `tcp:` transport: a listener becomes a TLS server, a connection a TLS client. */
export interface TlsOptions {
  /** Private key (PEM). Required to listen; with `cert`, a client certificate when connecting. */
  key?: Pem;
  /** Certificate chain (PEM). Required to listen; with `key`, a client certificate when connecting. */
  cert?: Pem;
  /**
   * Certificates to trust instead of the system store: the server's issuer on a client, the
   * client certificates' issuer on a server that asks for them.
   * @default Node's bundled root certificates
   */
  ca?: Pem;
  /**
   * Listener only: ask each client for a certificate.
   * @default false
   */
  requestCert?: boolean;
  /**
   * Reject a peer whose certificate does not verify against `ca`: on a client, a server that
   * fails verification or whose name does not match; on a listener with `requestCert`, a client
   * without a valid certificate (the handshake fails, the connection is never yielded).
   * @default true
   */
  rejectUnauthorized?: boolean;
  /**
   * Client only: the name sent as SNI and checked against the server certificate.
   * @default the URL's host when it is a name (an IP address is checked against the IP SANs)
   */
  servername?: string;
}

/** Options of the `tcp:` transport. */
export interface TcpOptions extends SocketOptions {
  /**
   * TCP_NODELAY: send small writes at once instead of waiting to coalesce them (Nagle).
   * Quiver already writes each message as one gather write, so there is nothing to gain from
   * Nagle's delay.
   * @default true
   */
  noDelay?: boolean;
  /** Wrap every connection in TLS. @default undefined (plain TCP) */
  tls?: TlsOptions;
}

/** Defaults filled in: what the implementation works with. */
export interface ResolvedSocketOptions {
  highWaterMark: number;
  maxConnections: number;
  maxPending: number;
  signal: AbortSignal | undefined;
}
export interface ResolvedUnixOptions extends ResolvedSocketOptions {
  mode: number;
  allowUids: ReadonlySet<number> | undefined;
}
export interface ResolvedTcpOptions extends ResolvedSocketOptions {
  noDelay: boolean;
  tls: TlsOptions | undefined;
}

type Bag = Record<string, unknown>;

function merged(defaults: object | undefined, call: object | undefined): Bag {
  if (defaults !== undefined && (typeof defaults !== 'object' || defaults === null)) throw badArgument('transport options must be an object');
  if (call !== undefined && (typeof call !== 'object' || call === null)) throw badArgument('connect/listen options must be an object');
  const out: Bag = {};
  for (const src of [defaults, call] as Array<Bag | undefined>) {
    if (src) for (const [k, v] of Object.entries(src)) if (v !== undefined) out[k] = v;
  }
  return out;
}

function count(o: Bag, key: string, dflt: number, min: number, allowInfinity: boolean): number {
  const v = o[key];
  if (v === undefined) return dflt;
  const ok = typeof v === 'number' && v >= min && (Number.isSafeInteger(v) || (allowInfinity && v === Infinity));
  if (!ok) throw badArgument(`option '${key}' must be an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${String(v)}`);
  return v;
}

function bool(o: Bag, key: string, dflt: boolean, where = ''): boolean {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw badArgument(`option '${where}${key}' must be a boolean, got ${String(v)}`);
  return v;
}

function common(o: Bag): ResolvedSocketOptions {
  const signal = o['signal'];
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw badArgument("option 'signal' must be an AbortSignal");
  return {
    highWaterMark: count(o, 'highWaterMark', 0, 0, false),
    maxConnections: count(o, 'maxConnections', DEFAULT_MAX_CONNECTIONS, 1, true),
    maxPending: count(o, 'maxPending', 128, 1, false),
    signal,
  };
}

/** Merges and validates `unix:` options. */
export function unixOptions(defaults: object | undefined, call: object | undefined): ResolvedUnixOptions {
  const o = merged(defaults, call);
  const mode = count(o, 'mode', 0o600, 0, false);
  if (mode > 0o777) throw badArgument(`option 'mode' must be permission bits (0 to 0o777), got 0o${mode.toString(8)}`);
  let allowUids: Set<number> | undefined;
  const uids = o['allowUids'];
  if (uids !== undefined) {
    if (!Array.isArray(uids) || !uids.every((u) => Number.isSafeInteger(u) && (u as number) >= 0)) {
      throw badArgument("option 'allowUids' must be an array of user ids (integers >= 0)");
    }
    allowUids = new Set(uids as number[]);
  }
  return { ...common(o), mode, allowUids };
}

const isPem = (v: unknown): boolean =>
  typeof v === 'string' || v instanceof Uint8Array || (Array.isArray(v) && v.every((x) => typeof x === 'string' || x instanceof Uint8Array));

/** Merges and validates `tcp:` options; `role` decides which TLS fields are required. */
export function tcpOptions(defaults: object | undefined, call: object | undefined, role: 'connect' | 'listen'): ResolvedTcpOptions {
  const o = merged(defaults, call);
  const noDelay = bool(o, 'noDelay', true);
  const t = o['tls'];
  let tls: TlsOptions | undefined;
  if (t !== undefined) {
    if (typeof t !== 'object' || t === null) throw badArgument("option 'tls' must be an object");
    const tb = t as Bag;
    for (const k of ['key', 'cert', 'ca'] as const) {
      if (tb[k] !== undefined && !isPem(tb[k])) throw badArgument(`option 'tls.${k}' must be PEM text or bytes (or a list of them)`);
    }
    if ((tb['key'] === undefined) !== (tb['cert'] === undefined)) throw badArgument("options 'tls.key' and 'tls.cert' go together");
    if (role === 'listen' && tb['key'] === undefined) throw badArgument("a TLS listener needs 'tls.key' and 'tls.cert'");
    bool(tb, 'requestCert', false, 'tls.');
    bool(tb, 'rejectUnauthorized', true, 'tls.');
    if (tb['servername'] !== undefined && typeof tb['servername'] !== 'string') throw badArgument("option 'tls.servername' must be a string");
    tls = tb as TlsOptions;
  }
  return { ...common(o), noDelay, tls };
}
