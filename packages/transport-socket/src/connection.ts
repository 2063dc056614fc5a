/**
 * A core {@link Connection} over a connected `net.Socket` (Unix or TCP) or `tls.TLSSocket`.
 *
 * Sending: each `send` is one corked gather write (writev), the buffers passed to Node as they
 * are (no concatenation, no framing); only a send of several buffers totalling at most
 * COALESCE_BYTES is copied into one buffer and written with one write(), which costs less than
 * Node's per-buffer work on a gather write (the bytes on the wire are the same). It resolves when
 * the socket's queue in this process is at most `highWaterMark` bytes, else when its last buffer
 * has been handed to the kernel: a sender that awaits never builds a queue of its own.
 *
 * Receiving: the socket is read in flowing mode and paused as soon as a chunk arrives that no
 * consumer is waiting for, so at most a chunk or two sit here and the rest stays in the kernel,
 * whose full buffer stops the sender (real backpressure). Chunks are the buffers Node read,
 * handed on without copying.
 *
 * A plain (not TLS) socket is switched to Node's `onread` mode, in which the kernel writes each
 * read into a buffer we choose: for {@link SocketConnection.readInto}, the rest of a large
 * message body's own buffer (so the body is never copied, and no 64 KiB read buffer per read is
 * made and collected); otherwise a 256 KiB slab, handed out in views as Node's pool is. After a
 * body read in place, the next header is read alone (a read of at most 8 KiB), so the next large
 * body's bytes do not land in the slab first to be copied out. Node takes
 * `onread` only when a socket is made, so the connected (or accepted) socket's handle is moved
 * into a new `net.Socket` (see {@link adoptForDirectReads}).
 *
 * The socket is created with `allowHalfOpen: true`: the peer's end finishes our iteration but
 * leaves our sending side open until we `end()` or `close()`.
 */
import { Socket } from 'node:net';
import { ErrorCode, QuiverError } from '@quiver/core';
import type { CloseReason, Connection, ConnectionStatus, PeerInfo, ReadSink, SendOptions } from '@quiver/core';
import { abortError, socketError } from './errors.js';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A send of several buffers totalling at most this many bytes is copied into one buffer and
 * written once. Node's corked gather write costs a write() call and a queue entry per buffer, and
 * an Arrow message is a dozen small buffers (prefix, flatbuffer, padding, one or more per column);
 * below this size the copy is the cheaper of the two. Larger sends keep the caller's buffers.
 */
const COALESCE_BYTES = 16 * 1024;

/**
 * Sends the kernel takes at once resolve in a microtask, so a producer's `for (;;) await send()`
 * never lets its event loop run while the peer keeps up (on TCP loopback, with buffers of several
 * MiB, for as long as it streams: its timers and other sockets starve). Every this many sends in a
 * row that did not wait, one resolves on the next turn of the event loop instead (as the shm ring
 * does with `maxSyncRecords`).
 */
const MAX_SYNC_SENDS = 64;

/** Reads not going to a sink's buffer go to a slab of this size, carved into the chunks read. */
const SLAB_BYTES = 256 * 1024;
/** A new slab is started when less than this much of the current one is left. */
const SLAB_MIN_READ = 64 * 1024;
/**
 * In `onread` mode, reading goes on while at most this many received bytes wait for the reader:
 * stopping and restarting the socket's reads for every message costs two system calls each, and
 * delays the next message by a trip through the event loop. Past it, reading stops until the
 * reader pulls (backpressure: the rest stays in the kernel, then the sender stalls).
 */
const READ_AHEAD_BYTES = 256 * 1024;
/**
 * After a message whose body was read in place, the next read (the next message's header) takes
 * at most this much, and reading then waits for the reader: a large body tends to follow a large
 * body, and whatever of it a full-size read brings in with the header (up to the kernel's socket
 * buffer, some 200 KiB) must be copied into the body's own buffer. So at most this much is, for
 * one more read per message (pyarrow reads through an 8 KiB buffer the same way). A header that
 * does not fit carries on into the slab.
 */
const HEADER_READ_BYTES = 8 * 1024;

/** What every send that needs not wait returns. */
const RESOLVED: Promise<void> = Promise.resolve();

/** A send waiting for its last write's callback (number `seq` of the connection's sends). */
interface WriteWaiter {
  seq: number;
  resolve: () => void;
  reject: (e: QuiverError) => void;
  settled: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

/** Resolves `w`, or rejects it with `err`, unless it was already settled (by its abort signal). */
function settleWaiter(w: WriteWaiter, err?: QuiverError): void {
  if (w.settled) return;
  w.settled = true;
  if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
  if (err) w.reject(err);
  else w.resolve();
}

/** A slab's memory is not zeroed: only the bytes reads wrote into it are ever handed out. */
function slab(): Uint8Array {
  const b = Buffer.allocUnsafeSlow(SLAB_BYTES);
  return new Uint8Array(b.buffer, b.byteOffset, SLAB_BYTES);
}

/** The receiving end of a socket in `onread` mode: which memory each read goes to. */
class DirectReads {
  #slab = slab();
  #slabUsed = 0;
  /** Set while a readInto is in progress: asked for the memory of each read. */
  sink: ReadSink | null = null;
  /** Set while a readInto reads in place; then the next read is a header's (HEADER_READ_BYTES). */
  inPlace = false;
  /** The next read is only a header's: at most HEADER_READ_BYTES of the slab. */
  headerRead = false;
  /** Where a read's bytes go; returns false to stop reading. */
  deliver: (chunk: Uint8Array) => boolean = () => true;

  readonly onread = {
    buffer: (): Uint8Array => {
      // Node calls this from its read callback, where a throw would be uncaught: a sink that
      // fails (cannot allocate) gets the slab.
      let b: Uint8Array | null = null;
      try {
        b = this.sink?.readBuffer() ?? null;
      } catch {
        b = null;
      }
      if (b !== null && b.byteLength > 0) return b;
      if (SLAB_BYTES - this.#slabUsed < SLAB_MIN_READ) {
        this.#slab = slab();
        this.#slabUsed = 0;
      }
      return this.headerRead ? this.#slab.subarray(this.#slabUsed, this.#slabUsed + HEADER_READ_BYTES) : this.#slab.subarray(this.#slabUsed);
    },
    callback: (n: number, buf: Uint8Array): boolean => {
      // Bytes read into the slab stay there (they are handed out): the next read goes after them.
      if (buf.buffer === this.#slab.buffer) this.#slabUsed += n;
      else if (this.sink !== null) this.inPlace = true;
      return this.deliver(buf.subarray(0, n));
    },
  };
}

/** What {@link adoptForDirectReads} needs of Node's socket internals (stable since Node 12). */
interface SocketInternals {
  _handle?: { useUserBuffer?: unknown; reading?: boolean } | null;
  _server?: unknown;
  server?: unknown;
  encrypted?: boolean;
  _readableState?: { ended?: boolean };
}

/**
 * A new `net.Socket` in `onread` mode on the handle of `socket` (connected or accepted, not TLS),
 * or null when that cannot be done (also when `socket` holds bytes or an end it read already).
 * The accepted socket's place in its server's connection count passes to the new one.
 */
function adoptForDirectReads(socket: Socket, reads: DirectReads): Socket | null {
  const old = socket as Socket & SocketInternals;
  const handle = old._handle;
  if (old.encrypted || Object.getPrototypeOf(old) !== Socket.prototype || !handle || typeof handle.useUserBuffer !== 'function') return null;
  if (old.connecting || old.destroyed || old._readableState?.ended !== false || old.readableLength > 0 || old.listenerCount('data') > 0) return null;
  const fresh = new Socket({ handle, allowHalfOpen: true, readable: true, writable: true, onread: reads.onread } as ConstructorParameters<typeof Socket>[0]) as Socket & SocketInternals;
  fresh._server = old._server;
  fresh.server = old.server;
  old._server = null;
  old._handle = null;
  return fresh;
}

/**
 * The Connection of both socket transports: sends are gather writes that resolve when the bytes
 * reached the kernel (or `highWaterMark` allows), receiving stops reading when nobody pulls, and
 * received bytes are never copied: a plain socket reads large message bodies straight into their
 * own buffers ({@link SocketConnection.readInto}) and the rest into slabs handed out in views; a TLS
 * socket hands out Node's read buffers. See the module documentation and the README.
 */
export class SocketConnection implements Connection {
  readonly url: string;
  readonly peer: PeerInfo;
  readonly closed: Promise<CloseReason>;

  readonly #socket: Socket;
  readonly #highWaterMark: number;
  #resolveClosed!: (r: CloseReason) => void;
  #reason: CloseReason | undefined;
  /** The first error the socket reported, mapped. */
  #error: QuiverError | undefined;
  /** Who ended first: decides 'local' or 'peer' when the socket closes without an error. */
  #firstEnd: 'local' | 'peer' | undefined;
  #closing = false;
  #endPromise: Promise<void> | undefined;
  #closePromise: Promise<void> | undefined;
  /** Sends in a row that resolved without waiting (see MAX_SYNC_SENDS). */
  #syncSends = 0;
  /** Sends written so far, and of those whose last write's callback has run. */
  #writes = 0;
  #written = 0;
  /** Sends waiting for their last write's callback, in order. */
  readonly #writeWaiters: WriteWaiter[] = [];

  // Receive side.
  readonly #chunks: Uint8Array[] = [];
  /** Bytes in #chunks (kept in `onread` mode only). */
  #chunkBytes = 0;
  #readEnded = false;
  #waiters: Array<() => void> = [];
  /** The socket's reads, when it is in `onread` mode. */
  #reads: DirectReads | null = null;
  /** Whether we stopped reading (in `onread` mode a read's callback stops it, not pause()). */
  #paused = false;
  /** The pending readInto. */
  #fill: { resolve: (more: boolean) => void; reject: (e: QuiverError) => void } | null = null;

  /** Reads straight into a sink's memory; present for sockets in `onread` mode (not TLS). */
  readonly readInto?: (sink: ReadSink) => Promise<boolean>;

  /** @internal Made by the transports from a connected socket. */
  constructor(socket: Socket, url: string, peer: PeerInfo, highWaterMark: number) {
    const reads = new DirectReads();
    const fresh = adoptForDirectReads(socket, reads);
    if (fresh) {
      socket = fresh;
      this.#reads = reads;
      reads.deliver = (chunk) => this.#onRead(chunk);
      this.readInto = (sink) => this.#readInto(sink);
      // Flowing mode, so 'end' is emitted (no 'data' comes in this mode); reading starts now.
      socket.resume();
    }
    this.#socket = socket;
    this.url = url;
    this.peer = Object.freeze({ ...peer });
    this.#highWaterMark = highWaterMark;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));

    if (!fresh) {
      socket.on('data', (chunk: Buffer) => {
        this.#chunks.push(chunk);
        // Nobody is waiting: stop reading until someone pulls, leave the rest in the kernel.
        if (this.#waiters.length === 0) this.#pause();
        else this.#wake();
      });
    }
    socket.on('end', () => {
      this.#firstEnd ??= 'peer';
      this.#readEnded = true;
      this.#wake();
    });
    socket.on('error', (err) => {
      // A socket destroyed by close() reports nothing; anything here is the connection failing.
      if (!this.#closing) this.#error ??= socketError(err, `connection ${this.peer.address}`);
      this.#wake();
    });
    socket.on('close', () => this.#onClose());
    // Defensive: a socket that closed before we were attached would never emit 'close' again.
    if (socket.closed) queueMicrotask(() => this.#onClose());
  }

  /**
   * The reason: the connection's error if it failed; else who ended first (our end() or
   * close(), or the peer's end); else, closed without either end seen, by us or by the peer.
   */
  #onClose(): void {
    if (this.#reason) return;
    this.#readEnded = true;
    this.#failure();
    const reason: CloseReason = this.#error
      ? { kind: 'error', error: this.#error }
      : { kind: this.#firstEnd ?? (this.#closing ? 'local' : 'peer') };
    this.#reason = reason;
    this.#resolveClosed(reason);
    this.#wake();
  }

  status(): ConnectionStatus {
    return this.#reason ? { state: 'closed', reason: this.#reason } : { state: 'open' };
  }

  send(buffers: readonly Uint8Array[], opts?: SendOptions): Promise<void> {
    const signal = opts?.signal;
    const refused = this.#sendRefusal();
    if (refused) return Promise.reject(refused);
    if (signal?.aborted) return Promise.reject(abortError(signal, 'send'));
    let last = -1;
    let total = 0;
    let parts = 0;
    for (let i = 0; i < buffers.length; i++) {
      const n = buffers[i]!.byteLength;
      if (n > 0) {
        last = i;
        total += n;
        parts++;
      }
    }
    if (last < 0) return RESOLVED;

    // The last write's callback (#afterWrite) runs once every byte of this call reached the
    // kernel, or with an error when the socket failed or was destroyed first.
    const s = this.#socket;
    if (parts > 1 && total <= COALESCE_BYTES) {
      // Every byte of `one` is overwritten, so its uninitialised (pooled) memory never shows.
      const one = Buffer.allocUnsafe(total);
      let at = 0;
      for (let i = 0; i <= last; i++) {
        one.set(buffers[i]!, at);
        at += buffers[i]!.byteLength;
      }
      s.write(one, this.#afterWrite);
    } else {
      s.cork();
      for (let i = 0; i < last; i++) if (buffers[i]!.byteLength > 0) s.write(buffers[i]!);
      s.write(buffers[last]!, this.#afterWrite);
      // uncork() writes synchronously (writev); what the kernel did not take is queued.
      s.uncork();
    }
    const seq = ++this.#writes;
    // A write that failed at once (EPIPE) already counts as written: look for the error first,
    // or a tight send loop would never let Node emit it.
    const failed = this.#failure();
    if (failed) return Promise.reject(failed);
    if (s.writableLength <= this.#highWaterMark) {
      // Accepted: no promise, closure or waiter of its own (most sends of a keeping-up peer).
      if (++this.#syncSends < MAX_SYNC_SENDS) return RESOLVED;
      this.#syncSends = 0;
      return new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.#syncSends = 0;
    return new Promise<void>((resolve, reject) => {
      const w: WriteWaiter = { seq, resolve, reject, settled: false, signal, onAbort: null };
      if (signal) {
        // The bytes handed over stay queued: aborting only stops the wait.
        w.onAbort = () => settleWaiter(w, abortError(signal, 'send'));
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#writeWaiters.push(w);
    });
  }

  /**
   * The callback of every send's last write; Node calls them in the order of the writes, once
   * each. Settles the waiting send this write ends, if it still waits.
   */
  readonly #afterWrite = (err?: Error | null): void => {
    const done = ++this.#written;
    const waiters = this.#writeWaiters;
    while (waiters.length > 0 && waiters[0]!.seq <= done) {
      const w = waiters.shift()!;
      settleWaiter(w, err && w.seq === done ? (this.#sendRefusal() ?? socketError(err, 'send')) : undefined);
    }
  };

  /**
   * The connection's error. Node records a failed write on the stream synchronously but emits
   * 'error' on a later tick: `errored` sees it first.
   */
  #failure(): QuiverError | undefined {
    if (!this.#error && !this.#closing && this.#socket.errored) {
      this.#error = socketError(this.#socket.errored, `connection ${this.peer.address}`);
    }
    return this.#error;
  }

  /** Why a send cannot go ahead now, if it cannot. */
  #sendRefusal(): QuiverError | undefined {
    const failed = this.#failure();
    if (failed) return failed;
    if (this.#closing || this.#socket.destroyed) return new QuiverError(ErrorCode.CLOSED, 'the connection is closed');
    if (this.#endPromise) return new QuiverError(ErrorCode.CLOSED, 'the connection was ended for sending');
    return undefined;
  }

  end(): Promise<void> {
    this.#endPromise ??= new Promise<void>((resolve, reject) => {
      this.#firstEnd ??= 'local';
      const s = this.#socket;
      if (s.destroyed || s.writableFinished) return resolve();
      const done = () => {
        s.off('finish', done);
        s.off('close', done);
        // Queued bytes that never reached the kernel: the end did not happen as asked.
        if (this.#error && !s.writableFinished) reject(this.#error);
        else resolve();
      };
      s.on('finish', done);
      s.on('close', done);
      s.end();
    });
    return this.#endPromise;
  }

  close(): Promise<void> {
    if (!this.#closePromise) {
      this.#closing = true;
      this.#firstEnd ??= 'local';
      this.#chunks.length = 0;
      this.#chunkBytes = 0;
      this.#closePromise = this.closed.then(() => undefined);
      this.#socket.destroy();
      this.#wake();
    }
    return this.#closePromise;
  }

  /** `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * The received bytes as Node read them (views of Node's buffers, not copied; respect
   * `byteOffset`). Ends at the peer's end; throws the connection's error. A `break` stops taking
   * chunks (reading pauses) but does not close the connection.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    // `return()` (a `break` in for-await) stops taking chunks; the connection stays open and
    // reading stays paused until someone iterates again or closes it.
    return { next: () => this.#next(), return: async () => DONE };
  }

  async #next(): Promise<IteratorResult<Uint8Array, undefined>> {
    for (;;) {
      if (this.#closing) return DONE;
      const chunk = this.#chunks.shift();
      if (chunk) {
        this.#chunkBytes -= chunk.byteLength;
        return { done: false, value: chunk };
      }
      const failed = this.#failure();
      if (failed) throw failed;
      if (this.#readEnded) return DONE;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        this.#resume();
      });
    }
  }

  /** A read's bytes, in `onread` mode. Returns false to stop reading. */
  #onRead(chunk: Uint8Array): boolean {
    const fill = this.#fill;
    const reads = this.#reads!;
    if (fill !== null) {
      if (reads.sink!.write(chunk)) return true;
      this.#fill = null;
      // The next read goes to the slab: it starts a message, whose size is not known yet.
      // Reading goes on (read-ahead) until the reader pulls again or READ_AHEAD_BYTES wait;
      // after a body read in place, only the next header is read (see HEADER_READ_BYTES).
      reads.sink = null;
      reads.headerRead = reads.inPlace;
      reads.inPlace = false;
      fill.resolve(true);
      return true;
    }
    this.#chunks.push(chunk);
    this.#chunkBytes += chunk.byteLength;
    const headerRead = reads.headerRead;
    if (headerRead) reads.headerRead = false;
    if (this.#waiters.length > 0) {
      this.#wake();
      return true;
    }
    if (this.#chunkBytes < READ_AHEAD_BYTES && !headerRead) return true;
    // Enough waits for the reader: stop reading until it pulls, leave the rest in the kernel.
    this.#paused = true;
    return false;
  }

  #readInto(sink: ReadSink): Promise<boolean> {
    if (this.#fill) return Promise.reject(new QuiverError(ErrorCode.INVALID_ARGUMENT, 'readInto is already in progress'));
    // Bytes iteration received but nobody took go first.
    while (this.#chunks.length > 0) {
      const chunk = this.#chunks.shift()!;
      this.#chunkBytes -= chunk.byteLength;
      if (!sink.write(chunk)) return Promise.resolve(true);
    }
    if (this.#closing) return Promise.resolve(false);
    const failed = this.#failure();
    if (failed) return Promise.reject(failed);
    if (this.#readEnded) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      this.#fill = { resolve, reject };
      this.#reads!.sink = sink;
      this.#resume();
    });
  }

  #pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#socket.resume();
  }

  #wake(): void {
    const fill = this.#fill;
    if (fill !== null && (this.#readEnded || this.#closing || this.#failure())) {
      this.#fill = null;
      this.#reads!.sink = null;
      const failed = this.#closing ? undefined : this.#failure();
      if (failed) fill.reject(failed);
      else fill.resolve(false);
    }
    const w = this.#waiters;
    if (w.length === 0) return;
    this.#waiters = [];
    for (const resolve of w) resolve();
  }
}
