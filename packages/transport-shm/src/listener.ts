/**
 * The listening side of a ring transport. A ring has one writer, so a listener yields exactly
 * one connection, at once: the publisher's end ({@link RingWriterConnection}). Subscribers that
 * connect do not appear here; the publisher reaches all of them through that one connection (see
 * `subscribers()` on its writer for who is reading). Iteration ends when the listener closes.
 *
 * As with a socket listener, closing it releases the address (unlinks the segment's name, so no
 * new subscriber can join) and closes the connection only if it was never handed out; a
 * connection taken from the iterator is its taker's to close (that ends the ring).
 */
import type { Connection, Listener } from '@quiver/core';
import type { RingWriterConnection } from './connection.js';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

export class RingListener implements Listener {
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  #yielded = false;
  #closing: Promise<void> | undefined;
  #waiters: Array<() => void> = [];

  constructor(
    /** The publisher's end of the ring. */
    readonly connection: RingWriterConnection,
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

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return {
      next: () => {
        if (this.#closing) return Promise.resolve(DONE);
        if (!this.#yielded) {
          this.#yielded = true;
          return Promise.resolve({ done: false, value: this.connection });
        }
        return new Promise((resolve) => this.#waiters.push(() => resolve(DONE)));
      },
      return: async () => DONE,
    };
  }

  /** Releases the address; closes the connection unless it was handed out. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (this.#yielded ? Promise.resolve(this.release()) : this.connection.close()).then(() => {
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
      this.#resolveClosed();
    });
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
