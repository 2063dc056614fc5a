/**
 * Writing helpers over flatbuffers' Builder, the mirror of ./reader.ts. The Builder's int64
 * methods take a bigint and split it with BigInt arithmetic; a record batch header is mostly
 * int64s (every field node and buffer region), and converting each with BigInt() cost more than
 * the rest of its encoding. These write a JS number (a safe integer) as two int32 halves, which
 * gives the same bytes.
 */
import type { Builder } from 'flatbuffers';

const TWO_POW_32 = 0x100000000;

/**
 * Writes an int64 where the builder stands, without alignment (as Builder.writeInt64: inside a
 * struct, or after prep). The builder writes downwards, so the high half goes first.
 */
export function writeInt64(b: Builder, v: number): void {
  b.writeInt32(Math.floor(v / TWO_POW_32) | 0);
  b.writeInt32(v | 0); // ToInt32 keeps the low 32 bits, also of negative values
}

/** Builder.addInt64 for a number: aligns to 8, then writes. */
export function addInt64(b: Builder, v: number): void {
  b.prep(8, 0);
  writeInt64(b, v);
}

/** Builder.addFieldInt64 for a number; as there, a default value is omitted (forceDefaults is never set). */
export function addFieldInt64(b: Builder, slot: number, v: number, dflt: number): void {
  if (v === dflt) return;
  addInt64(b, v);
  b.slot(slot);
}

/** Strings longer than this go through the builder's TextEncoder, where a call costs less than the loop. */
const SHORT_STRING = 64;

/**
 * Builder.createString with the same bytes, minus a TextEncoder call and its allocation for short
 * ASCII strings (field names, metadata keys): those are written byte by byte.
 */
export function createString(b: Builder, s: string): number {
  const n = s.length;
  if (n > SHORT_STRING) return b.createString(s);
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return b.createString(s);
  b.addInt8(0); // the terminating NUL, as createString writes it
  b.startVector(1, n, 1);
  for (let i = n - 1; i >= 0; i--) b.writeInt8(s.charCodeAt(i)); // downwards: last byte first
  return b.endVector();
}
