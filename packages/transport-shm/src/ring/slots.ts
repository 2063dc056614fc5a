/**
 * The subscriber table: taking a slot, and freeing the slots of dead subscribers. A slot's state
 * word holds its state in the low 4 bits and a generation above, bumped at every claim; every
 * transition is a CAS on the whole word, so freeing a dead owner's slot can never hit the slot of
 * the process that took it next.
 */
import { ShmError, ShmErrorCode } from '../errors.js';
import { S, SLOT, slotWord, type Ring } from './layout.js';
import { isAlive, joinStart } from './liveness.js';

/** Takes a free slot (freeing dead subscribers' slots if none is free). */
export function claimSlot(ring: Ring): { slot: number; state: number } {
  const w = ring.words;
  const n = ring.sizes.maxSubscribers;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < n; i++) {
      const st = Atomics.load(w, slotWord(i, S.STATE));
      if ((st & 15) !== SLOT.FREE) continue;
      const claimed = ((((st >>> 4) + 1) << 4) | SLOT.CLAIMED) | 0;
      if (Atomics.compareExchange(w, slotWord(i, S.STATE), st, claimed) === st) return { slot: i, state: claimed };
    }
    for (let i = 0; i < n; i++) reclaimIfDead(w, i);
  }
  throw new ShmError(ShmErrorCode.FULL, `all ${n} subscriber slots are taken`);
}

/** Frees slot `i` if its owner is dead (CAS on the state word, so a new owner is never hit). */
export function reclaimIfDead(w: Int32Array, i: number): boolean {
  const st = Atomics.load(w, slotWord(i, S.STATE));
  if ((st & 15) === SLOT.FREE) return false;
  const pid = Atomics.load(w, slotWord(i, S.PID));
  const start = joinStart(Atomics.load(w, slotWord(i, S.START_LO)), Atomics.load(w, slotWord(i, S.START_HI)));
  if (isAlive({ pid, start })) return false;
  return Atomics.compareExchange(w, slotWord(i, S.STATE), st, (st & ~15) | SLOT.FREE) === st;
}

/**
 * Frees the slots of subscribers that were thread `thread` (worker_threads `threadId`) of this
 * process: a thread that is gone cannot be told from a live one by its pid. Each is freed by CAS
 * on its state word (a slot claimed anew meanwhile is left alone). Returns the slots freed.
 */
export function reclaimThread(w: Int32Array, maxSubscribers: number, thread: number): number[] {
  const freed: number[] = [];
  for (let i = 0; i < maxSubscribers; i++) {
    const st = Atomics.load(w, slotWord(i, S.STATE));
    if ((st & 15) === SLOT.FREE) continue;
    if (Atomics.load(w, slotWord(i, S.PID)) !== process.pid || Atomics.load(w, slotWord(i, S.THREAD)) !== thread + 1) continue;
    if (Atomics.compareExchange(w, slotWord(i, S.STATE), st, (st & ~15) | SLOT.FREE) === st) freed.push(i);
  }
  return freed;
}
