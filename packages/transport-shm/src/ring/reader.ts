/**
 * The subscribing side of a ring. A reader takes a slot in the subscriber table, copies the
 * preamble (schema and current dictionaries) and starts at the write cursor it saw with it, then
 * claims records one by one. A claimed record is a view into the ring and stays valid until it is
 * released: the reader publishes its oldest held record in RELEASED (with bit 0 set) and the
 * writer never overwrites from there on.
 *
 * Claiming a record at position n, racing the writer's drop-oldest skip:
 *   1. holding nothing, announce RELEASED = n | 1, then re-read NEXT (still n, or start over);
 *   2. read and check the header at n (if it is garbage but NEXT moved, the writer skipped it:
 *      start over; if NEXT is still n, the ring is corrupt);
 *   3. CAS NEXT from n to the record's end. Exactly one of this and the writer's skip succeeds.
 * The writer reads NEXT before RELEASED, so once it could see the claim it also sees the hold.
 *
 * A record whose epoch (non-batch records before it) is not the reader's own count means the
 * writer dropped a schema, dictionary or end-of-stream record this reader had not read. The
 * reader then resynchronises from the preamble: it re-delivers the current dictionaries (copies),
 * and when they changed after the record it holds, drops everything up to the preamble's cursor,
 * so no batch is ever decoded against the wrong dictionary.
 */
import { threadId } from 'node:worker_threads';
import { ErrorCode, QuiverError } from '@quiver/core';
import { abortError, corrupt } from '../errors.js';
import {
  check, H, KIND, kindName, POLICY, RECORD_HEADER, recordBytes, S, SLOT, slotWord,
  type Policy, type RecordKind, type Ring,
} from './layout.js';
import { isAlive, joinStart, splitStart, type ProcessIdentity } from './liveness.js';
import { parsePreamble, type PreambleEntry } from './preamble.js';
import { RingRecord } from './record.js';
import { claimSlot } from './slots.js';
import { nextTurn, type Waiter } from './wait.js';

/** Options of {@link RingReader.join}. */
export interface RingReaderOptions {
  /** How to sleep and wake (futexes across processes, Atomics between threads). */
  waiter: Waiter;
  /** This process, recorded in the slot so the writer can tell when it died. */
  identity: ProcessIdentity;
  /** How the publisher treats this reader when it falls behind. @default the ring's default */
  policy?: Policy;
  /** Records read in a row without waiting before yielding to the event loop. @default 64 */
  maxSyncRecords?: number;
  /** How long one wait lasts before the publisher's liveness is checked, in ms. @default 100 */
  sliceMs?: number;
}

const EOS_BYTES = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

interface Snapshot {
  start: number;
  epoch: number;
  generation: number;
  ended: boolean;
  entries: PreambleEntry[];
}

class RetryJoin extends Error {}

export { RingRecord };

/**
 * One subscriber of a ring, with its own cursor and slot. {@link RingReader.next} hands out
 * records that stay valid until released; the writer never overwrites a record held.
 */
export class RingReader {
  /** The ring it reads. */
  readonly ring: Ring;
  /** Its slot in the subscriber table. */
  readonly slot: number;
  private readonly words: Int32Array;
  private readonly waiter: Waiter;
  private readonly cap: number;
  private readonly maxSync: number;
  private readonly sliceMs: number;
  private readonly iNext: number;
  private readonly iReleased: number;
  private readonly iState: number;
  /** The state word while this reader owns the slot (generation | ACTIVE). */
  private stateWord: number;
  private readonly holds: RingRecord[] = [];
  private holdHead = 0;
  private holdCount = 0;
  /** Position announced in RELEASED while holding nothing (-1: none). */
  private guard = -1;
  private readonly pending: RingRecord[] = [];
  private seenEpoch = 0;
  private streamGen = 0;
  private sawSchema = false;
  private sawEos = false;
  private delivered = 0;
  private sync = 0;
  private endSeen = false;
  private publisherDead = false;
  private closedFlag = false;
  private failure: QuiverError | null = null;
  private readonly closing = new AbortController();

  private constructor(ring: Ring, opts: RingReaderOptions, slot: number, claimed: number) {
    this.ring = ring;
    this.words = ring.words;
    this.waiter = opts.waiter;
    this.cap = ring.sizes.capacity;
    this.maxSync = opts.maxSyncRecords ?? 64;
    this.sliceMs = opts.sliceMs ?? 100;
    this.slot = slot;
    this.stateWord = claimed;
    this.iNext = slotWord(slot, S.NEXT);
    this.iReleased = slotWord(slot, S.RELEASED);
    this.iState = slotWord(slot, S.STATE);
  }

  /** Takes a slot and starts reading at the current write cursor, preamble first. */
  static async join(ring: Ring, opts: RingReaderOptions): Promise<RingReader> {
    for (let attempt = 0; ; attempt++) {
      const claimed = claimSlot(ring);
      const reader = new RingReader(ring, opts, claimed.slot, claimed.state);
      try {
        await reader.register(opts);
        return reader;
      } catch (e) {
        reader.freeSlot();
        if (!(e instanceof RetryJoin) || attempt >= 8) throw e instanceof RetryJoin ? new QuiverError(ErrorCode.CONNECTION_FAILED, 'could not keep a subscriber slot') : e;
      }
    }
  }

  private async register(opts: RingReaderOptions): Promise<void> {
    const w = this.words;
    const [lo, hi] = splitStart(opts.identity.start);
    Atomics.store(w, slotWord(this.slot, S.PID), opts.identity.pid);
    Atomics.store(w, slotWord(this.slot, S.START_LO), lo | 0);
    Atomics.store(w, slotWord(this.slot, S.START_HI), hi | 0);
    Atomics.store(w, slotWord(this.slot, S.POLICY), opts.policy ? POLICY[opts.policy] : Atomics.load(w, H.DEFAULT_POLICY));
    Atomics.store(w, slotWord(this.slot, S.DROPS), 0);
    Atomics.store(w, slotWord(this.slot, S.DELIVERED), 0);
    Atomics.store(w, slotWord(this.slot, S.THREAD), threadId + 1);
    let first = true;
    for (;;) {
      const snap = await this.snapshot();
      Atomics.store(w, this.iNext, snap.start | 0);
      Atomics.store(w, this.iReleased, snap.start | 0); // bit 0 clear: holding nothing
      if (first) {
        const active = (this.stateWord & ~15) | SLOT.ACTIVE;
        // Fails only if someone took the slot for a dead joiner's: start again elsewhere.
        if (Atomics.compareExchange(w, this.iState, this.stateWord, active) !== this.stateWord) throw new RetryJoin();
        this.stateWord = active;
        first = false;
      }
      Atomics.add(w, H.JOINS, 1);
      // See RingWriter.tryReserve: past this check, the writer knows about us.
      const tail = Atomics.load(w, H.TAIL) >>> 0;
      if (((snap.start - tail) | 0) >= 0) {
        this.apply(snap, true);
        return;
      }
      // Else the writer moved past our start: register again further on, from a cursor that is
      // at or past TAIL. TAIL (the end of the latest reservation less the capacity) is never
      // ahead of the write cursor nor more than a ring behind it; anything else is corrupt, and
      // waiting for the cursor to pass it would spin for ever.
      const write = Atomics.load(w, H.WRITE) >>> 0;
      if (((write - tail) >>> 0) > this.cap) throw corrupt(`TAIL ${tail} is not within a ring behind the write cursor ${write}`);
    }
  }

  /** Copies the preamble and the write cursor consistently (seqlock). */
  private async snapshot(): Promise<Snapshot> {
    const w = this.words;
    const { preambleOffset, preambleCapacity } = this.ring.sizes;
    for (let tries = 1; ; tries++) {
      const s1 = Atomics.load(w, H.PRE_SEQ);
      if ((s1 & 1) === 0) {
        const start = Atomics.load(w, H.WRITE) >>> 0;
        const length = Atomics.load(w, H.PRE_LENGTH) >>> 0;
        const count = Atomics.load(w, H.PRE_COUNT) >>> 0;
        const epoch = Atomics.load(w, H.EPOCH) >>> 0;
        const generation = Atomics.load(w, H.STREAM_GEN) >>> 0;
        const ended = Atomics.load(w, H.PRE_ENDED) === 1;
        const copy = length <= preambleCapacity ? this.ring.bytes.slice(preambleOffset, preambleOffset + length) : null;
        // A read-modify-write, not a load: it orders the copy's plain reads before it.
        if (Atomics.compareExchange(w, H.PRE_SEQ, s1, s1) === s1) {
          if (!copy) throw corrupt(`preamble length ${length} exceeds its area of ${preambleCapacity}`);
          if ((start & 7) !== 0) throw corrupt(`write cursor ${start} is not 8-aligned`);
          return { start, epoch, generation, ended, entries: parsePreamble(copy, count) };
        }
      }
      if (tries % 64 === 0 && !this.publisherAlive()) throw new QuiverError(ErrorCode.CONNECTION_FAILED, 'the publisher died while writing the preamble');
      await nextTurn();
    }
  }

  /** Queues the preamble's messages (copies) for delivery, as a joiner or after a resync. */
  private apply(snap: Snapshot, joining: boolean): void {
    const push = (kind: RecordKind, bytes: Uint8Array) => this.pending.push(new RingRecord(null, kind, bytes, -1, 0));
    if (joining || snap.generation !== this.streamGen) {
      // A new stream: end the one this reader was in, then the new schema and dictionaries.
      if (this.sawSchema && !this.sawEos) push('eos', EOS_BYTES.slice());
      for (const e of snap.entries) push(e.kind, e.bytes);
      this.streamGen = snap.generation;
      this.sawSchema = snap.entries[0]?.kind === 'schema';
      this.sawEos = false;
    } else {
      // Same stream: full dictionaries replace, deltas follow them; the result is exact.
      for (const e of snap.entries) if (e.kind !== 'schema') push(e.kind, e.bytes);
    }
    if (snap.ended && this.sawSchema && !this.sawEos) {
      push('eos', EOS_BYTES.slice());
      this.sawEos = true;
    }
    this.seenEpoch = snap.epoch;
  }

  /**
   * The next record, waiting for one; null at the end of the ring or after close(). Throws
   * ERR_QUIVER_SLOW_CONSUMER once disconnected, ERR_QUIVER_CONNECTION_FAILED when the publisher
   * died (after every record it published was read), InvalidDataError for corrupt memory.
   * `previous`, if given, is released as soon as that costs nothing (see below).
   */
  async next(signal?: AbortSignal, previous?: RingRecord | null): Promise<RingRecord | null> {
    try {
      return await this.nextRecord(signal, () => {
        // The record before is released once the next one is claimed (so one hold covers the
        // claim) or before sleeping (so an idle reader pins nothing).
        previous?.release();
        previous = null;
      });
    } finally {
      previous?.release();
    }
  }

  private async nextRecord(signal: AbortSignal | undefined, releasePrevious: () => void): Promise<RingRecord | null> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.closedFlag) return null;
      const queued = this.pending.shift();
      if (queued) {
        if (!queued.synthetic) this.account(queued);
        return queued;
      }
      this.checkState();
      const rec = this.claim();
      releasePrevious();
      if (rec) {
        if (rec.epoch !== this.seenEpoch) {
          await this.resync(rec);
          continue;
        }
        this.account(rec);
        if (++this.sync >= this.maxSync) {
          this.sync = 0;
          await nextTurn(); // data is always ready: let the event loop breathe
        }
        return rec;
      }
      this.sync = 0;
      if (Atomics.load(this.words, H.PUB_STATE) === 1) {
        // Records published before the end are visible now: look once more, then end.
        if (this.endSeen) return null;
        this.endSeen = true;
        continue;
      }
      if (this.publisherDead) throw this.fail(new QuiverError(ErrorCode.CONNECTION_FAILED, 'the publisher process died'));
      await this.sleep(signal);
    }
  }

  /** Waits for a publish (in slices; checks the publisher is alive after each empty one). */
  private async sleep(signal: AbortSignal | undefined): Promise<void> {
    const w = this.words;
    // Spin first, not counted among the sleepers: a publish seen while spinning cost the
    // publisher no wake-up call.
    if (this.waiter.spin(H.PUBLISHED, Atomics.load(w, H.PUBLISHED))) return;
    Atomics.add(w, H.SLEEPERS, 1);
    try {
      const published = Atomics.load(w, H.PUBLISHED);
      if (
        Atomics.load(w, H.WRITE) !== Atomics.load(w, this.iNext) ||
        Atomics.load(w, H.PUB_STATE) === 1 ||
        Atomics.load(w, this.iState) !== this.stateWord
      ) {
        return;
      }
      // Then a short sleep on this thread, which a publish ends directly; then a wait off it.
      if (this.waiter.nap(H.PUBLISHED, published)) return;
      const r = await this.waitOr(this.waiter.wait(H.PUBLISHED, published, this.sliceMs, true), signal);
      if (r === 'timed-out' && !this.publisherAlive()) this.publisherDead = true;
    } finally {
      Atomics.sub(w, H.SLEEPERS, 1);
      this.waiter.woke(); // how long this wait took sets the next spin
    }
  }

  private waitOr(p: Promise<string>, signal: AbortSignal | undefined): Promise<string> {
    if (signal?.aborted) return Promise.reject(abortError(signal, 'read'));
    return new Promise((resolve, reject) => {
      const onClose = () => (cleanup(), resolve('closed'));
      const onAbort = () => (cleanup(), reject(abortError(signal!, 'read')));
      const cleanup = () => {
        this.closing.signal.removeEventListener('abort', onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      this.closing.signal.addEventListener('abort', onClose, { once: true });
      signal?.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => (cleanup(), resolve(v)),
        (e: unknown) => (cleanup(), reject(e)),
      );
    });
  }

  private publisherAlive(): boolean {
    const w = this.words;
    const pid = Atomics.load(w, H.PUB_PID);
    if (pid === 0) return true; // no publisher has attached yet
    return isAlive({ pid, start: joinStart(Atomics.load(w, H.PUB_START_LO), Atomics.load(w, H.PUB_START_HI)) });
  }

  /** Claims the record at NEXT, or undefined when there is none yet. */
  private claim(): RingRecord | undefined {
    const w = this.words;
    const mask = this.ring.mask;
    const base = this.ring.sizes.dataOffset;
    for (;;) {
      const n = Atomics.load(w, this.iNext) >>> 0;
      const W = Atomics.load(w, H.WRITE) >>> 0;
      const ahead = (W - n) | 0;
      if (ahead === 0) {
        if (this.holdCount === 0 && this.guard >= 0) {
          Atomics.store(w, this.iReleased, n | 0);
          this.guard = -1;
        }
        return undefined;
      }
      if (ahead < 0 || ahead > this.cap || (n & 7) !== 0 || (W & 7) !== 0) {
        // Holding nothing, this reader does not stop the writer: between the two loads a
        // drop-oldest skip may have moved NEXT on and the writer lapped the old value. Only a
        // cursor that is still NEXT now is held to the bound (NEXT only moves forward, so it was
        // NEXT when W was read, and the writer kept W within a ring of it).
        if ((Atomics.load(w, this.iNext) >>> 0) !== n) continue;
        this.checkState();
        throw this.fail(corrupt(`read cursor ${n} and write cursor ${W} are not ${this.cap} bytes apart or less`));
      }
      if (this.holdCount === 0 && this.guard !== n) {
        Atomics.store(w, this.iReleased, (n | 1) | 0);
        // An earlier announcement that turned out stale (NEXT had moved) may be what the writer
        // waits on: tell it the bound moved rather than leave it to its next slice.
        if (this.guard >= 0) this.notifyFreed();
        this.guard = n;
        if ((Atomics.load(w, this.iNext) >>> 0) !== n) continue;
      }
      const rem = this.cap - (n & mask);
      let end: number;
      let kind: number = KIND.PAD;
      let len = 0;
      let epoch = 0;
      if (rem < RECORD_HEADER) {
        end = (n + rem) >>> 0;
      } else {
        const hw = (base + (n & mask)) >> 2;
        len = w[hw]! >>> 0;
        const tag = w[hw + 1]! >>> 0;
        epoch = w[hw + 3]! >>> 0;
        kind = tag & 0xff;
        const size = kind === KIND.PAD ? RECORD_HEADER + len : recordBytes(len);
        const ok =
          tag >>> 8 === check(n) &&
          (kind === KIND.PAD ? len % 8 === 0 : kindName(kind) !== null && size <= this.ring.maxRecord) &&
          size <= rem &&
          size <= ahead;
        if (!ok) {
          if ((Atomics.load(w, this.iNext) >>> 0) !== n) continue; // skipped by the writer meanwhile
          throw this.fail(corrupt(`record at position ${n} has a bad header (length ${len}, tag 0x${tag.toString(16)})`));
        }
        end = (n + size) >>> 0;
      }
      if (Atomics.compareExchange(w, this.iNext, n | 0, end | 0) !== (n | 0)) continue;
      if (kind === KIND.PAD) continue;
      const rec = new RingRecord(this, kindName(kind)!, new Uint8Array(this.ring.buffer, base + (n & mask) + RECORD_HEADER, len), n, epoch);
      this.holds.push(rec);
      this.holdCount++;
      return rec;
    }
  }

  private account(rec: RingRecord): void {
    switch (rec.kind) {
      case 'schema':
        this.streamGen++;
        this.sawSchema = true;
        this.sawEos = false;
        this.seenEpoch++;
        break;
      case 'eos':
        this.sawEos = true;
        this.seenEpoch++;
        break;
      case 'dictionary':
      case 'delta':
        this.seenEpoch++;
        break;
    }
    this.delivered++;
    Atomics.store(this.words, slotWord(this.slot, S.DELIVERED), this.delivered | 0);
  }

  /** `rec` (held) shows a missed non-batch record: re-deliver the dictionaries; see the file comment. */
  private async resync(rec: RingRecord): Promise<void> {
    const snap = await this.snapshot();
    if (this.closedFlag) return;
    if (rec.kind === 'batch' && snap.epoch === rec.epoch) {
      // Nothing changed since `rec`: the preamble is the state it was encoded against.
      this.apply(snap, false);
      this.pending.push(rec);
      return;
    }
    // Dictionaries changed after `rec`: drop it and every record before the preamble's cursor.
    const w = this.words;
    Atomics.add(w, slotWord(this.slot, S.DROPS), 1);
    this.skipTo(snap.start);
    rec.release();
    this.apply(snap, false);
  }

  /** Skips (and counts) records up to `target`, while a hold protects them. */
  private skipTo(target: number): void {
    const w = this.words;
    const base = this.ring.sizes.dataOffset;
    for (;;) {
      const n = Atomics.load(w, this.iNext) >>> 0;
      const W = Atomics.load(w, H.WRITE) >>> 0;
      if (((target - n) | 0) <= 0 || n === W) return;
      const rem = this.cap - (n & this.ring.mask);
      let end = (n + rem) >>> 0;
      let counted = false;
      if (rem >= RECORD_HEADER) {
        const hw = (base + (n & this.ring.mask)) >> 2;
        const len = w[hw]! >>> 0;
        const tag = w[hw + 1]! >>> 0;
        const size = (tag & 0xff) === KIND.PAD ? RECORD_HEADER + len : recordBytes(len);
        if (tag >>> 8 !== check(n) || size > rem || size > ((W - n) | 0)) {
          if ((Atomics.load(w, this.iNext) >>> 0) !== n) continue;
          throw this.fail(corrupt(`record at position ${n} has a bad header`));
        }
        end = (n + size) >>> 0;
        counted = (tag & 0xff) !== KIND.PAD;
      }
      if (Atomics.compareExchange(w, this.iNext, n | 0, end | 0) === (n | 0) && counted) Atomics.add(w, slotWord(this.slot, S.DROPS), 1);
    }
  }

  /** @internal */
  onRelease(rec: RingRecord): void {
    if (rec.synthetic || this.closedFlag) return;
    this.holdCount--;
    const h = this.holds;
    let moved = false;
    while (this.holdHead < h.length && h[this.holdHead]!.released) {
      this.holdHead++;
      moved = true;
    }
    if (this.holdHead === h.length) {
      h.length = 0;
      this.holdHead = 0;
    } else if (this.holdHead >= 256) {
      h.splice(0, this.holdHead);
      this.holdHead = 0;
    }
    if (!moved) return;
    const w = this.words;
    if (this.holdCount === 0) {
      Atomics.store(w, this.iReleased, Atomics.load(w, this.iNext) & ~7);
      this.guard = -1;
    } else {
      Atomics.store(w, this.iReleased, (h[this.holdHead]!.position | 1) | 0);
    }
    this.notifyFreed();
  }

  private notifyFreed(): void {
    const w = this.words;
    if (Atomics.load(w, H.PUB_WAITING) !== 0) {
      Atomics.add(w, slotWord(this.slot, S.FREED), 1);
      this.waiter.wake(slotWord(this.slot, S.FREED));
    }
  }

  /** Throws if the publisher disconnected this reader, or its slot was taken from it. */
  private checkState(): void {
    const st = Atomics.load(this.words, this.iState);
    if (st === this.stateWord) return;
    if ((st & ~15) === (this.stateWord & ~15) && (st & 15) === SLOT.DISCONNECTED) {
      throw this.fail(new QuiverError(ErrorCode.SLOW_CONSUMER, `subscriber slot ${this.slot} fell too far behind and was disconnected`));
    }
    throw this.fail(new QuiverError(ErrorCode.CONNECTION_FAILED, `subscriber slot ${this.slot} was taken back`));
  }

  private fail(e: QuiverError): QuiverError {
    this.failure ??= e;
    this.close();
    return this.failure;
  }

  /** Changes how the publisher treats this reader from now on. */
  setPolicy(policy: Policy): void {
    Atomics.store(this.words, slotWord(this.slot, S.POLICY), POLICY[policy]);
  }

  /** Records this reader lost (skipped by drop-oldest or a resync). */
  get drops(): number {
    return Atomics.load(this.words, slotWord(this.slot, S.DROPS)) >>> 0;
  }

  /** Records read from the ring (preamble copies not counted). */
  get recordsDelivered(): number {
    return this.delivered;
  }

  /** Whether {@link RingReader.close} was called. */
  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Releases everything held and frees the slot. Views handed out must not be used after. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.closing.abort();
    this.pending.length = 0;
    this.holds.length = 0;
    this.holdHead = 0;
    this.holdCount = 0;
    this.freeSlot();
  }

  private freeSlot(): void {
    const w = this.words;
    const st = Atomics.load(w, this.iState);
    if ((st & ~15) !== (this.stateWord & ~15) || (st & 15) === SLOT.FREE) return;
    Atomics.store(w, this.iReleased, 0);
    Atomics.compareExchange(w, this.iState, st, (st & ~15) | SLOT.FREE);
    this.notifyFreed();
  }
}
