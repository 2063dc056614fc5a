/**
 * The transport contract. A transport moves bytes between two processes (or threads) and knows
 * nothing of Arrow: core frames and parses the Arrow IPC messages it carries. Transports are
 * chosen by URL scheme (`unix:`, `tcp:`, `shm:`, `worker:`) on an explicit {@link TransportRegistry};
 * there is no module-level "current transport".
 */
import { ErrorCode, QuiverError } from '../errors.js';

/** Who is on the other end, as far as the transport can tell. */
export interface PeerInfo {
  /** A printable address: a socket path, `host:port`, a segment name, a thread id. */
  address: string;
  /** Peer credentials where the transport has them (Unix sockets with the native addon). */
  pid?: number;
  /** The peer's user id (Unix sockets with the native addon). */
  uid?: number;
  /** The peer's group id (Unix sockets with the native addon). */
  gid?: number;
}

/** Why a connection is no longer open. */
export type CloseReason =
  /** Closed by this side. */
  | { kind: 'local' }
  /** The peer ended its side cleanly. */
  | { kind: 'peer' }
  /** The connection failed (reset, broken pipe, TLS failure, limit exceeded...). */
  | { kind: 'error'; error: QuiverError };

/** Whether a connection is open, and if not, why ({@link CloseReason}). */
export type ConnectionStatus = { state: 'open' } | { state: 'closed'; reason: CloseReason };

/** Options of {@link Connection.send}. */
export interface SendOptions {
  /** Abandons the wait for the transport to accept the bytes. */
  signal?: AbortSignal;
}

/**
 * One bidirectional channel. Iterating it yields the received bytes in chunks of any size (core's
 * MessageFramer makes messages of them); the iterator ends when the peer ends, and throws a
 * QuiverError when the connection fails. Iteration pulls: a consumer that stops pulling stops the
 * transport from reading, which pushes back on the sender.
 */
export interface Connection extends AsyncIterable<Uint8Array> {
  /** The URL this connection was made to (or accepted on). */
  readonly url: string;
  /**
   * Optional fast path, for transports that can read straight into memory of the reader's
   * choosing (a socket whose reads land in a message body's own buffer, never copied). Reads
   * into `sink` until its `write` returns false, then stops reading (backpressure, as when
   * iteration stops pulling) and resolves true; resolves false when the input has ended; rejects
   * with the connection's error. Bytes received by iteration but not yet taken go to the sink
   * first. A reader uses either this or iteration from then on, not both.
   */
  readInto?(sink: ReadSink): Promise<boolean>;
  /** Who is on the other end, as far as the transport can tell. */
  readonly peer: PeerInfo;
  /**
   * Writes `buffers` in order as one gather write. Resolves when the transport has accepted
   * every byte (handed to the kernel, or placed in the ring); waits while it cannot.
   * Rejects with ERR_QUIVER_CLOSED after close, or the connection's error.
   */
  send(buffers: readonly Uint8Array[], opts?: SendOptions): Promise<void>;
  /** Ends this side's sending (the peer sees the end); receiving goes on. Idempotent. */
  end(): Promise<void>;
  /** Closes both directions and releases the resource. Idempotent. */
  close(): Promise<void>;
  /** Settles when the connection is closed, for whatever reason (never rejects). */
  readonly closed: Promise<CloseReason>;
  /** Open, or closed with its reason; synchronous. */
  status(): ConnectionStatus;
  /** {@link Connection.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Where a transport may put received bytes (see {@link Connection.readInto}). */
export interface ReadSink {
  /**
   * Memory the next read should go to, filled from its start (at most its length), or null for
   * the transport's own buffer; a view, if given, is not empty. Asked before every read (so it
   * must not throw).
   */
  readBuffer(): Uint8Array | null;
  /**
   * Received bytes, in order: a prefix of the last `readBuffer()` view when the read went there,
   * else other memory the sink may keep. Returns whether the sink wants more bytes now; never
   * throws (a malformed input shows on the sink's own next call).
   */
  write(chunk: Uint8Array): boolean;
}

/** Accepts connections on a bound address. Iterating yields each new connection. */
export interface Listener extends AsyncIterable<Connection> {
  /** The bound URL (with the actual port when port 0 was asked for). */
  readonly url: string;
  /** Stops accepting and releases the address (removes a Unix socket file it created). */
  close(): Promise<void>;
  /** Settles once the listener is closed. */
  readonly closed: Promise<void>;
  /** {@link Listener.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Transport-specific options pass through the registry untouched. */
export type TransportOptions = Record<string, unknown> & { signal?: AbortSignal };

/** Whether a transport works here; if not, why, with the error code using it would fail with. */
export type Availability = { available: true } | { available: false; reason: string; code: string };

/** What a transport package provides. */
export interface Transport {
  /** URL schemes served, without the colon: `['unix']`, `['tcp']`. */
  readonly schemes: readonly string[];
  /** Whether it works here (e.g. shm without the native addon does not). Never throws. */
  availability(): Availability;
  /** Connects to `url` (a URL of one of its schemes). */
  connect(url: URL, opts?: TransportOptions): Promise<Connection>;
  /** Listens on `url` (a URL of one of its schemes). */
  listen(url: URL, opts?: TransportOptions): Promise<Listener>;
}

/** One row of {@link TransportRegistry.capabilities}. */
export interface Capability {
  /** The URL scheme, without the colon. */
  scheme: string;
  /** Whether its transport works on this machine. */
  available: boolean;
  /** Why not, when it does not. */
  reason?: string;
}

/**
 * Maps URL schemes to transports. Create one, register the transports you use, pass it where a
 * URL is opened. Registering a scheme twice is an error (no silent override).
 */
export class TransportRegistry {
  private readonly bySchemes = new Map<string, Transport>();

  /** A registry of these transports (ERR_QUIVER_INVALID_ARGUMENT if two serve one scheme). */
  constructor(transports: Iterable<Transport> = []) {
    for (const t of transports) this.register(t);
  }

  /** Adds a transport; ERR_QUIVER_INVALID_ARGUMENT if one of its schemes is taken (nothing is added then). */
  register(transport: Transport): this {
    for (const s of transport.schemes) {
      if (this.bySchemes.has(s)) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `scheme '${s}:' is already registered`);
    }
    for (const s of transport.schemes) this.bySchemes.set(s, transport);
    return this;
  }

  /** Which schemes are registered and whether each works on this machine. */
  capabilities(): Capability[] {
    return [...this.bySchemes].map(([scheme, t]) => {
      const a = t.availability();
      return a.available ? { scheme, available: true } : { scheme, available: false, reason: a.reason };
    });
  }

  /** The transport for a URL; ERR_QUIVER_INVALID_ARGUMENT for an unknown scheme. */
  resolve(url: string | URL): { transport: Transport; url: URL } {
    let u: URL;
    try {
      u = typeof url === 'string' ? new URL(url) : url;
    } catch (cause) {
      throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `not a URL: ${String(url)}`, { cause });
    }
    const scheme = u.protocol.replace(/:$/, '');
    const transport = this.bySchemes.get(scheme);
    if (!transport) {
      const known = [...this.bySchemes.keys()].map((s) => `${s}:`).join(', ') || 'none';
      throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `no transport registered for '${scheme}:' (registered: ${known})`);
    }
    const a = transport.availability();
    if (!a.available) throw new QuiverError(a.code as ErrorCode, `'${scheme}:' is not available here: ${a.reason}`);
    return { transport, url: u };
  }

  /**
   * Connects through the transport of the URL's scheme. ERR_QUIVER_INVALID_ARGUMENT for an
   * unknown scheme or not a URL; the transport's availability code (e.g.
   * ERR_QUIVER_NATIVE_UNAVAILABLE) when it does not work here; then the transport's own errors.
   */
  connect(url: string | URL, opts?: TransportOptions): Promise<Connection> {
    const r = this.resolve(url);
    return r.transport.connect(r.url, opts);
  }

  /** Listens through the transport of the URL's scheme; errors as for {@link TransportRegistry.connect}. */
  listen(url: string | URL, opts?: TransportOptions): Promise<Listener> {
    const r = this.resolve(url);
    return r.transport.listen(r.url, opts);
  }
}
