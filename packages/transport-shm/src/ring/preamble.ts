/**
 * The preamble: what a subscriber joining now needs before the next record, namely the current
 * stream's schema and, per dictionary id, its last full dictionary and the deltas since (a
 * replacement supersedes what came before it, so the preamble holds one dictionary state, not its
 * history), and whether the stream has ended.
 *
 * The publisher keeps a copy of it in JS and rewrites the shared area whenever a schema,
 * dictionary or end-of-stream record is published, inside a seqlock (PRE_SEQ odd while writing)
 * that also covers the write cursor's advance past that record. A joiner copies the area and the
 * write cursor between two reads of an even, unchanged PRE_SEQ: the copy is then exactly the
 * state at that cursor, where it starts reading.
 *
 * Area: entries of [u32 length, u32 kind, u32 dictionary id, u32 reserved, payload padded to 8].
 */
import { ErrorCode, QuiverError } from '@quiver/core';
import { corrupt } from '../errors.js';
import { align8, KIND, kindName, PREAMBLE_ENTRY, type RecordKind } from './layout.js';

export interface PreambleEntry {
  kind: 'schema' | 'dictionary' | 'delta';
  dictionaryId: number;
  /** The framed message (a copy owned by whoever holds the entry). */
  bytes: Uint8Array;
}

/** The publisher's copy. */
export class PreambleMirror {
  entries: PreambleEntry[] = [];
  ended = false;
  /** Streams started. */
  generation = 0;

  /**
   * The entries after publishing a record of `kind`, or throws ERR_QUIVER_MESSAGE_TOO_LARGE when
   * they would not fit `capacity` (checked before anything is published). Batches change nothing.
   */
  plan(kind: RecordKind, dictionaryId: number, payload: Uint8Array, capacity: number): PreambleEntry[] | null {
    if (kind === 'batch' || kind === 'eos') return null;
    let next: PreambleEntry[];
    const entry: PreambleEntry = { kind, dictionaryId, bytes: payload };
    if (kind === 'schema') next = [entry];
    else if (kind === 'dictionary') next = [...this.entries.filter((e) => e.kind === 'schema' || e.dictionaryId !== dictionaryId), entry];
    else next = [...this.entries, entry];
    const bytes = next.reduce((n, e) => n + PREAMBLE_ENTRY + align8(e.bytes.byteLength), 0);
    if (bytes > capacity) {
      throw new QuiverError(
        ErrorCode.MESSAGE_TOO_LARGE,
        `the schema and dictionaries would take ${bytes} bytes of preamble; the ring has ${capacity} (raise the preambleSize option)`,
      );
    }
    return next;
  }

  /** Takes a planned state (copying the new entry's bytes, which live in the ring). */
  apply(kind: RecordKind, planned: PreambleEntry[] | null): void {
    if (kind === 'eos') {
      this.ended = true;
      return;
    }
    if (!planned) return;
    const last = planned[planned.length - 1]!;
    planned[planned.length - 1] = { ...last, bytes: last.bytes.slice() };
    this.entries = planned;
    if (kind === 'schema') {
      this.generation++;
      this.ended = false;
    }
  }

  /** Writes the entries into `area`; returns the bytes used. */
  write(area: Uint8Array): number {
    const dv = new DataView(area.buffer, area.byteOffset, area.byteLength);
    let at = 0;
    for (const e of this.entries) {
      dv.setUint32(at, e.bytes.byteLength, true);
      dv.setUint32(at + 4, KIND[e.kind === 'schema' ? 'SCHEMA' : e.kind === 'dictionary' ? 'DICTIONARY' : 'DELTA'], true);
      dv.setUint32(at + 8, e.dictionaryId >>> 0, true);
      dv.setUint32(at + 12, 0, true);
      area.set(e.bytes, at + PREAMBLE_ENTRY);
      at += PREAMBLE_ENTRY + align8(e.bytes.byteLength);
    }
    return at;
  }
}

/** Parses a copy of the area (untrusted: every length is checked). */
export function parsePreamble(copy: Uint8Array, count: number): PreambleEntry[] {
  const dv = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  const out: PreambleEntry[] = [];
  let at = 0;
  while (at < copy.byteLength) {
    if (copy.byteLength - at < PREAMBLE_ENTRY) throw corrupt('preamble entry header cut short');
    const len = dv.getUint32(at, true);
    const kind = kindName(dv.getUint32(at + 4, true));
    if (kind !== 'schema' && kind !== 'dictionary' && kind !== 'delta') throw corrupt('preamble entry of an unknown kind');
    if (len > copy.byteLength - at - PREAMBLE_ENTRY) throw corrupt(`preamble entry of ${len} bytes overruns the preamble`);
    out.push({ kind, dictionaryId: dv.getUint32(at + 8, true), bytes: copy.subarray(at + PREAMBLE_ENTRY, at + PREAMBLE_ENTRY + len) });
    at += PREAMBLE_ENTRY + align8(len);
  }
  if (out.length !== count) throw corrupt(`preamble holds ${out.length} entries, its header says ${count}`);
  if (out.some((e, i) => e.kind === 'schema' && i > 0)) throw corrupt('preamble entries out of order');
  return out;
}
