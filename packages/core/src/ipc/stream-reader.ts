/**
 * Reading Arrow IPC streams: message by message from any byte source, as apache-arrow
 * RecordBatches whose buffers are views of the received bytes.
 */
import * as A from 'apache-arrow';
import { badArgument, ErrorCode, invalid, QuiverError } from '../errors.js';
import type { Schema } from '../format/types.js';
import { BatchDecoder, type DecoderOptions } from './decoder.js';
import { MessageFramer, type FramerOptions, type RawMessage } from './framing.js';
import type { ByteSource } from '../io/sources.js';
import type { Connection, ReadSink } from '../transport/transport.js';

/** A stream reader's limits (every one of {@link ReadLimits}), codecs, and how it ends. */
export interface StreamReaderOptions extends FramerOptions, DecoderOptions {
  /**
   * Release the source when this stream ends (at its end-of-stream marker, or on an error) by
   * returning its iterator: for a connection, that closes it. Off by default, since a source may
   * hold further streams (see {@link readStreams}). @default false
   */
  releaseAtEnd?: boolean;
  /**
   * Reuse the memory of a record batch's body for a later one, once the batch is done with: a
   * batch is then valid only until the next batch is asked for (the next `next()`, or the next
   * turn of a `for await` loop), as with a shared-memory subscriber. For a consumer that
   * processes each batch and moves on: large bodies are then not fresh allocations every time
   * (the page faults and garbage collections of hundreds of MiB a second), which is most of
   * what reading a stream of large batches costs in Node. Keep a batch past that (or collect a
   * Table) only with this off. Dictionaries are never reused. @default false
   */
  recycle?: boolean;
}

/**
 * Pulls messages from a byte source through a {@link MessageFramer}. Yields messages, `'eos'`
 * at each end-of-stream marker, and finishes when the source does. One plain async iterator, no
 * generator layers: a message the framer already holds is returned without awaiting the source.
 */
export function readMessages(source: ByteSource, opts: FramerOptions = {}): AsyncIterableIterator<RawMessage | 'eos'> {
  return new MessagePump(source, opts);
}

class MessagePump implements AsyncIterableIterator<RawMessage | 'eos'> {
  private readonly framer: MessageFramer;
  private it: Iterator<unknown> | AsyncIterator<unknown> | null = null;
  /** A connection's {@link Connection.readInto}, used instead of `it` when the source has one. */
  private fill: ((sink: ReadSink) => Promise<boolean>) | null = null;
  private ended = false;
  private finished = false;

  constructor(
    private readonly source: ByteSource,
    opts: FramerOptions,
  ) {
    this.framer = new MessageFramer(opts);
    if (source instanceof Uint8Array) {
      this.framer.push(source);
      this.ended = true;
    } else if (source instanceof ArrayBuffer) {
      this.framer.push(new Uint8Array(source));
      this.ended = true;
    } else if (source && (Symbol.asyncIterator in source || Symbol.iterator in source)) {
      const s = source as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
      this.it = s[Symbol.asyncIterator] ? s[Symbol.asyncIterator]!() : s[Symbol.iterator]!();
      const readInto = (source as Partial<Pick<Connection, 'readInto'>>).readInto;
      if (typeof readInto === 'function') this.fill = readInto.bind(source);
    } else {
      throw badArgument('expected a Uint8Array, an ArrayBuffer, or an (async) iterable of Uint8Array');
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<RawMessage | 'eos'>> {
    for (;;) {
      const m = this.poll();
      if (m !== null) return m === undefined ? { done: true, value: undefined } : { done: false, value: m };
      if (!(await this.more())) this.sourceEnded();
    }
  }

  /**
   * The next message if the framer holds one: a message or `'eos'`; `undefined` once the source
   * is finished (throws if it ended inside a message); null when more bytes must be read first
   * ({@link MessagePump.more}).
   */
  poll(): RawMessage | 'eos' | null | undefined {
    if (this.finished) return undefined;
    const m = this.framer.next();
    if (m !== null) return m;
    if (!this.ended) return null;
    this.finished = true;
    this.framer.finish();
    return undefined;
  }

  /**
   * Reads more of the source into the framer. Resolves false when the source has ended: the
   * caller then calls {@link MessagePump.sourceEnded}. The connection's own promise is returned
   * as it is (no async wrapper), so a reader waits one promise turn fewer per message.
   */
  more(): Promise<boolean> {
    // The framer is the sink: large bodies are read straight into their own buffers.
    return this.fill !== null ? this.fill(this.framer) : this.pull();
  }

  /** Called when {@link MessagePump.more} resolved false. */
  sourceEnded(): void {
    this.ended = true;
  }

  /** One chunk from the source's iterator into the framer; false at its end. */
  private async pull(): Promise<boolean> {
    const r = await this.it!.next();
    if (r.done) return false;
    const chunk = r.value;
    if (chunk instanceof Uint8Array) this.framer.push(chunk);
    else if (chunk instanceof ArrayBuffer) this.framer.push(new Uint8Array(chunk));
    else throw badArgument('a byte source yielded something other than bytes (is the stream in text mode?)');
    return true;
  }

  async return(): Promise<IteratorResult<RawMessage | 'eos'>> {
    this.finished = true;
    await this.it?.return?.();
    return { done: true, value: undefined };
  }

  /** A body this pump's framer handed out is no longer used: its memory may serve a later one. */
  recycle(body: Uint8Array): void {
    this.framer.recycle(body);
  }
}

/** One Arrow IPC stream: its schema, then its record batches. */
export class StreamReader implements AsyncIterable<A.RecordBatch> {
  private done = false;
  private readonly decoder: BatchDecoder;

  private constructor(
    private readonly messages: MessagePump,
    first: RawMessage,
    opts: StreamReaderOptions,
    /** Whether the source ended without an end-of-stream marker (allowed, as in pyarrow). */
    private onEnd: (sawEos: boolean) => void = () => {},
  ) {
    const h = first.message.header;
    if (h.type !== 'schema') throw invalid(`a stream must start with a schema message, not a ${h.type}`);
    this.decoder = new BatchDecoder(h.schema, first.message.version, opts);
    this.releaseAtEnd = opts.releaseAtEnd ?? false;
    this.recycle = opts.recycle ?? false;
  }

  private readonly releaseAtEnd: boolean;
  private readonly recycle: boolean;
  /** With `recycle`: the body of the batch last handed out, given back at the next call. */
  private lent: Uint8Array | null = null;

  /** Opens the first stream of `source`. Resolves once its schema has arrived. */
  static async open(source: ByteSource, opts: StreamReaderOptions = {}): Promise<StreamReader> {
    const messages = new MessagePump(source, opts);
    const r = await StreamReader.next(messages, opts);
    if (!r) throw invalid('the input holds no Arrow stream (it is empty)');
    return r;
  }

  /** @internal Opens the next stream of an already-started message iterator, or null at the end. */
  static async next(messages: MessagePump, opts: StreamReaderOptions, onEnd?: (sawEos: boolean) => void): Promise<StreamReader | null> {
    for (;;) {
      const r = await messages.next();
      if (r.done) return null;
      if (r.value === 'eos') continue; // an empty stream: EOS with no schema
      return new StreamReader(messages, r.value, opts, onEnd);
    }
  }

  /** The schema in Quiver's model (always available, whatever the types). */
  get ipcSchema(): Schema {
    return this.decoder.schema;
  }

  /** The schema as apache-arrow's Schema. Throws ERR_QUIVER_UNSUPPORTED_TYPE for types it lacks. */
  get schema(): A.Schema {
    return this.decoder.arrowSchema;
  }

  /** The dictionaries received so far, by id. */
  get dictionaries(): ReadonlyMap<number, A.Vector> {
    return this.decoder.dictionaries;
  }

  /**
   * How the stream ended, once it has: `'eos'` at its end-of-stream marker, `'closed'` when the
   * source ended cleanly between messages without one (pyarrow accepts that too), or the error
   * that ended it (a truncated message, a failed connection, bad data). `null` while open.
   */
  get end(): 'eos' | 'closed' | Error | null {
    return this.endState;
  }

  private endState: 'eos' | 'closed' | Error | null = null;

  /** The next record batch, or null at the end of this stream. */
  async next(): Promise<A.RecordBatch | null> {
    const messages = this.messages;
    if (this.lent !== null) {
      // The caller has moved on from the last batch (see `recycle`).
      messages.recycle(this.lent);
      this.lent = null;
    }
    while (!this.done) {
      let batch: A.RecordBatch | null;
      try {
        // A message the framer holds is taken at once; otherwise wait for the source (one
        // promise turn: `more()` is the connection's own promise).
        let m = messages.poll();
        while (m === null) {
          if (!(await messages.more())) messages.sourceEnded();
          m = messages.poll();
        }
        if (m === undefined || m === 'eos') {
          this.done = true;
          this.endState = m === undefined ? 'closed' : 'eos';
          this.onEnd(m === 'eos');
          if (this.releaseAtEnd) await messages.return();
          return null;
        }
        batch = this.decoder.apply(m.message, m.body);
        if (batch && this.recycle) this.lent = m.body;
      } catch (e) {
        this.done = true;
        this.endState = e as Error;
        if (this.releaseAtEnd) await messages.return();
        throw e;
      }
      if (batch) return batch;
    }
    return null;
  }

  /**
   * The remaining batches, one at a time. A batch's buffers are views of the bytes the source
   * gave (copied only when a message straddled chunks or was misaligned); over a shared-memory
   * ring they are valid only until the next batch is asked for (see @quiver/transport-shm).
   */
  [Symbol.asyncIterator](): AsyncIterator<A.RecordBatch> {
    // A plain iterator rather than an async generator: a generator's yield costs a few promise
    // turns per batch, which is a share of a small batch's round trip. `return()` (a `break`)
    // ends this iteration only, as a generator's would: the reader stays where it is.
    let stopped = false;
    return {
      next: async () => {
        const b = stopped ? null : await this.next();
        return b === null ? { done: true, value: undefined } : { done: false, value: b };
      },
      return: async () => {
        stopped = true;
        return { done: true, value: undefined };
      },
    };
  }

  /** Every remaining batch of this stream as a Table. */
  async readAll(): Promise<A.Table> {
    const batches: A.RecordBatch[] = [];
    for await (const b of this) batches.push(b);
    return new A.Table(this.schema, batches);
  }

  /** Stops reading; the underlying source is released. */
  async cancel(): Promise<void> {
    this.done = true;
    await this.messages.return();
  }
}

/**
 * Every stream in `source`, one after another (streams may be concatenated, each ending with its
 * end-of-stream marker). Read each reader to its end before asking for the next.
 */
export async function* readStreams(source: ByteSource, opts: StreamReaderOptions = {}): AsyncGenerator<StreamReader> {
  const messages = new MessagePump(source, opts);
  let finished = true;
  for (;;) {
    if (!finished) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, 'read each stream to its end before asking for the next');
    finished = false;
    const r = await StreamReader.next(messages, opts, () => (finished = true));
    if (!r) return;
    yield r;
  }
}

/** Reads the first stream of `source` into a Table. */
export async function readStreamTable(source: ByteSource, opts?: StreamReaderOptions): Promise<A.Table> {
  return (await StreamReader.open(source, opts)).readAll();
}
