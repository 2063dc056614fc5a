/**
 * The listening side of a ring transport. A ring has one writer, so a listener yields exactly
 * one connection, at once (or, with shm's `waitSubscribers`, once that many subscribers joined):
 * the publisher's end ({@link RingWriterConnection}). Subscribers that
 * connect do not appear here; the publisher reaches all of them through that one connection (see
 * `subscribers()` on its writer for who is reading). Iteration ends when the listener closes.
 *
 * As with a socket listener, closing it releases the address (unlinks the segment's name, so no
 * new subscriber can join) and closes the connection only if it was never handed out; a
 * connection taken from the iterator is its taker's to close (that ends the ring).
 */
import type { Connection, Listener } from '@quiver/core';
import type { RingReaderConnection, RingWriterConnection } from './connection.js';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** The listener of a ring's writing side: yields its one {@link RingWriterConnection}. */
export class RingListener implements Listener {
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  #yielded = false;
  #closing: Promise<void> | undefined;
  #waiters: Array<() => void> = [];
  #gated = false;
  readonly #stop = new AbortController();

  /** @internal Made by the transports. */
  constructor(
    /** The publisher's end of the ring. */
    readonly connection: RingWriterConnection,
    /** Releases the address (unlinks the segment name); idempotent. */
    private readonly release: () => void = () => {},
    /**
     * Resolves true when the connection may be handed out (e.g. once enough subscribers joined),
     * false when the listener closed first. @default at once
     */
    private readonly ready?: (stop: AbortSignal) => Promise<boolean>,
  ) {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get url(): string {
    return this.connection.url;
  }

  /** The ring's memory. */
  get buffer(): SharedArrayBuffer {
    return this.connection.buffer;
  }

  /** Yields the writing connection (once `waitSubscribers` joined, if set); then ends when the listener closes. */
  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return {
      next: async () => {
        if (this.#closing) return DONE;
        if (!this.#yielded && !this.#gated) {
          this.#gated = true;
          if (!this.ready || (await this.ready(this.#stop.signal))) {
            if (this.#closing) return DONE;
            this.#yielded = true;
            return { done: false, value: this.connection };
          }
          return DONE;
        }
        return new Promise((resolve) => this.#waiters.push(() => resolve(DONE)));
      },
      return: async () => DONE,
    };
  }

  /** Releases the address; closes the connection unless it was handed out. Idempotent. */
  close(): Promise<void> {
    this.#stop.abort();
    this.#closing ??= (this.#yielded ? Promise.resolve(this.release()) : this.connection.close()).then(() => {
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
      this.#resolveClosed();
    });
    return this.#closing;
  }

  /** `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The listening side of a ring whose creator READS (`listen(shm://name, { direction: 'read' })`):
 * the creator joins as a subscriber at once (so it gets everything from the first record), and
 * the listener yields that one reading connection once a writer has attached
 * (`connect(shm://name, { direction: 'write' })`). Closing the listener unlinks the segment name
 * and closes the connection only if it was never handed out, as for {@link RingListener}.
 */
export class RingReaderListener implements Listener {
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  #yielded = false;
  #closing: Promise<void> | undefined;
  readonly #stop = new AbortController();

  /** @internal Made by `listen(shm://..., { direction: 'read' })`. */
  constructor(
    /** The creator's reading end of the ring. */
    readonly connection: RingReaderConnection,
    /** Resolves once a writer attached (true), or false when the listener closed first. */
    private readonly attached: (stop: AbortSignal) => Promise<boolean>,
    /** Releases the address (unlinks the segment name); idempotent. */
    private readonly release: () => void = () => {},
  ) {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get url(): string {
    return this.connection.url;
  }

  /** The ring's memory. */
  get buffer(): SharedArrayBuffer {
    return this.connection.buffer;
  }

  /** Yields the reading connection once a writer has attached; then ends when the listener closes. */
  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return {
      next: async () => {
        if (this.#closing || this.#yielded) {
          if (!this.#closing) await this.closed;
          return DONE;
        }
        const ok = await this.attached(this.#stop.signal);
        if (!ok || this.#closing || this.#yielded) {
          if (!this.#closing) await this.closed;
          return DONE;
        }
        this.#yielded = true;
        return { done: false, value: this.connection };
      },
      return: async () => DONE,
    };
  }

  /** Releases the address; closes the connection unless it was handed out. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      if (!this.#yielded) await this.connection.close();
      this.release();
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  /** `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
