/**
 * Shared by the soak's publisher (soak.ts), its subscriber processes (subscriber.ts) and worker
 * threads (worker.ts): the batches, and the bookkeeping a subscriber keeps of the sequence
 * numbers it sees. The Python subscriber (soak_sub.py) keeps the same books.
 */
import { readFileSync } from 'node:fs';
import * as A from 'apache-arrow';

/**
 * Batch `seq`: `seq` (int64, every row `seq`) and `value` (float64, row r = seq + r / 2). A torn
 * or misdelivered batch fails {@link SeqBook.add}'s check of the first and last rows.
 */
export function soakBatch(seq: number, rows: number): A.RecordBatch {
  const s = new BigInt64Array(rows).fill(BigInt(seq));
  const v = Float64Array.from({ length: rows }, (_, r) => seq + r / 2);
  return new A.RecordBatch({ seq: A.makeData({ type: new A.Int64(), data: s }), value: A.makeData({ type: new A.Float64(), data: v }) });
}

/** What a subscriber saw, as it reports it (one JSON line or message). */
export interface SeqReport {
  received: number;
  /** First and last sequence number received (-1 when none). */
  first: number;
  last: number;
  /** Sequence numbers skipped between consecutive batches. */
  gaps: number;
  duplicated: number;
  reordered: number;
  /** Batches whose rows do not match their sequence number. */
  corrupt: number;
  /** Drops the transport counted for this subscriber, where it knows (shm, worker). */
  drops?: number;
}

/** The books a subscriber keeps. */
export class SeqBook {
  #seen = new Uint8Array(1 << 16);
  #prev = -1;
  readonly report: SeqReport = { received: 0, first: -1, last: -1, gaps: 0, duplicated: 0, reordered: 0, corrupt: 0 };

  add(batch: A.RecordBatch): void {
    const n = batch.numRows;
    const seqCol = batch.getChild('seq');
    const valCol = batch.getChild('value');
    const seq = Number(seqCol?.get(0) ?? -1);
    const r = this.report;
    r.received++;
    if (n === 0 || seq < 0 || Number(seqCol!.get(n - 1)) !== seq || valCol?.get(n - 1) !== seq + (n - 1) / 2) {
      r.corrupt++;
      return;
    }
    while (seq >= this.#seen.length) {
      const grown = new Uint8Array(this.#seen.length * 2);
      grown.set(this.#seen);
      this.#seen = grown;
    }
    if (this.#seen[seq]) r.duplicated++;
    else if (seq < this.#prev) r.reordered++;
    else if (this.#prev >= 0) r.gaps += seq - this.#prev - 1;
    this.#seen[seq] = 1;
    if (r.first < 0) r.first = seq;
    if (seq > this.#prev) this.#prev = seq;
    r.last = this.#prev;
  }
}

/** Batches lost by a subscriber that got `r`, of `published` (0..published-1). */
export function lostOf(r: SeqReport, published: number): number {
  if (r.received - r.duplicated - r.corrupt <= 0) return published;
  return r.first + r.gaps + (published - 1 - r.last);
}

/** Resident set size of a process, in bytes (from /proc; 0 once it is gone). */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
