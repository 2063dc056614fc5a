/**
 * The two ends of a ring as core {@link Connection}s. A ring carries one direction only:
 *
 * - {@link RingWriterConnection} (what `listen` gives): `send` turns the bytes into one record per
 *   Arrow IPC message (see splitter.ts) and resolves when they are in the ring, waiting while it
 *   is full as the subscribers' policies say. Iterating it yields nothing (it ends at close).
 * - {@link RingReaderConnection} (what `connect` gives): iterating yields one chunk per record,
 *   exactly one whole message, so core decodes it without copying: a record batch chunk is a view
 *   into the shared memory, valid until the next chunk is requested (or the connection closes).
 *   Schema, dictionary and end-of-stream chunks are copies (decoded dictionaries keep views of
 *   their bytes and outlive the record). `send` accepts only a Quiver hello (what core's
 *   `subscribe` sends): its policy becomes this subscriber's; a topic other than the default
 *   ends the connection at once, as a publisher does for a topic it does not have.
 */
import { decodeHello, DEFAULT_TOPIC, ErrorCode, QuiverError } from '@quiver/core';
import type { CloseReason, Connection, ConnectionStatus, PeerInfo, SendOptions } from '@quiver/core';
import { abortError } from './errors.js';
import type { RingReader, RingRecord } from './ring/reader.js';
import type { RingWriter } from './ring/writer.js';
import { MessageSplitter } from './splitter.js';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

function asQuiverError(e: unknown, what: string): QuiverError {
  if (e instanceof QuiverError) return e;
  return new QuiverError(ErrorCode.IO, `${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/** `p`, or ERR_QUIVER_ABORTED when `signal` aborts first (the operation itself goes on). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

/** Shared by both ends: the closed promise, status, and iterators waiting for the close. */
abstract class RingConnection {
  readonly closed: Promise<CloseReason>;
  #resolveClosed!: (r: CloseReason) => void;
  protected reason: CloseReason | undefined;

  constructor(
    readonly url: string,
    readonly peer: PeerInfo,
    /** The ring's memory (batches read from it are views of this buffer). */
    readonly buffer: SharedArrayBuffer,
  ) {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  protected settle(reason: CloseReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.#resolveClosed(reason);
  }

  status(): ConnectionStatus {
    return this.reason ? { state: 'closed', reason: this.reason } : { state: 'open' };
  }

  abstract close(): Promise<void>;

  /** `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The publishing end of a ring as a core Connection (what `listen` yields, or
 * `connect(..., { direction: 'write' })` returns): `send` takes Arrow IPC stream bytes, one
 * record per message. `end()` and `close()` end the ring: subscribers read what is in it, then
 * see the end.
 */
export class RingWriterConnection extends RingConnection implements Connection {
  readonly #writer: RingWriter;
  readonly #splitter: MessageSplitter;
  readonly #onClose: () => void;
  #chain: Promise<void> = Promise.resolve();
  #error: QuiverError | undefined;
  #ended = false;
  #closing = false;
  #endPromise: Promise<void> | undefined;
  #closePromise: Promise<void> | undefined;
  #waiters: Array<() => void> = [];

  /** @internal Made by the transports. */
  constructor(writer: RingWriter, url: string, peer: PeerInfo, onClose: () => void) {
    super(url, peer, writer.ring.buffer);
    this.#writer = writer;
    this.#splitter = new MessageSplitter(writer);
    this.#onClose = onClose;
  }

  /** The ring writer, for loans and subscriber statistics. */
  get writer(): RingWriter {
    return this.#writer;
  }

  send(buffers: readonly Uint8Array[], opts?: SendOptions): Promise<void> {
    const refused = this.#error ?? (this.#closing || this.#ended ? new QuiverError(ErrorCode.CLOSED, 'the publisher connection is closed for sending') : undefined);
    if (refused) return Promise.reject(refused);
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal, 'send'));
    // Sends run one after another. Aborting stops the caller's wait only: bytes already handed
    // over are still written (so the ring never holds half a message).
    const op = this.#chain.then(() => {
      if (this.#error) throw this.#error;
      if (this.#closing) throw new QuiverError(ErrorCode.CLOSED, 'the publisher connection is closed');
      return this.#splitter.push(buffers);
    });
    this.#chain = op.then(undefined, (e: unknown) => this.#fail(e));
    return signal ? untilAborted(op, signal, 'send') : op;
  }

  #fail(e: unknown): void {
    if (this.#closing || this.#error) return;
    this.#error = asQuiverError(e, 'send');
    this.#splitter.discard();
    this.#writer.end();
    this.settle({ kind: 'error', error: this.#error });
    this.#onClose();
    this.#wake();
  }

  end(): Promise<void> {
    this.#ended = true;
    this.#endPromise ??= this.#chain.then(() => {
      // A message cut short by the end is not published.
      this.#splitter.discard();
      this.#writer.end();
    });
    return this.#endPromise;
  }

  /**
   * Ends the ring at once (a message cut short is not published; a send waiting for room fails
   * with ERR_QUIVER_CLOSED). Subscribers read what is in the ring, then see the end. Idempotent.
   */
  close(): Promise<void> {
    if (!this.#closePromise) {
      this.#closing = true;
      this.#writer.end(); // wakes subscribers, and fails a send waiting for room with CLOSED
      this.#closePromise = this.#chain.then(() => {
        this.#splitter.discard();
        this.#onClose();
        this.settle({ kind: 'local' });
        this.#wake();
      });
    }
    return this.#closePromise;
  }

  /** Yields nothing (a ring carries one direction); ends when the connection closes. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    // Nothing ever arrives at the publisher; iteration ends when the connection closes.
    return {
      next: () =>
        new Promise<IteratorResult<Uint8Array, undefined>>((resolve) => {
          if (this.reason) resolve(DONE);
          else this.#waiters.push(() => resolve(DONE));
        }),
      return: async () => DONE,
    };
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/**
 * A subscriber's end of a ring as a core Connection (what `connect` returns): iterating yields one
 * chunk per record. A record batch chunk is a view into the shared memory, valid until the next
 * chunk is requested (or the connection closes); other chunks are copies. `send` takes only a
 * Quiver hello.
 */
export class RingReaderConnection extends RingConnection implements Connection {
  readonly #reader: RingReader;
  readonly #onClose: () => void;
  #previous: RingRecord | null = null;
  #closing = false;
  #ended = false;
  #hello: Uint8Array | null = new Uint8Array(0);
  #wrongTopic = false;

  /** @internal Made by the transports. */
  constructor(reader: RingReader, url: string, peer: PeerInfo, onClose: () => void) {
    super(url, peer, reader.ring.buffer);
    this.#reader = reader;
    this.#onClose = onClose;
  }

  /** The ring reader (statistics: drops). */
  get reader(): RingReader {
    return this.#reader;
  }

  async send(buffers: readonly Uint8Array[], opts?: SendOptions): Promise<void> {
    if (this.#closing || this.#ended || this.reason) throw new QuiverError(ErrorCode.CLOSED, 'the subscriber connection is closed for sending');
    if (opts?.signal?.aborted) throw abortError(opts.signal, 'send');
    if (this.#hello === null) throw new QuiverError(ErrorCode.PROTOCOL, 'a shared-memory subscriber sends nothing but its hello');
    const total = buffers.reduce((n, b) => n + b.byteLength, this.#hello.byteLength);
    const joined = new Uint8Array(total);
    let at = 0;
    for (const b of [this.#hello, ...buffers]) {
      joined.set(b, at);
      at += b.byteLength;
    }
    const h = decodeHello(joined); // ERR_QUIVER_PROTOCOL for anything that is not a hello
    if (!h) {
      this.#hello = joined;
      return;
    }
    if (h.length !== joined.byteLength) throw new QuiverError(ErrorCode.PROTOCOL, 'bytes after the hello: a shared-memory subscriber sends nothing else');
    this.#hello = null;
    if (h.hello.topic !== DEFAULT_TOPIC) this.#wrongTopic = true;
    else if (h.hello.policy) this.#reader.setPolicy(h.hello.policy);
  }

  async end(): Promise<void> {
    this.#ended = true;
  }

  /** Leaves the ring (frees the subscriber slot); chunks handed out become invalid. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#previous = null;
    this.#reader.close();
    this.#onClose();
    this.settle({ kind: 'local' });
  }

  /**
   * One chunk per record, each exactly one framed Arrow message. A record batch chunk is a view
   * into the ring, valid until the next chunk is requested (or the connection closes); schema,
   * dictionary and end-of-stream chunks are copies. Ends after the end of stream (or when a hello
   * named another topic); throws ERR_QUIVER_SLOW_CONSUMER, ERR_QUIVER_CONNECTION_FAILED...
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.#next(),
      return: async () => {
        this.#previous?.release();
        this.#previous = null;
        return DONE;
      },
    };
  }

  async #next(): Promise<IteratorResult<Uint8Array, undefined>> {
    if (this.#closing || this.reason) return DONE;
    if (this.#wrongTopic) {
      this.#finish({ kind: 'peer' });
      return DONE;
    }
    let rec: RingRecord | null;
    const previous = this.#previous;
    this.#previous = null;
    try {
      rec = await this.#reader.next(undefined, previous);
    } catch (e) {
      const error = asQuiverError(e, 'read');
      this.#finish({ kind: 'error', error });
      throw error;
    }
    if (!rec) {
      this.#finish({ kind: this.#closing ? 'local' : 'peer' });
      return DONE;
    }
    if (rec.kind === 'batch' && !rec.synthetic) {
      this.#previous = rec;
      return { done: false, value: rec.bytes };
    }
    const bytes = rec.synthetic ? rec.bytes : rec.bytes.slice();
    rec.release();
    return { done: false, value: bytes };
  }

  #finish(reason: CloseReason): void {
    this.#reader.close();
    this.#onClose();
    this.settle(reason);
  }
}
