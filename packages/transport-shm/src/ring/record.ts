/**
 * A record handed to a subscriber: a view into the ring that stays valid (the publisher will not
 * overwrite it) until it is released, or a copy from the preamble.
 */
import type { RecordKind } from './layout.js';

/** What a record's owner does when it is released. */
export interface RecordOwner {
  onRelease(rec: RingRecord): void;
}

/** One record: a view into the ring (or, for preamble copies, a private copy) until released. */
export class RingRecord {
  #released = false;
  /** @internal Made by the reader. */
  constructor(
    private readonly reader: RecordOwner | null,
    /** What the record holds. */
    readonly kind: RecordKind,
    /** The framed Arrow message. */
    readonly bytes: Uint8Array,
    /** Position in the ring, or -1 for a copy from the preamble. */
    readonly position: number,
    /** @internal */
    readonly epoch: number,
  ) {}

  /** A copy from the preamble (valid for ever), not a view into the ring. */
  get synthetic(): boolean {
    return this.position < 0;
  }

  /** Whether it was released. */
  get released(): boolean {
    return this.#released;
  }

  /** Lets the publisher reuse the slot. The bytes must not be used afterwards. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.reader?.onRelease(this);
  }

  /** `release()`, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}
