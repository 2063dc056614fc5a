/**
 * Batch-level publishing and subscribing over a ring, without the Connection layer:
 * {@link ShmPublisher} encodes batches straight into ring slots (or lends a slot to build a
 * message in place), {@link ShmSubscriber} decodes each record where it lies.
 *
 * Lifetimes: a batch from {@link ShmSubscriber.next} is a set of views into the shared memory.
 * It is valid until the next call to `next` (or the end of that loop iteration), unless
 * {@link ShmSubscriber.hold} was called for it: then until the hold is released (disposed).
 * Closing the subscriber (which its loop does when it ends) invalidates every batch, held or not.
 * The publisher never overwrites a held record; a subscriber that holds records for long holds
 * up a publisher that has come round the ring to them, whatever the policy.
 */
import * as A from 'apache-arrow';
import { BatchDecoder, decodeMessage, ErrorCode, invalid, QuiverError, RecordBatchEncoder } from '@quiver/core';
import type { DecoderOptions, EncodedMessage, EncoderOptions, FramerOptions } from '@quiver/core';
import { closedError } from './errors.js';
import type { RingListener } from './listener.js';
import { listenShm, connectShm } from './shm.js';
import { WorkerTransport, workerChannelOf, type WorkerChannel } from './worker.js';
import type { RecordMeta } from './ring/classify.js';
import type { RingReader, RingRecord } from './ring/reader.js';
import type { Loan, RingWriter, SubscriberInfo } from './ring/writer.js';
import type { ShmOptions, SubscriberOptions } from './options.js';

/** What an encoder's message is, as a ring record. */
export function metaOfEncoded(m: EncodedMessage): RecordMeta {
  switch (m.kind) {
    case 'schema':
      return { kind: 'schema' };
    case 'recordBatch':
      return { kind: 'batch' };
    case 'dictionaryBatch':
      return { kind: m.isDelta ? 'delta' : 'dictionary', dictionaryId: m.dictionaryId ?? 0 };
    default:
      if (m.bodyLength === 0 && m.metadataLength === 0 && m.byteLength <= 8) return { kind: 'eos' };
      throw new QuiverError(ErrorCode.INVALID_ARGUMENT, 'a message without a kind that is not the end-of-stream marker (raw file bytes?)');
  }
}

/**
 * Publishes record batches into a ring (`shm://name` or a worker channel) without the
 * Connection layer: each message is encoded straight into its slot (or built in place through
 * {@link ShmPublisher.loan}). Calls run one after another. Subscribers get the schema and current
 * dictionaries when they join, then every batch published after.
 */
export class ShmPublisher {
  #encoder: RecordBatchEncoder | null = null;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(
    private readonly listener: RingListener,
    private readonly encoderOptions: EncoderOptions,
  ) {}

  /**
   * Creates the segment `shm://name` (mode 0600 by default; a stale segment of a dead publisher
   * is replaced) and publishes into it. ERR_QUIVER_ADDRESS_IN_USE if a live publisher has it;
   * ERR_QUIVER_NATIVE_UNAVAILABLE without the addon.
   */
  static async create(url: string, opts: ShmOptions & EncoderOptions = {}): Promise<ShmPublisher> {
    return new ShmPublisher(await listenShm(url, opts), opts);
  }

  /** Publishes into a worker channel (made with createWorkerChannel). */
  static async overChannel(channel: WorkerChannel | SharedArrayBuffer, opts: EncoderOptions & { maxSyncRecords?: number } = {}): Promise<ShmPublisher> {
    const ch = channel instanceof SharedArrayBuffer ? workerChannelOf(channel) : channel;
    const t = new WorkerTransport();
    t.attach(ch.sab);
    return new ShmPublisher(await t.listen(new URL(ch.url), { maxSyncRecords: opts.maxSyncRecords }), opts);
  }

  /** `shm://name` or `worker://<id>`. */
  get url(): string {
    return this.listener.url;
  }

  /** Settles when the publisher is closed (never rejects). */
  get closed(): Promise<void> {
    return this.listener.closed;
  }

  /** The ring's memory. */
  get buffer(): SharedArrayBuffer {
    return this.listener.buffer;
  }

  /** The ring writer underneath. */
  get writer(): RingWriter {
    return this.listener.connection.writer;
  }

  /** Who is reading, with their lag and drop counts. */
  subscribers(): SubscriberInfo[] {
    return this.writer.subscribers();
  }

  /** Operations queued or running in #serial. */
  #pending = 0;

  #serial<T>(f: () => Promise<T>): Promise<T> {
    this.#pending++;
    const p = this.#chain.then(f);
    this.#chain = p.then(
      () => void this.#pending--,
      () => void this.#pending--,
    );
    return p;
  }

  /**
   * Publishes a batch, or every batch of a table: schema first (once), then changed
   * dictionaries, then the batch, each copied once into its slot. Resolves when they are in the
   * ring (waiting for room as the subscribers' policies say), not when anyone has read them.
   * ERR_QUIVER_CLOSED after close; ERR_QUIVER_MESSAGE_TOO_LARGE for a message over half the
   * ring; ERR_QUIVER_ABORTED when `signal` aborts the wait.
   */
  publish(data: A.RecordBatch | A.Table, opts: { signal?: AbortSignal } = {}): Promise<void> {
    // The usual case, synchronously: nothing queued before it and room in the ring for all of it.
    if (this.#pending === 0 && !this.#closed && !opts.signal?.aborted) {
      let messages: EncodedMessage[];
      let i = 0;
      try {
        this.#encoder ??= new RecordBatchEncoder(data.schema, 'stream', this.encoderOptions);
        messages = this.#encoder.write(data);
        while (i < messages.length && this.writer.tryWrite(metaOfEncoded(messages[i]!), messages[i]!.buffers)) i++;
      } catch (e) {
        return Promise.reject(e);
      }
      if (i === messages.length) return Promise.resolve();
      const rest = messages.slice(i);
      return this.#serial(async () => {
        for (const m of rest) await this.writer.write(metaOfEncoded(m), m.buffers, opts.signal);
      });
    }
    return this.#serial(async () => {
      if (this.#closed) throw closedError('the publisher');
      this.#encoder ??= new RecordBatchEncoder(data.schema, 'stream', this.encoderOptions);
      for (const m of this.#encoder.write(data)) await this.writer.write(metaOfEncoded(m), m.buffers, opts.signal);
    });
  }

  /** Publishes encoded messages (each one record). */
  send(messages: readonly EncodedMessage[], opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) throw closedError('the publisher');
      for (const m of messages) await this.writer.write(metaOfEncoded(m), m.buffers, opts.signal);
    });
  }

  /**
   * Lends a writable slot of `byteLength` bytes in the ring: build one framed message in
   * `loan.bytes`, then `loan.commit()` (or `abort()`). Nothing else is published meanwhile.
   */
  loan(byteLength: number, opts: { signal?: AbortSignal } = {}): Promise<Loan> {
    return this.#serial(async () => {
      if (this.#closed) throw closedError('the publisher');
      return this.writer.loan(byteLength, opts.signal);
    });
  }

  /** Ends the stream (end-of-stream marker) and the ring; subscribers finish reading. */
  end(): Promise<void> {
    return this.#serial(async () => {
      if (this.#encoder && !this.writer.isEnded) for (const m of this.#encoder.finish()) await this.writer.write(metaOfEncoded(m), m.buffers);
      this.writer.end();
    });
  }

  /** Ends (if not yet) and releases the ring (unlinks the segment). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return this.listener.closed;
    try {
      await this.end();
    } finally {
      this.#closed = true;
      await this.listener.connection.close();
      await this.listener.close();
    }
  }

  /** {@link ShmPublisher.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A hold on a batch's record: the batch stays valid until this is released. */
export interface BatchHold extends Disposable {
  /** Releases the record (the batch must not be used afterwards). Idempotent; `[Symbol.dispose]` does the same. */
  release(): void;
}

/**
 * Subscriber options, and the decoder's limits (core's `maxBufferBytes`, `maxDictionaryBytes`,
 * `maxDepth`, `maxFields`; a message is bounded by the ring: at most half its size).
 */
export interface ShmSubscriberOptions extends SubscriberOptions, DecoderOptions, Omit<FramerOptions, 'maxMessageBytes'> {}

/**
 * Reads record batches from a ring where they lie: each batch's buffers are views of the shared
 * memory, valid until the next call to `next` (or the next loop iteration) unless held with
 * {@link ShmSubscriber.hold}. The subscriber joins when it is opened: it gets the schema and
 * current dictionaries, then every batch published after.
 */
export class ShmSubscriber implements AsyncIterable<A.RecordBatch> {
  #decoder: BatchDecoder | null = null;
  #current: RingRecord | null = null;
  #ended = false;
  #resolveClosed!: () => void;
  /** Settles when the subscriber is closed (never rejects). */
  readonly closed: Promise<void> = new Promise((resolve) => (this.#resolveClosed = resolve));

  private constructor(
    private readonly reader: RingReader,
    private readonly opts: ShmSubscriberOptions,
  ) {}

  /**
   * Joins the segment `shm://name` as a subscriber. ERR_QUIVER_CONNECTION_FAILED when there is no
   * such segment; ERR_QUIVER_SHM_FULL when every slot is taken; ERR_QUIVER_SHM_NOT_READY,
   * ERR_QUIVER_SHM_VERSION for a segment being created or of another layout version.
   */
  static async open(url: string, opts: ShmSubscriberOptions = {}): Promise<ShmSubscriber> {
    return new ShmSubscriber((await connectShm(url, opts)).reader, opts);
  }

  /** Joins a worker channel as a subscriber. */
  static async overChannel(channel: WorkerChannel | SharedArrayBuffer, opts: ShmSubscriberOptions = {}): Promise<ShmSubscriber> {
    const ch = channel instanceof SharedArrayBuffer ? workerChannelOf(channel) : channel;
    const t = new WorkerTransport();
    t.attach(ch.sab);
    return new ShmSubscriber((await t.connect(new URL(ch.url), { policy: opts.policy, maxSyncRecords: opts.maxSyncRecords })).reader, opts);
  }

  /** The ring's memory (batches are views of it). */
  get buffer(): SharedArrayBuffer {
    return this.reader.ring.buffer;
  }

  /** The stream's schema, once its schema message has been read. */
  get schema(): A.Schema | null {
    return this.#decoder?.arrowSchema ?? null;
  }

  /** Records (messages of any kind) this subscriber lost to drop-oldest. */
  get drops(): number {
    return this.reader.drops;
  }

  /** Records read from the ring (preamble copies not counted): with `drops`, every record published since joining. */
  get delivered(): number {
    return this.reader.recordsDelivered;
  }

  /**
   * The next batch, or null when the stream ended. The previous batch's record is released
   * first, unless it is held.
   */
  async next(opts: { signal?: AbortSignal } = {}): Promise<A.RecordBatch | null> {
    let previous = this.#current;
    this.#current = null;
    for (;;) {
      if (this.#ended) {
        previous?.release();
        return null;
      }
      const rec = await this.reader.next(opts.signal, previous);
      previous = null;
      if (!rec) {
        this.#ended = true;
        return null;
      }
      const batch = this.#decode(rec);
      if (batch) {
        this.#current = rec;
        return batch;
      }
      rec.release();
    }
  }

  #decode(rec: RingRecord): A.RecordBatch | null {
    // Dictionaries are decoded as views of their bytes and outlive the record: copy them.
    const bytes = rec.kind === 'batch' || rec.synthetic ? rec.bytes : rec.bytes.slice();
    if (rec.kind === 'eos') return null; // the schema stays known; a new one replaces it
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 8 || dv.getUint32(0, true) !== 0xffffffff) throw invalid('a ring record that is not a framed Arrow message');
    const len = dv.getInt32(4, true);
    if (len <= 0 || len > bytes.byteLength - 8) throw invalid(`metadata length ${len} in a record of ${bytes.byteLength} bytes`);
    const message = decodeMessage(bytes.subarray(8, 8 + len), this.opts);
    if (8 + len + message.bodyLength > bytes.byteLength) throw invalid('a message body longer than its record');
    const body = bytes.subarray(8 + len, 8 + len + message.bodyLength);
    if (message.header.type === 'schema') {
      this.#decoder = new BatchDecoder(message.header.schema, message.version, this.opts);
      return null;
    }
    if (!this.#decoder) throw invalid(`a ${message.header.type} message before any schema`);
    return this.#decoder.apply(message, body);
  }

  /**
   * Keeps the batch last returned by `next` valid past the next call, until the hold is
   * released (`using hold = sub.hold()`, or `hold.release()`) or the subscriber closes.
   * ERR_QUIVER_INVALID_ARGUMENT when there is no current batch.
   */
  hold(): BatchHold {
    const rec = this.#current;
    if (!rec) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, 'no current batch to hold');
    this.#current = null;
    return { release: () => rec.release(), [Symbol.dispose]: () => rec.release() };
  }

  /** The batches until the end of stream, each valid until the next; closes the subscriber when the loop ends. */
  async *[Symbol.asyncIterator](): AsyncIterator<A.RecordBatch> {
    try {
      for (let b = await this.next(); b !== null; b = await this.next()) yield b;
    } finally {
      this.close();
    }
  }

  /**
   * Leaves the ring: every batch it handed out becomes invalid, held ones included (its slot is
   * freed, so the publisher no longer waits for them). The async iterator calls this when its loop
   * ends. Idempotent.
   */
  close(): void {
    this.#current = null;
    this.reader.close();
    this.#resolveClosed();
  }

  /** {@link ShmSubscriber.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
