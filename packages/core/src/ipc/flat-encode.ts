/**
 * Record batches of a flat schema (every column fixed-width, bool, binary or utf8, large or not;
 * no dictionary, no children: ../arrow/load.ts's FlatPlan) encoded in one pass: each column's
 * node and buffer regions go straight into the message's flatbuffer, copied from a template made
 * once per schema, and its buffers straight into the gather list. The general path (assemble,
 * lay out the body, build a header, frame it) makes the same bytes through an object per node,
 * per region, per list and per step, which cost more than the rest of a small batch's encoding.
 *
 * Anything off the common path (sliced data, offsets that do not start at zero, a buffer of
 * another typed array than the type's, too few offsets) is left to the general path, which copes
 * with all of it; so are compressed bodies and batches with custom metadata (RecordBatchEncoder
 * does not ask).
 */
import type * as A from 'apache-arrow';
import { nullCountOf } from '../arrow/assemble.js';
import { BOOL, FIXED, LARGE_VAR, type FlatPlan } from '../arrow/load.js';
import { DIRECT_AT, i64, recordBatchMessageBytes, writeRecordBatchMessageAt, type RecordBatchHeader } from '../format/message.js';
import { MetadataVersion } from '../format/types.js';
import { align8, PADS } from './body.js';
import { carve, carved, type EncodedMessage } from './framing.js';

/** How the batches of one flat schema are encoded, worked out once. */
export interface FlatEncoding {
  readonly plan: FlatPlan;
  /** The flatbuffer of a record batch message of the schema, with every length and offset zero. */
  readonly template: Uint8Array;
  /** Where the buffer regions start in it. */
  readonly buffersAt: number;
}

/** The flat encoding of a schema by its flat plan (see ../arrow/load.ts flatPlan). */
export function flatEncoding(plan: FlatPlan): FlatEncoding {
  const h: RecordBatchHeader = {
    length: 0,
    nodes: plan.columns.map(() => ({ length: 0, nullCount: 0 })),
    buffers: Array.from({ length: plan.buffers }, () => ({ offset: 0, length: 0 })),
    compression: null,
    variadicBufferCounts: [],
  };
  const template = new Uint8Array(recordBatchMessageBytes(h));
  writeRecordBatchMessageAt(new DataView(template.buffer), 0, MetadataVersion.V5, 0, h);
  return { plan, template, buffersAt: DIRECT_AT.buffers(plan.columns.length) };
}

/**
 * A buffer of the body: its region (at `regionAt` of `v`), and its first `len` bytes of `src`
 * (then zero padding to 8) at the end of `parts`. Returns where the next buffer starts.
 */
function addBuffer(parts: Uint8Array[], v: DataView, regionAt: number, at: number, src: ArrayBufferView | null, len: number): number {
  i64(v, regionAt, at);
  i64(v, regionAt + 8, len);
  if (len === 0) return at;
  parts.push(new Uint8Array(src!.buffer, src!.byteOffset, len));
  const padded = align8(len);
  if (padded > len) parts.push(PADS[padded - len]!);
  return at + padded;
}

/**
 * The record batch message of `columns` (a batch of `length` rows without custom metadata), the
 * same bytes as the general path makes, or null when a column is off the common path.
 */
export function encodeFlatBatch(e: FlatEncoding, columns: readonly A.Data[], length: number): EncodedMessage | null {
  const cols = e.plan.columns;
  if (columns.length !== cols.length) return null;
  const metaBytes = e.template.byteLength;
  const metadataLength = 8 + metaBytes; // a multiple of 8: no padding
  // (Memory carved for a batch that then goes to the general path is left unused.)
  const start = carve(metadataLength);
  const bytes = carved.bytes;
  const v = carved.view;
  const base = start + 8;
  bytes.set(e.template, base);
  const parts: Uint8Array[] = [bytes.subarray(start, base), bytes.subarray(base, base + metaBytes)];
  let at = 0;
  let regionAt = base + e.buffersAt;
  for (let i = 0; i < cols.length; i++) {
    const d = columns[i]!;
    const c = cols[i]!;
    if (d.type !== c.type || d.offset !== 0) return null;
    const n = d.length;
    const nulls = nullCountOf(d);
    i64(v, base + DIRECT_AT.nodes + 16 * i, n);
    i64(v, base + DIRECT_AT.nodes + 16 * i + 8, nulls);
    const bitmap = d.nullBitmap;
    at = nulls > 0 && bitmap ? addBuffer(parts, v, regionAt, at, bitmap, Math.min(Math.ceil(n / 8), bitmap.byteLength)) : addBuffer(parts, v, regionAt, at, null, 0);
    regionAt += 16;
    const values = d.values as ArrayBufferView | undefined;
    if (!values || values.constructor !== c.Values) return null;
    if (c.layout === FIXED) {
      at = addBuffer(parts, v, regionAt, at, values, Math.min(n * c.width, values.byteLength));
    } else if (c.layout === BOOL) {
      at = addBuffer(parts, v, regionAt, at, values, Math.min(Math.ceil(n / 8), values.byteLength));
    } else {
      const o = d.valueOffsets as Int32Array | BigInt64Array | undefined;
      const large = c.layout === LARGE_VAR;
      if (!o || o.constructor !== (large ? BigInt64Array : Int32Array) || o.length <= n || Number(o[0]) !== 0) return null;
      const end = Number(o[n]);
      if (end < 0) return null;
      at = addBuffer(parts, v, regionAt, at, o, (n + 1) * (large ? 8 : 4));
      regionAt += 16;
      at = addBuffer(parts, v, regionAt, at, values, Math.min(end, values.byteLength));
    }
    regionAt += 16;
  }
  i64(v, base + DIRECT_AT.bodyLength, at);
  i64(v, base + DIRECT_AT.length, length);
  return { buffers: parts, byteLength: metadataLength + at, metadataLength, bodyLength: at, kind: 'recordBatch' };
}
