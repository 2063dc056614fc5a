/**
 * Structured mutations of one IPC message: decode its metadata, change one number (a batch or
 * node length, a null count, a buffer's offset or length, the body length, a dictionary id, a type
 * parameter) or a field's type, and encode it again. The result is a well-formed flatbuffer that
 * lies, which reaches the checks behind the flatbuffer reader (buffer sizes, offsets, children,
 * dictionaries) far more often than flipped bytes do.
 */
import fc from 'fast-check';
import { decodeMessage, encodeMessage, type ArrowType, type Field, type Message } from '../src/index.js';

export type StructuredOp =
  /** Sets numeric slot `slot` (counted over the message's numbers) to a value or shifts it. */
  | { op: 'number'; message: number; slot: number; value: number | { delta: number } }
  /** Gives field `field` (counted depth-first) another type. */
  | { op: 'retype'; message: number; field: number; type: number };

const VALUES = [0, 1, -1, 2, 3, 7, 8, 9, 16, 31, 32, 64, 127, 128, 255, 256, 0x7fff, 0xffff, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53 - 1, -(2 ** 31)];

const TYPES: ArrowType[] = [
  { kind: 'int', bitWidth: 8, signed: true },
  { kind: 'int', bitWidth: 64, signed: false },
  { kind: 'float', precision: 'double' },
  { kind: 'utf8' },
  { kind: 'largeBinary' },
  { kind: 'bool' },
  { kind: 'null' },
  { kind: 'struct' },
  { kind: 'list' },
  { kind: 'fixedSizeList', listSize: 3 },
  { kind: 'fixedSizeBinary', byteWidth: 5 },
  { kind: 'utf8View' },
  { kind: 'union', mode: 'dense', typeIds: null },
  { kind: 'union', mode: 'sparse', typeIds: [0, 1] },
  { kind: 'decimal', precision: 10, scale: 2, bitWidth: 256 },
  { kind: 'interval', unit: 'monthDayNano' },
  { kind: 'map', keysSorted: false },
  { kind: 'listView' },
];

export const structuredOp: fc.Arbitrary<StructuredOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('number' as const),
      message: fc.nat(),
      slot: fc.nat(),
      value: fc.oneof(fc.constantFrom(...VALUES), fc.integer({ min: -16, max: 16 }).map((delta) => ({ delta }))),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('retype' as const), message: fc.nat(), field: fc.nat(), type: fc.nat({ max: TYPES.length - 1 }) }) },
);

type Slot = { get(): number; set(v: number): void };

function fieldsOf(fields: Field[], out: Field[] = []): Field[] {
  for (const f of fields) {
    out.push(f);
    fieldsOf(f.children, out);
  }
  return out;
}

/** Every number of a message that a writer sets from the data. */
function slots(m: Message): Slot[] {
  const out: Slot[] = [{ get: () => m.bodyLength, set: (v) => (m.bodyLength = v) }];
  const of = <T extends object>(o: T, k: keyof T & string) => {
    if (typeof o[k] === 'number') out.push({ get: () => o[k] as number, set: (v) => ((o as Record<string, unknown>)[k] = v) });
  };
  const h = m.header;
  if (h.type === 'schema') {
    for (const f of fieldsOf(h.schema.fields)) {
      for (const k of ['bitWidth', 'byteWidth', 'listSize', 'precision', 'scale'] as const) of(f.type as unknown as Record<string, number>, k);
      if (f.dictionary) {
        of(f.dictionary, 'id');
        of(f.dictionary.indexType, 'bitWidth');
      }
    }
    return out;
  }
  const b = h.batch;
  if (h.type === 'dictionaryBatch') {
    of(h, 'id');
    out.push({ get: () => Number(h.isDelta), set: (v) => (h.isDelta = (v & 1) === 1) });
  }
  of(b, 'length');
  for (const n of b.nodes) of(n, 'length'), of(n, 'nullCount');
  for (const r of b.buffers) of(r, 'offset'), of(r, 'length');
  b.variadicBufferCounts.forEach((_, i) => out.push({ get: () => b.variadicBufferCounts[i]!, set: (v) => (b.variadicBufferCounts[i] = v) }));
  return out;
}

/**
 * Applies `op` to one framed message (prefix, metadata, body); returns the message framed again
 * (continuation form), or the bytes unchanged when they do not decode.
 */
export function mutateMessage(framed: Uint8Array, op: StructuredOp): Uint8Array {
  const dv = new DataView(framed.buffer, framed.byteOffset, framed.byteLength);
  if (framed.byteLength < 8) return framed;
  const prefix = dv.getInt32(0, true) === -1 ? 8 : 4;
  const len = dv.getInt32(prefix - 4, true);
  let m: Message;
  try {
    m = decodeMessage(framed.subarray(prefix, prefix + len));
  } catch {
    return framed;
  }
  const body = framed.subarray(prefix + len);
  if (op.op === 'number') {
    const all = slots(m);
    const s = all[op.slot % all.length]!;
    s.set(typeof op.value === 'number' ? op.value : s.get() + op.value.delta);
  } else if (m.header.type === 'schema') {
    const fields = fieldsOf(m.header.schema.fields);
    if (fields.length === 0) return framed;
    fields[op.field % fields.length]!.type = structuredClone(TYPES[op.type]!);
  } else {
    return framed;
  }
  let meta: Uint8Array;
  try {
    meta = encodeMessage(m);
  } catch {
    return framed; // a value the writer refuses
  }
  const padded = (meta.byteLength + 7) & ~7;
  const out = new Uint8Array(8 + padded + body.byteLength);
  const ov = new DataView(out.buffer);
  ov.setInt32(0, -1, true);
  ov.setInt32(4, padded, true);
  out.set(meta, 8);
  out.set(body, 8 + padded);
  return out;
}
