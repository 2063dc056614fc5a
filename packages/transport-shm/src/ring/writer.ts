/**
 * The publishing side of a ring: the one writer. It appends records at the write cursor, keeps
 * the preamble, and when the ring is full deals with the subscribers that hold the space it
 * needs, each by its policy:
 * - `block`: waits until the subscriber reads (woken through the subscriber's FREED futex word);
 * - `drop-oldest`: skips the subscriber's oldest unread records, by CAS on its next-read cursor
 *   (so the subscriber's own claim and the skip never both take a record), counting each one;
 * - `disconnect`: marks the subscriber disconnected; it gets ERR_QUIVER_SLOW_CONSUMER.
 * Records a subscriber holds (has claimed and not released) are never overwritten, whatever its
 * policy: the writer waits for their release. While it waits it checks, every slice, whether the
 * subscribers it waits for are alive, and frees the slots of dead ones.
 *
 * Joining subscribers and the writer meet through TAIL (see {@link RingWriter.tryReserve}).
 */
import { ErrorCode, QuiverError } from '@quiver/core';
import { abortError, closedError } from '../errors.js';
import { classify, type RecordMeta } from './classify.js';
import {
  check, H, KIND, kindCode, POLICY, policyName, RECORD_HEADER, recordBytes, S, SLOT, slotWord,
  type Policy, type Ring,
} from './layout.js';
import { reclaimIfDead } from './slots.js';
import { PreambleMirror } from './preamble.js';
import { nextTurn, type Waiter } from './wait.js';

/** Options of a {@link RingWriter}. */
export interface RingWriterOptions {
  /** How to sleep and wake (futexes across processes, Atomics between threads). */
  waiter: Waiter;
  /** Records written in a row without waiting before yielding to the event loop. @default 64 */
  maxSyncRecords?: number;
  /** How long one wait lasts before liveness is checked again, in ms. @default 100 */
  sliceMs?: number;
}

/** One subscriber as the publisher sees it. */
export interface SubscriberInfo {
  /** Its slot in the ring's subscriber table. */
  slot: number;
  /** Its process id. */
  pid: number;
  /** How the writer treats it when it falls behind. */
  policy: Policy;
  /** `disconnected` once the `disconnect` policy cut it off (until it leaves). */
  state: 'active' | 'disconnected';
  /** Bytes published that it has not read yet. */
  lag: number;
  /** Records it lost under drop-oldest. */
  drops: number;
  /** Records it has read. */
  delivered: number;
}

/** A writable slot of the ring, reserved for one record: fill `bytes`, then commit. */
export class Loan {
  #done = false;
  /** @internal Made by {@link RingWriter.loan}. */
  constructor(
    private readonly writer: RingWriter,
    /** Position of the record (its header). */
    readonly position: number,
    /** The payload area, a view into the ring. */
    readonly bytes: Uint8Array,
  ) {}

  /**
   * Publishes the record. `meta` says what the message is (else it is read from the bytes, which
   * must then hold exactly one framed message); `byteLength` may shrink the loan.
   */
  commit(meta?: RecordMeta, byteLength = this.bytes.byteLength): void {
    if (this.#done) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, 'this loan was already committed or aborted');
    if (!Number.isInteger(byteLength) || byteLength < 0 || byteLength > this.bytes.byteLength) {
      throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `byteLength ${byteLength} is outside the loan of ${this.bytes.byteLength}`);
    }
    const m = meta ?? classify(this.bytes.subarray(0, byteLength));
    this.#done = true;
    this.writer.commit(this, m, byteLength);
  }

  /** Gives the slot back unpublished. */
  abort(): void {
    if (this.#done) return;
    this.#done = true;
    this.writer.abortLoan(this);
  }

  /** Whether it was committed or aborted. */
  get settled(): boolean {
    return this.#done;
  }

  /** Aborts the loan unless it was committed, so `using loan = ...` never leaves a slot reserved. */
  [Symbol.dispose](): void {
    this.abort();
  }
}

/**
 * The one writer of a ring: appends records, keeps the preamble (schema and current
 * dictionaries) for joiners, and applies each subscriber's policy when the ring is full.
 */
export class RingWriter {
  /** The ring it writes. */
  readonly ring: Ring;
  private readonly words: Int32Array;
  private readonly waiter: Waiter;
  private readonly cap: number;
  private readonly maxSync: number;
  private readonly sliceMs: number;
  private w: number;
  private tail: number;
  private records: number;
  private epoch: number;
  /** Lowest subscriber bound at the last scan; valid while JOINS is unchanged. */
  private cachedMin: number | null = null;
  private lastJoins = -1;
  private current: Loan | null = null;
  private sync = 0;
  private readonly mirror = new PreambleMirror();
  private ended = false;
  private readonly closing = new AbortController();

  /** Becomes the ring's writer; ERR_QUIVER_ADDRESS_IN_USE if it has (or had) one. */
  constructor(ring: Ring, opts: RingWriterOptions) {
    this.ring = ring;
    this.words = ring.words;
    this.waiter = opts.waiter;
    this.cap = ring.sizes.capacity;
    this.maxSync = opts.maxSyncRecords ?? 64;
    this.sliceMs = opts.sliceMs ?? 100;
    const w = this.words;
    this.w = Atomics.load(w, H.WRITE) >>> 0;
    this.tail = Atomics.load(w, H.TAIL) >>> 0;
    this.records = Atomics.load(w, H.RECORDS) >>> 0;
    this.epoch = Atomics.load(w, H.EPOCH) >>> 0;
    // One writer per ring, ever: the first to move PUB_STATE from 0 (none yet) to 2 (attached).
    if (Atomics.compareExchange(w, H.PUB_STATE, 0, 2) !== 0 || this.w !== 0) {
      throw new QuiverError(ErrorCode.ADDRESS_IN_USE, 'this ring already has (or had) a publisher');
    }
  }

  /** Whether end() or close() was called. */
  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Reserves room for a record of `byteLength` payload bytes, waiting (by the subscribers'
   * policies) while the ring is full. One loan at a time.
   */
  async loan(byteLength: number, signal?: AbortSignal): Promise<Loan> {
    if (this.ended) throw closedError('the publisher');
    if (this.current) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, 'a loan is outstanding: commit or abort it first');
    if (!Number.isInteger(byteLength) || byteLength < 0) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `bad loan size ${byteLength}`);
    const size = recordBytes(byteLength);
    if (size > this.ring.maxRecord) {
      throw new QuiverError(ErrorCode.MESSAGE_TOO_LARGE, `a record of ${byteLength} bytes exceeds the ring's limit of ${this.ring.maxRecord - RECORD_HEADER} (half its size)`);
    }
    if (signal?.aborted) throw abortError(signal, 'loan');
    // A placeholder holds the one-loan rule while waiting for room.
    const placeholder = new Loan(this, -1, new Uint8Array(0));
    this.current = placeholder;
    let start: number;
    try {
      start = await this.reserve(size, signal);
    } finally {
      this.current = null;
    }
    if (this.ended) throw closedError('the publisher');
    const at = this.ring.sizes.dataOffset + (start & this.ring.mask) + RECORD_HEADER;
    const loan = new Loan(this, start, new Uint8Array(this.ring.buffer, at, byteLength));
    this.current = loan;
    return loan;
  }

  /**
   * Publishes one message given as a gather list if there is room for it now, without waiting
   * or yielding: true when it was written. False (nothing written) when {@link write} must do it
   * instead: the ring is full, a loan is outstanding, the publisher ended, the record is too
   * large, or {@link RingWriterOptions.maxSyncRecords} records went in a row (time to let the event
   * loop run). The synchronous path of {@link write}, which costs no promise per message.
   */
  tryWrite(meta: RecordMeta, buffers: readonly Uint8Array[]): boolean {
    if (this.ended || this.current !== null || this.sync + 1 >= this.maxSync) return false;
    let n = 0;
    for (const b of buffers) n += b.byteLength;
    const size = recordBytes(n);
    if (size > this.ring.maxRecord) return false;
    const start = this.tryReserve(size);
    if (start < 0) return false;
    this.sync++;
    const at = this.ring.sizes.dataOffset + (start & this.ring.mask) + RECORD_HEADER;
    const loan = new Loan(this, start, new Uint8Array(this.ring.buffer, at, n));
    this.current = loan;
    let o = 0;
    for (const b of buffers) {
      loan.bytes.set(b, o);
      o += b.byteLength;
    }
    try {
      loan.commit(meta);
    } catch (e) {
      loan.abort();
      throw e;
    }
    return true;
  }

  /** Publishes one message given as a gather list (copied once, straight into the slot). */
  async write(meta: RecordMeta, buffers: readonly Uint8Array[], signal?: AbortSignal): Promise<void> {
    if (!signal?.aborted && this.tryWrite(meta, buffers)) return;
    let n = 0;
    for (const b of buffers) n += b.byteLength;
    const loan = await this.loan(n, signal);
    let at = 0;
    for (const b of buffers) {
      loan.bytes.set(b, at);
      at += b.byteLength;
    }
    try {
      loan.commit(meta);
    } catch (e) {
      loan.abort();
      throw e;
    }
  }

  /** @internal */
  abortLoan(loan: Loan): void {
    if (this.current === loan) this.current = null;
  }

  /** @internal Publishes a loan's record. */
  commit(loan: Loan, meta: RecordMeta, byteLength: number): void {
    if (this.ended) throw closedError('the publisher');
    if (this.current !== loan) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, 'this loan is not the outstanding one');
    this.current = null;
    const w = this.words;
    const start = loan.position;
    const payload = loan.bytes.subarray(0, byteLength);
    const nonBatch = meta.kind !== 'batch';
    // Checked before anything is published: a preamble overflow leaves the ring as it was.
    const planned = this.mirror.plan(meta.kind, meta.dictionaryId ?? 0, payload, this.ring.sizes.preambleCapacity);
    // A pad fills the rest of the lap when the record did not fit before the end of the data
    // area (under 16 bytes left: the reader skips them without a header).
    const W = this.w;
    if (start !== W && this.cap - (W & this.ring.mask) >= RECORD_HEADER) {
      this.header(W, ((start - W) >>> 0) - RECORD_HEADER, KIND.PAD);
    }
    this.header(start, byteLength, kindCode(meta.kind));
    const end = (start + recordBytes(byteLength)) >>> 0;
    if (nonBatch) {
      Atomics.add(w, H.PRE_SEQ, 1); // odd: joiners retry
      this.mirror.apply(meta.kind, planned);
      const area = new Uint8Array(this.ring.buffer, this.ring.sizes.preambleOffset, this.ring.sizes.preambleCapacity);
      const used = this.mirror.write(area);
      Atomics.store(w, H.PRE_LENGTH, used);
      Atomics.store(w, H.PRE_COUNT, this.mirror.entries.length);
      Atomics.store(w, H.STREAM_GEN, this.mirror.generation);
      Atomics.store(w, H.PRE_ENDED, this.mirror.ended ? 1 : 0);
      this.epoch = (this.epoch + 1) >>> 0;
      Atomics.store(w, H.EPOCH, this.epoch | 0);
    }
    this.records = (this.records + 1) >>> 0;
    Atomics.store(w, H.RECORDS, this.records | 0);
    // The release point: everything above is visible to whoever reads this cursor.
    this.w = end;
    Atomics.store(w, H.WRITE, end | 0);
    if (nonBatch) Atomics.add(w, H.PRE_SEQ, 1);
    Atomics.add(w, H.PUBLISHED, 1);
    if (Atomics.load(w, H.SLEEPERS) > 0) this.waiter.wake(H.PUBLISHED);
  }

  /** Writes a record header at `pos`. */
  private header(pos: number, len: number, kind: number): void {
    const hw = (this.ring.sizes.dataOffset + (pos & this.ring.mask)) >> 2;
    const w = this.words;
    w[hw] = len;
    w[hw + 1] = (kind | (check(pos) << 8)) | 0;
    w[hw + 2] = this.records | 0;
    w[hw + 3] = this.epoch | 0;
  }

  /** Waits for room for `size` bytes; resolves the record's position. */
  private async reserve(size: number, signal: AbortSignal | undefined): Promise<number> {
    if (++this.sync >= this.maxSync) {
      this.sync = 0;
      await nextTurn();
    }
    let start = this.tryReserve(size);
    if (start >= 0) return start;
    this.sync = 0;
    const w = this.words;
    try {
      for (;;) {
        if (this.ended) throw closedError('the publisher');
        if (signal?.aborted) throw abortError(signal, 'send');
        const blocker = this.blocker;
        // PUB_WAITING before FREED before the re-check: a subscriber that frees space after our
        // check sees PUB_WAITING and bumps FREED, so the wait below cannot miss it.
        Atomics.store(w, H.PUB_WAITING, 1);
        const freed = Atomics.load(w, slotWord(blocker, S.FREED));
        start = this.tryReserve(size);
        if (start >= 0) return start;
        const r = await this.waitOr(this.waiter.wait(slotWord(blocker, S.FREED), freed, this.sliceMs), signal);
        // A whole slice without progress: is the subscriber we wait for still alive?
        if (r === 'timed-out') this.reclaimDead();
        start = this.tryReserve(size);
        if (start >= 0) return start;
      }
    } finally {
      Atomics.store(w, H.PUB_WAITING, 0);
    }
  }

  private waitOr(p: Promise<string>, signal: AbortSignal | undefined): Promise<string> {
    const signals = signal ? [signal, this.closing.signal] : [this.closing.signal];
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        cleanup();
        if (this.ended) reject(closedError('the publisher'));
        else reject(abortError(signal!, 'send'));
      };
      const cleanup = () => signals.forEach((s) => s.removeEventListener('abort', onAbort));
      signals.forEach((s) => s.addEventListener('abort', onAbort, { once: true }));
      p.then(
        (v) => (cleanup(), resolve(v)),
        (e: unknown) => (cleanup(), reject(e)),
      );
    });
  }

  /** Slot that stopped the last tryReserve. */
  private blocker = 0;

  /**
   * The start of a record of `size` bytes if the space is free now, else -1 (and `blocker`).
   *
   * Writing [start, end) destroys what lies cap bytes earlier, so every subscriber's bound (its
   * next-read cursor, or its oldest held record) must be at or past `needed = end - cap`. The
   * writer stores TAIL = needed before it looks at the subscriber table; a joiner stores its
   * slot and then reads TAIL. Sequentially consistent atomics make one of the two see the
   * other: the writer sees the joiner's bound, or the joiner sees TAIL past its start and
   * re-registers further on. JOINS lets the writer skip the table scan while no one joined and
   * `needed` stays below the lowest bound it saw (bounds only grow).
   */
  private tryReserve(size: number): number {
    const W = this.w;
    const rem = this.cap - (W & this.ring.mask);
    const start = rem < size ? (W + rem) >>> 0 : W;
    const end = (start + size) >>> 0;
    const needed = (end - this.cap) >>> 0;
    if (((needed - this.tail) | 0) > 0) {
      this.tail = needed;
      Atomics.store(this.words, H.TAIL, needed | 0);
    }
    const joins = Atomics.load(this.words, H.JOINS);
    if (joins === this.lastJoins && this.cachedMin !== null && ((this.cachedMin - needed) | 0) >= 0) return start;
    this.lastJoins = joins;
    const min = this.scan(needed);
    if (min === null) return -1;
    this.cachedMin = min;
    return start;
  }

  /** The lowest bound of all subscribers after applying policies, or null when one blocks `needed`. */
  private scan(needed: number): number | null {
    const w = this.words;
    let min = this.w;
    let woke = false;
    for (let i = 0; i < this.ring.sizes.maxSubscribers; i++) {
      const st = Atomics.load(w, slotWord(i, S.STATE));
      let b = this.bound(i, st);
      if (b === null) continue;
      if (((b - needed) | 0) < 0 && (st & 15) === SLOT.ACTIVE) {
        const policy = Atomics.load(w, slotWord(i, S.POLICY));
        if (policy === POLICY['drop-oldest']) {
          this.skip(i, needed);
        } else if (policy === POLICY.disconnect) {
          const disconnected = (st & ~15) | SLOT.DISCONNECTED;
          if (Atomics.compareExchange(w, slotWord(i, S.STATE), st, disconnected) === st) woke = true;
        }
        b = this.bound(i, Atomics.load(w, slotWord(i, S.STATE)));
        if (b === null) continue;
      }
      if (((b - needed) | 0) < 0) {
        this.blocker = i;
        if (woke) this.wakeAll();
        return null;
      }
      if (((b - min) | 0) < 0) min = b;
    }
    if (woke) this.wakeAll();
    return min;
  }

  /**
   * How far back slot `i` pins the ring, or null when it does not: a free or claimed slot, a
   * disconnected one holding nothing, or one whose cursors are out of range (a joiner about to
   * re-register, or garbage: never trusted to stop the writer).
   */
  private bound(i: number, st: number): number | null {
    const state = st & 15;
    if (state !== SLOT.ACTIVE && state !== SLOT.DISCONNECTED) return null;
    const w = this.words;
    // NEXT before RELEASED: a subscriber announces a hold (RELEASED) before it claims (NEXT).
    const next = Atomics.load(w, slotWord(i, S.NEXT)) >>> 0;
    const released = Atomics.load(w, slotWord(i, S.RELEASED)) >>> 0;
    if (released & 1) {
      const held = (released & ~7) >>> 0;
      if (this.inRange(held)) return held;
      // Not a hold: the writer never laps a held record. A reader that holds nothing announces
      // the NEXT it loaded before it claims; if a drop-oldest skip moved NEXT on and the writer
      // lapped the old value meanwhile, the announcement is stale (the reader sees NEXT moved and
      // announces again). Judge the slot by NEXT then, or a drop-oldest reader would be passed
      // over without its NEXT being skipped, and the writer would lap that too.
    }
    if (state === SLOT.DISCONNECTED) return null;
    return this.inRange(next) ? next : null;
  }

  /** Whether `b` can be a subscriber's position: 8-aligned, at most a ring behind the writer. */
  private inRange(b: number): boolean {
    const lag = (this.w - b) | 0;
    return lag >= 0 && lag <= this.cap && (b & 7) === 0;
  }

  /** Drop-oldest: skips slot `i`'s unread records below `needed`. */
  private skip(i: number, needed: number): void {
    const w = this.words;
    const at = slotWord(i, S.NEXT);
    for (;;) {
      const n = Atomics.load(w, at) >>> 0;
      const lag = (this.w - n) | 0;
      if (((n - needed) | 0) >= 0 || lag <= 0 || lag > this.cap) return;
      const rem = this.cap - (n & this.ring.mask);
      let end: number;
      let counted = true;
      if (rem < RECORD_HEADER) {
        end = (n + rem) >>> 0;
        counted = false;
      } else {
        const hw = (this.ring.sizes.dataOffset + (n & this.ring.mask)) >> 2;
        const len = w[hw]! >>> 0;
        const tag = w[hw + 1]! >>> 0;
        const kind = tag & 0xff;
        const size = kind === KIND.PAD ? RECORD_HEADER + len : recordBytes(len);
        if (tag >>> 8 !== check(n) || size > rem || size > lag) {
          if ((Atomics.load(w, at) >>> 0) !== n) continue; // claimed meanwhile: look again
          // The slot's cursor is not at a record: garbage in the slot (the records are ours).
          // That subscriber is cut off; the publisher goes on.
          const st = Atomics.load(w, slotWord(i, S.STATE));
          if ((st & 15) === SLOT.ACTIVE) Atomics.compareExchange(w, slotWord(i, S.STATE), st, (st & ~15) | SLOT.DISCONNECTED);
          return;
        }
        end = (n + size) >>> 0;
        counted = kind !== KIND.PAD;
      }
      if (Atomics.compareExchange(w, at, n | 0, end | 0) === (n | 0) && counted) Atomics.add(w, slotWord(i, S.DROPS), 1);
    }
  }

  /** Frees the slots of subscribers whose process has died. */
  reclaimDead(): void {
    const w = this.words;
    for (let i = 0; i < this.ring.sizes.maxSubscribers; i++) {
      if (reclaimIfDead(w, i)) this.cachedMin = null;
    }
  }

  private wakeAll(): void {
    Atomics.add(this.words, H.PUBLISHED, 1);
    this.waiter.wake(H.PUBLISHED);
  }

  /** The subscribers now. */
  subscribers(): SubscriberInfo[] {
    const w = this.words;
    const out: SubscriberInfo[] = [];
    for (let i = 0; i < this.ring.sizes.maxSubscribers; i++) {
      const st = Atomics.load(w, slotWord(i, S.STATE)) & 15;
      if (st !== SLOT.ACTIVE && st !== SLOT.DISCONNECTED) continue;
      out.push({
        slot: i,
        pid: Atomics.load(w, slotWord(i, S.PID)),
        policy: policyName(Atomics.load(w, slotWord(i, S.POLICY))),
        state: st === SLOT.ACTIVE ? 'active' : 'disconnected',
        lag: Math.max(0, (this.w - (Atomics.load(w, slotWord(i, S.NEXT)) >>> 0)) | 0),
        drops: Atomics.load(w, slotWord(i, S.DROPS)) >>> 0,
        delivered: Atomics.load(w, slotWord(i, S.DELIVERED)) >>> 0,
      });
    }
    return out;
  }

  /** Ends the ring: subscribers read what is there, then see the end. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.current = null;
    Atomics.store(this.words, H.PUB_STATE, 1);
    this.wakeAll();
    this.closing.abort();
  }
}
