/**
 * A core {@link Listener} over a listening `net.Server` or `tls.Server`. The transport decides
 * how an accepted socket becomes a {@link SocketConnection} (peer credentials, allow-lists);
 * this class owns the limits and the queue between accepting and the consumer taking.
 */
import type { Server, Socket } from 'node:net';
import type { Connection, Listener } from '@quiver/core';
import type { SocketConnection } from './connection.js';

/** Counters of a socket listener, for monitoring and tests. */
export interface ListenerStats {
  /** Connections yielded or waiting to be taken, since listening began. */
  accepted: number;
  /** Accepted and not yet closed (taken or waiting). */
  open: number;
  /** Waiting for the consumer to take them. */
  pending: number;
  /** Connections closed on arrival, by cause. */
  rejected: {
    /** `maxConnections` were already open. */
    maxConnections: number;
    /** `maxPending` were already waiting (the consumer is not taking them). */
    maxPending: number;
    /** Not in `allowUids`, or credentials unreadable. */
    peer: number;
    /** TLS handshake failed (bad or missing client certificate, protocol mismatch). */
    tls: number;
  };
  /** Errors the server reported while accepting (e.g. EMFILE); accepting goes on. */
  acceptErrors: number;
}

export interface SocketListenerInit {
  server: Server;
  url: string;
  maxConnections: number;
  maxPending: number;
  /** Makes a connection of an accepted socket, or returns `undefined` to refuse the peer. */
  admit(socket: Socket): SocketConnection | undefined;
  /** Runs once when the listener closes, after the server stopped accepting. */
  cleanup?(): void;
}

/** The listener both transports return. `stats()` is extra to the core contract. */
export class SocketListener implements Listener {
  readonly url: string;
  readonly closed: Promise<void>;

  readonly #init: SocketListenerInit;
  #resolveClosed!: () => void;
  #isClosed = false;
  #pending: SocketConnection[] = [];
  #waiters: Array<() => void> = [];
  readonly #open = new Set<Connection>();
  readonly #stats: ListenerStats = {
    accepted: 0,
    open: 0,
    pending: 0,
    rejected: { maxConnections: 0, maxPending: 0, peer: 0, tls: 0 },
    acceptErrors: 0,
  };

  /** @internal Made by the transports. */
  constructor(init: SocketListenerInit) {
    this.#init = init;
    this.url = init.url;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    init.server.on('error', () => void this.#stats.acceptErrors++);
    init.server.on('tlsClientError', () => void this.#stats.rejected.tls++);
  }

  /** Called by the transport for every accepted (and, for TLS, handshaken) socket. */
  offer(socket: Socket): void {
    const { maxConnections, maxPending } = this.#init;
    if (this.#isClosed) return void socket.destroy();
    if (this.#open.size >= maxConnections) {
      this.#stats.rejected.maxConnections++;
      return void socket.destroy();
    }
    if (this.#pending.length >= maxPending) {
      this.#stats.rejected.maxPending++;
      return void socket.destroy();
    }
    const conn = this.#init.admit(socket);
    if (!conn) {
      this.#stats.rejected.peer++;
      return void socket.destroy();
    }
    this.#stats.accepted++;
    this.#open.add(conn);
    void conn.closed.then(() => this.#open.delete(conn));
    this.#pending.push(conn);
    this.#wake();
  }

  /** The listener's counters now (a copy). */
  stats(): ListenerStats {
    return {
      ...this.#stats,
      open: this.#open.size,
      pending: this.#pending.length,
      rejected: { ...this.#stats.rejected },
    };
  }

  /**
   * Connections in order of arrival (TLS: after the handshake). Several iterators may share the
   * listener, each connection going to one; a `break` does not close the listener.
   */
  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    // Several iterators may share the listener; each connection goes to one of them. `return()`
    // (a `break`) stops taking but does not close the listener.
    return {
      next: async () => {
        for (;;) {
          const conn = this.#pending.shift();
          if (conn) return { done: false, value: conn };
          if (this.#isClosed) return { done: true, value: undefined };
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      },
      return: async () => ({ done: true, value: undefined }),
    };
  }

  /**
   * Stops accepting at once, closes connections nobody took, removes a Unix socket file it
   * created (if it is still its inode). Connections already taken stay open. Idempotent.
   */
  close(): Promise<void> {
    if (!this.#isClosed) {
      this.#isClosed = true;
      // Stops accepting now: the listening fd is closed synchronously (libuv uv_close). The
      // server's own 'close' event waits for every accepted socket to close; connections already
      // taken belong to their consumers, so we do not wait for it.
      this.#init.server.close();
      for (const c of this.#pending) void c.close();
      this.#pending = [];
      try {
        this.#init.cleanup?.();
      } finally {
        this.#resolveClosed();
        this.#wake();
      }
    }
    return this.closed;
  }

  /** `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const resolve of w) resolve();
  }
}
