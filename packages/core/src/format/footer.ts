/** File.fbs <-> {@link Footer}: the index at the end of an Arrow IPC file. */
import { Builder } from 'flatbuffers';
import { invalid } from '../errors.js';
import { rootTable, safeInt64 } from '../flatbuf/reader.js';
import { readKeyValues, readSchema, writeKeyValues, writeSchema, type SchemaLimits } from './schema.js';
import type { Schema } from './types.js';

/** Where one message sits in a file: its framed metadata, then its body. */
export interface Block {
  /** Byte offset of the message from the start of the file. */
  offset: number;
  /** Bytes of framed metadata (prefix, flatbuffer, padding). */
  metaDataLength: number;
  /** Bytes of body after the metadata. */
  bodyLength: number;
}

/** The footer of an Arrow IPC file (File.fbs `Footer`): the schema and where every message is. */
export interface Footer {
  /** The metadata version the writer used. */
  version: number;
  /** The file's schema. */
  schema: Schema;
  /** Every dictionary batch, in file order. */
  dictionaries: Block[];
  /** Every record batch, in file order. */
  recordBatches: Block[];
  /** The footer's custom key/value metadata (distinct from the schema's). */
  metadata: Map<string, string>;
}

export function decodeFooter(bytes: Uint8Array, limits?: SchemaLimits): Footer {
  const t = rootTable(bytes, 'footer');
  const s = t.table(1, 'schema');
  if (s === null) throw invalid('file footer has no schema');
  const blocks = (slot: number): Block[] => {
    const v = t.vector(slot, 24);
    const out: Block[] = [];
    if (v === null) return out;
    for (let i = 0; i < v.length; i++) {
      const at = v.start + 24 * i;
      const b = {
        offset: safeInt64(t.view, at, 'block'),
        metaDataLength: t.view.getInt32(at + 8, true),
        bodyLength: safeInt64(t.view, at + 16, 'block'),
      };
      if (b.offset < 0 || b.metaDataLength <= 0 || b.bodyLength < 0) throw invalid(`file block ${i} is invalid`);
      out.push(b);
    }
    return out;
  };
  return {
    version: t.int16(0, 0),
    schema: readSchema(s, limits),
    dictionaries: blocks(2),
    recordBatches: blocks(3),
    metadata: readKeyValues(t.tables(4, 'key-value')),
  };
}

export function encodeFooter(f: Footer): Uint8Array {
  const b = new Builder(1024);
  const schema = writeSchema(b, f.schema);
  const blocks = (list: Block[]): number => {
    b.startVector(24, list.length, 8);
    for (let i = list.length - 1; i >= 0; i--) {
      const k = list[i]!;
      b.prep(8, 24);
      b.writeInt64(BigInt(k.bodyLength));
      b.pad(4);
      b.writeInt32(k.metaDataLength);
      b.writeInt64(BigInt(k.offset));
    }
    return b.endVector();
  };
  const dicts = blocks(f.dictionaries);
  const batches = blocks(f.recordBatches);
  const meta = writeKeyValues(b, f.metadata);
  b.startObject(5);
  b.addFieldInt16(0, f.version, 0);
  b.addFieldOffset(1, schema, 0);
  b.addFieldOffset(2, dicts, 0);
  b.addFieldOffset(3, batches, 0);
  if (meta) b.addFieldOffset(4, meta, 0);
  b.finish(b.endObject());
  return b.asUint8Array();
}
