/**
 * A bounded async queue: `push` waits while full, `shift` waits while empty. The only buffering
 * the messaging layer does, always with a bound.
 */
import { ErrorCode, QuiverError } from '../errors.js';

/** A bounded async queue (what a publisher keeps per subscriber). */
export class AsyncQueue<T> {
  private items: T[] = [];
  private takers: Array<{ resolve: (v: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  private spaceWaiters: Array<() => void> = [];
  private ended = false;
  private failure: unknown = undefined;

  /** A queue that counts as full at `capacity` items. */
  constructor(
    /** Items at which it counts as full. */
    readonly capacity: number,
  ) {}

  /** Items queued now. */
  get length(): number {
    return this.items.length;
  }

  /** Whether `length` has reached `capacity`. */
  get full(): boolean {
    return this.items.length >= this.capacity;
  }

  /** Adds an item, waiting for room. Rejects with ERR_QUIVER_CLOSED once the queue ended. */
  async push(item: T): Promise<void> {
    while (this.full && !this.ended) await new Promise<void>((r) => this.spaceWaiters.push(r));
    this.pushNow(item);
  }

  /** Adds an item now, even past capacity (callers decide what "full" means for them). */
  pushNow(item: T): void {
    if (this.ended) throw new QuiverError(ErrorCode.CLOSED, 'the queue is closed');
    const taker = this.takers.shift();
    if (taker) taker.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  /** Removes and returns the oldest item matching `pred`, without waiting. */
  removeFirst(pred: (item: T) => boolean): T | undefined {
    const i = this.items.findIndex(pred);
    if (i < 0) return undefined;
    const [item] = this.items.splice(i, 1);
    this.wakeSpace();
    return item;
  }

  /** The next item; `done` once ended and drained. */
  shift(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) {
      const value = this.items.shift()!;
      this.wakeSpace();
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.takers.push({ resolve, reject }));
  }

  /** No more items; waiting takers finish once the queue drains. With `error`, they reject. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (error !== undefined) this.failure = error;
    for (const t of this.takers.splice(0)) error !== undefined ? t.reject(error) : t.resolve({ value: undefined, done: true });
    this.wakeSpace(true);
  }

  /** Drops every queued item (used when a consumer goes away). */
  clear(): T[] {
    const out = this.items.splice(0);
    this.wakeSpace(true);
    return out;
  }

  /** Takes items until the queue ends (or rejects with its error). */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.shift() };
  }

  private wakeSpace(all = false): void {
    const n = all ? this.spaceWaiters.length : Math.max(0, this.capacity - this.items.length);
    for (const w of this.spaceWaiters.splice(0, n)) w();
  }
}
