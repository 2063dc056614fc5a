// Shared helpers of the core codec unit tests (stream, file, compression, feather, rows, mmap).
// Not a test file: ava only runs *.test.js.
import * as A from 'apache-arrow';
import type { ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonFromArrow, tmpDir, type CanonColumns } from '@quiver/testkit';
import { readMessages, RecordBatchEncoder, type ByteSource, type EncodedMessage, type EncoderOptions, type IpcForm, type RawMessage } from '../../src/index.js';

/** A deterministic PRNG (mulberry32): the same seed always gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Joins byte arrays into one fresh, 8-aligned buffer. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The gather lists of several messages, in order. */
export const partsOf = (messages: readonly EncodedMessage[]): Uint8Array[] => messages.flatMap((m) => m.buffers);

/** Encodes batches with a fresh RecordBatchEncoder, start to finish, as one buffer. */
export function encode(schema: A.Schema, items: ReadonlyArray<A.RecordBatch | A.Table>, form: IpcForm = 'stream', opts: EncoderOptions = {}): Uint8Array {
  const enc = new RecordBatchEncoder(schema, form, opts);
  const messages = [...enc.start(), ...items.flatMap((x) => enc.write(x)), ...enc.finish()];
  return concatBytes(partsOf(messages));
}

/** Every message of a source (and 'eos' markers), decoded. */
export async function collectMessages(source: ByteSource): Promise<Array<RawMessage | 'eos'>> {
  const out: Array<RawMessage | 'eos'> = [];
  for await (const m of readMessages(source)) out.push(m);
  return out;
}

/** A record batch of `schema` from one Data per field. */
export function batchOf(schema: A.Schema, columns: A.Data[], metadata?: Map<string, string>): A.RecordBatch {
  const length = columns[0]?.length ?? 0;
  const data = A.makeData({ type: new A.Struct(schema.fields), length, nullCount: 0, children: columns });
  return new A.RecordBatch(schema, data, metadata);
}

/** An int32 column, optionally with nulls (null entries get value 0). */
export function int32Data(values: ReadonlyArray<number | null>): A.Data<A.Int32> {
  return A.vectorFromArray(values as (number | null)[], new A.Int32()).data[0]!;
}

export function utf8Data(values: ReadonlyArray<string | null>): A.Data<A.Utf8> {
  return A.vectorFromArray(values as (string | null)[], new A.Utf8()).data[0]!;
}

/** Dictionary-encoded data with the given indices (null = null slot) over `dictionary`. */
export function dictData(type: A.Dictionary, indices: ReadonlyArray<number | null>, dictionary: A.Vector): A.Data<A.Dictionary> {
  const idx = A.vectorFromArray(indices as (number | null)[], type.indices).data[0]!;
  return A.makeData({ type, length: idx.length, nullCount: idx.nullCount, nullBitmap: idx.nullBitmap, data: idx.values, dictionary });
}

/**
 * A small table exercising several buffer shapes: int32, nullable utf8, float64, list<int32> and a
 * dictionary column, in three batches of different lengths.
 */
export function sampleTable(): A.Table {
  const dictType = new A.Dictionary(new A.Utf8(), new A.Int32(), 0);
  const listType = new A.List(new A.Field('item', new A.Int32(), true));
  const schema = new A.Schema([
    new A.Field('id', new A.Int32(), false),
    new A.Field('name', new A.Utf8(), true),
    new A.Field('score', new A.Float64(), true),
    new A.Field('tags', listType, true),
    new A.Field('color', dictType, true),
  ]);
  const dictionary = A.vectorFromArray(['red', 'green', 'blue'], new A.Utf8());
  const batches: A.RecordBatch[] = [];
  let id = 0;
  for (const n of [5, 1, 9]) {
    const ids = Array.from({ length: n }, () => id++);
    batches.push(
      batchOf(schema, [
        int32Data(ids),
        utf8Data(ids.map((i) => (i % 3 === 1 ? null : `name-${i}-${'é'.repeat(i % 4)}`))),
        A.vectorFromArray(ids.map((i) => (i % 4 === 2 ? null : i * 1.5 - 3)), new A.Float64()).data[0]!,
        A.vectorFromArray(ids.map((i) => (i % 5 === 3 ? null : Array.from({ length: i % 3 }, (_, k) => i * 10 + k))), listType).data[0]!,
        dictData(dictType, ids.map((i) => (i % 6 === 5 ? null : i % 3)), dictionary),
      ]),
    );
  }
  return new A.Table(schema, batches);
}

/** The canonical values of the sample table, written out literally (independent of any reader). */
export const SAMPLE_CANON: CanonColumns = (() => {
  const ids = Array.from({ length: 15 }, (_, i) => i);
  return [
    ids.map(String),
    ids.map((i) => (i % 3 === 1 ? null : `name-${i}-${'é'.repeat(i % 4)}`)),
    ids.map((i) => (i % 4 === 2 ? null : i * 1.5 - 3)),
    ids.map((i) => (i % 5 === 3 ? null : Array.from({ length: i % 3 }, (_, k) => String(i * 10 + k)))),
    ids.map((i) => (i % 6 === 5 ? null : ['red', 'green', 'blue'][i % 3]!)),
  ];
})();

/** Canonical columns of a table, as testkit's judge.canon would give for a file holding it. */
export const canon = (t: A.Table): CanonColumns => canonFromArrow(t);

/** A fresh temp directory removed at the end of the test, and a path in it. */
export function tempPath(t: ExecutionContext, name: string): string {
  return join(tmpDir(t), name);
}

/** Writes bytes to a fresh temp file and returns its path. */
export function tempFile(t: ExecutionContext, name: string, bytes: Uint8Array): string {
  const path = tempPath(t, name);
  writeFileSync(path, bytes);
  return path;
}

/** The same bytes at a different byteOffset (`shift` bytes into a fresh ArrayBuffer). */
export function shifted(bytes: Uint8Array, shift: number): Uint8Array {
  const ab = new ArrayBuffer(bytes.byteLength + shift);
  const out = new Uint8Array(ab, shift, bytes.byteLength);
  out.set(bytes);
  return out;
}

/** Walks the framing of a stream (or of a file's message area) and returns each message's offset. */
export async function messageOffsets(bytes: Uint8Array, start = 0): Promise<Array<{ offset: number; length: number; message: RawMessage | 'eos' }>> {
  const out: Array<{ offset: number; length: number; message: RawMessage | 'eos' }> = [];
  let at = start;
  for await (const m of readMessages(bytes.subarray(start))) {
    const length = m === 'eos' ? 8 : 8 + m.metadataBytes.byteLength + m.body.byteLength;
    out.push({ offset: at, length, message: m });
    at += length;
    if (m === 'eos') break;
  }
  return out;
}

/** The int32 the mmap scenario stores at global row `i` (a hash, so misplaced bytes show). */
export const expectedValue = (i: number): number => (Math.imul(i, 2654435761) ^ 0x5bd1e995) | 0;
