/**
 * Pipelines: producers connect and send one Arrow IPC stream each; a consumer listens and gets
 * every incoming stream with its schema and peer. The bytes on the wire are a plain Arrow stream,
 * so pyarrow's `ipc.new_stream(sock.makefile('wb'), schema)` is a producer and
 * `ipc.open_stream(sock.makefile('rb'))` a consumer, with no Quiver code on their side.
 */
import type * as A from 'apache-arrow';
import { ErrorCode, QuiverError } from '../errors.js';
import { RecordBatchEncoder, type EncoderOptions } from '../ipc/encoder.js';
import type { EncodedMessage } from '../ipc/framing.js';
import { StreamReader, type StreamReaderOptions } from '../ipc/stream-reader.js';
import type { Connection, Listener, PeerInfo, SendOptions, TransportOptions, TransportRegistry } from '../transport/transport.js';
import { AsyncQueue } from './queue.js';
import type { ReadLimits } from '../limits.js';

/** Default per-connection message limit on the receiving side: 256 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/**
 * What a receiving side reads a peer's stream with unless told otherwise: a message, and a
 * dictionary with its deltas, of at most DEFAULT_MAX_MESSAGE_BYTES each (so a peer cannot make
 * the process hold gigabytes); the other limits are the readers' defaults.
 */
export const PEER_LIMITS: Readonly<Pick<ReadLimits, 'maxMessageBytes' | 'maxDictionaryBytes'>> = Object.freeze({
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxDictionaryBytes: DEFAULT_MAX_MESSAGE_BYTES,
});

/** Every message's buffers, in order: one gather list for one send. */
export function gather(ms: EncodedMessage[]): Uint8Array[] {
  // One message (a batch whose dictionaries did not change): its own list, not a copy.
  if (ms.length === 1) return ms[0]!.buffers;
  // A loop rather than flatMap: this runs once per send, and flatMap cost ~20x more here.
  const out: Uint8Array[] = [];
  for (const m of ms) for (const b of m.buffers) out.push(b);
  return out;
}

/** Backoff of a reconnecting producer or subscriber: the delay doubles from `initialDelayMs` up to `maxDelayMs`. */
export interface ReconnectOptions {
  /** First delay before reconnecting. @default 50 */
  initialDelayMs?: number;
  /** Longest delay between attempts (it doubles up to this). @default 2000 */
  maxDelayMs?: number;
  /** Attempts before giving up with the last error. @default Infinity */
  maxAttempts?: number;
}

/** Options of {@link StreamProducer.connect}: encoding (compression...), transport options, reconnection. */
export interface ProducerOptions extends EncoderOptions {
  /** Options for the transport (TLS, ...). */
  transport?: TransportOptions;
  /** Reconnect when the connection fails, resending the schema and dictionaries. @default off */
  reconnect?: ReconnectOptions | boolean;
}

/** Waits `ms` (for reconnect backoff), or until `signal` aborts. */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new QuiverError(ErrorCode.ABORTED, 'aborted'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new QuiverError(ErrorCode.ABORTED, 'aborted'));
    }, { once: true });
  });
}

/**
 * Connects with retries and exponential backoff: up to `opts.maxAttempts` attempts, then the
 * last error. ERR_QUIVER_INVALID_ARGUMENT (a bad URL, an unknown scheme) is not retried;
 * `signal` (ERR_QUIVER_ABORTED) stops the waiting between attempts.
 */
export async function connectWithBackoff(
  registry: TransportRegistry,
  url: string,
  opts: ReconnectOptions,
  transport?: TransportOptions,
  signal?: AbortSignal,
): Promise<Connection> {
  let wait = opts.initialDelayMs ?? 50;
  const max = opts.maxDelayMs ?? 2000;
  const attempts = opts.maxAttempts ?? Infinity;
  for (let i = 1; ; i++) {
    try {
      return await registry.connect(url, transport);
    } catch (e) {
      if (i >= attempts || (e instanceof QuiverError && e.code === ErrorCode.INVALID_ARGUMENT)) throw e;
      await delay(wait, signal);
      wait = Math.min(max, wait * 2);
    }
  }
}

const reconnectOpts = (r: ReconnectOptions | boolean | undefined): ReconnectOptions | null =>
  r === true ? {} : r ? r : null;

/**
 * Sends one Arrow stream over a connection. `send` resolves when the transport accepted the
 * batch's bytes; with a stalled consumer it waits (backpressure), holding one batch at most.
 *
 * With `reconnect`, a send that fails (other than by its abort signal) closes the connection,
 * dials again with backoff, starts a new stream (schema and dictionaries first) and sends the
 * failed batch on it. Delivery across the break is at most once: batches the old connection
 * had accepted but the consumer had not read are lost with it.
 */
export class StreamProducer {
  private encoder: RecordBatchEncoder;
  private conn: Connection;
  private closedFlag = false;

  private constructor(
    conn: Connection,
    /** The stream's schema; every batch sent must have it (ERR_QUIVER_SCHEMA_MISMATCH). */
    readonly schema: A.Schema,
    private readonly opts: ProducerOptions,
    private readonly redial: (() => Promise<Connection>) | null,
  ) {
    this.conn = conn;
    this.encoder = new RecordBatchEncoder(schema, 'stream', opts);
  }

  /** Connects to `url` (resolved on `registry`) and sends the schema. */
  static async connect(registry: TransportRegistry, url: string, schema: A.Schema, opts: ProducerOptions = {}): Promise<StreamProducer> {
    const r = reconnectOpts(opts.reconnect);
    const dial = () => (r ? connectWithBackoff(registry, url, r, opts.transport) : registry.connect(url, opts.transport));
    const p = new StreamProducer(await dial(), schema, opts, r ? dial : null);
    await p.conn.send(gather(p.encoder.start()));
    return p;
  }

  /** A producer over a connection you already have. */
  static async over(conn: Connection, schema: A.Schema, opts: EncoderOptions = {}): Promise<StreamProducer> {
    const p = new StreamProducer(conn, schema, opts, null);
    await conn.send(gather(p.encoder.start()));
    return p;
  }

  /** Who the current connection goes to. */
  get peer(): PeerInfo {
    return this.conn.peer;
  }

  /**
   * Sends a batch or every batch of a table (dictionaries that changed go first). Resolves when
   * the transport accepted the bytes; waits while it cannot. ERR_QUIVER_CLOSED after
   * `close()`; ERR_QUIVER_ABORTED when `opts.signal` aborts the wait (the bytes handed over
   * still go); otherwise the connection's error, unless `reconnect` is on (see the class).
   */
  send(data: A.RecordBatch | A.Table, opts?: SendOptions): Promise<void> {
    // Not an async function: without `reconnect` the connection's own promise is returned, one
    // promise and one turn fewer per batch (a 1-row batch's round trip is mostly such costs).
    let buffers: Uint8Array[];
    try {
      if (this.closedFlag) throw new QuiverError(ErrorCode.CLOSED, 'the producer is closed');
      buffers = gather(this.encoder.write(data));
    } catch (e) {
      return Promise.reject(e);
    }
    let sent: Promise<void>;
    try {
      sent = this.conn.send(buffers, opts);
    } catch (e) {
      sent = Promise.reject(e);
    }
    return this.redial === null ? sent : sent.catch((e: unknown) => this.resend(e, data, opts));
  }

  /**
   * Reconnect: a new stream on a new connection, schema and dictionaries first. The batch whose
   * send failed is sent again on it (it was not accepted by the old connection).
   */
  private async resend(e: unknown, data: A.RecordBatch | A.Table, opts?: SendOptions): Promise<void> {
    if (e instanceof QuiverError && e.code === ErrorCode.ABORTED) throw e;
    await this.conn.close();
    this.conn = await this.redial!();
    this.encoder = new RecordBatchEncoder(this.schema, 'stream', this.opts);
    await this.conn.send(gather(this.encoder.write(data)), opts);
  }

  /** Ends the stream (end-of-stream marker), then the connection. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    try {
      if (this.conn.status().state === 'open') {
        await this.conn.send(gather(this.encoder.finish()));
        await this.conn.end();
      }
    } finally {
      await this.conn.close();
    }
  }

  /** {@link StreamProducer.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A connection as a byte source whose iterator, when returned early, closes the connection. */
export function closingSource(conn: Connection): AsyncIterable<Uint8Array> & Pick<Connection, 'readInto'> {
  return {
    // The connection's fast path, when it has one (the iterator below still closes it).
    readInto: conn.readInto ? (sink) => conn.readInto!(sink) : undefined,
    [Symbol.asyncIterator]() {
      const it = conn[Symbol.asyncIterator]();
      return {
        next: () => it.next(),
        async return() {
          await conn.close();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/** One producer's stream as a consumer sees it. */
export interface IncomingStream {
  /** The producer, as the transport sees it. */
  readonly peer: PeerInfo;
  /** Its connection (closed when the stream ends or fails, or when you close it). */
  readonly connection: Connection;
  /** The stream: `schema`, then batches; `reader.end` says how it ended (eos, closed, error). */
  readonly reader: StreamReader;
}

/** Options of {@link acceptStreams}: the readers' limits (`maxMessageBytes` defaults to 256 MiB here), and the backlog. */
export interface ConsumerOptions extends StreamReaderOptions {
  /** Streams whose schema has arrived but which nobody has taken yet. @default 64 */
  backlog?: number;
}

/**
 * Every stream producers open on `listener`, in the order their schemas arrive, each read
 * independently (a slow or silent producer does not hold up the others). A connection whose data
 * is malformed or over the message limit is closed; the others go on. Ending the iteration
 * (`break`, `return()`) closes the listener; streams already handed out stay yours.
 */
export async function* acceptStreams(listener: Listener, opts: ConsumerOptions = {}): AsyncGenerator<IncomingStream> {
  const readOpts: StreamReaderOptions = { ...PEER_LIMITS, ...opts, releaseAtEnd: true };
  const ready = new AsyncQueue<IncomingStream>(opts.backlog ?? 64);
  const open = async (conn: Connection) => {
    try {
      // One stream per connection: the connection closes when its stream ends or fails.
      const reader = await StreamReader.open(closingSource(conn), readOpts);
      await ready.push({ peer: conn.peer, connection: conn, reader });
    } catch {
      // No schema ever came, or it was malformed: this peer is dropped, nobody else is affected.
      await conn.close();
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) void open(conn);
  })();
  accepting.then(() => ready.end(), (e) => ready.end(e));
  try {
    for await (const s of ready) yield s;
  } finally {
    await listener.close();
  }
}
