/**
 * What an encapsulated Arrow IPC message is, from its bytes: the ring files schema, dictionary
 * and end-of-stream records in the preamble and lets drop-oldest drop only batches.
 */
import { decodeMessage, invalid, type Message } from '@quiver/core';
import type { RecordKind } from './layout.js';

/** What a record holds, as the writer files it. */
export interface RecordMeta {
  /** The message's kind. */
  kind: RecordKind;
  /** For a dictionary or delta: its id. */
  dictionaryId?: number;
}

const CONTINUATION = 0xffffffff;

/** The framing prefix of a message: its length (0 = end of stream) and the prefix's size. */
export function readPrefix(bytes: Uint8Array): { metadataLength: number; prefix: number } | null {
  if (bytes.byteLength < 4) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = dv.getUint32(0, true);
  if (first !== CONTINUATION) return { metadataLength: first | 0, prefix: 4 };
  if (bytes.byteLength < 8) return null;
  return { metadataLength: dv.getInt32(4, true), prefix: 8 };
}

/** Kind of a decoded message. */
export function metaOf(message: Message): RecordMeta {
  const h = message.header;
  if (h.type === 'schema') return { kind: 'schema' };
  if (h.type === 'recordBatch') return { kind: 'batch' };
  return { kind: h.isDelta ? 'delta' : 'dictionary', dictionaryId: h.id };
}

/**
 * Classifies exactly one framed message occupying all of `bytes` (as a loan holds it). Throws
 * InvalidDataError when the bytes are not one whole message.
 */
export function classify(bytes: Uint8Array): RecordMeta {
  const p = readPrefix(bytes);
  if (!p) throw invalid(`${bytes.byteLength} bytes are not an Arrow IPC message`);
  if (p.metadataLength === 0) {
    if (bytes.byteLength !== p.prefix) throw invalid('bytes after an end-of-stream marker');
    return { kind: 'eos' };
  }
  if (p.metadataLength < 0 || p.metadataLength > bytes.byteLength - p.prefix) throw invalid(`metadata length ${p.metadataLength} does not fit the message`);
  const message = decodeMessage(bytes.subarray(p.prefix, p.prefix + p.metadataLength));
  const total = p.prefix + p.metadataLength + message.bodyLength;
  if (total !== bytes.byteLength) throw invalid(`the message is ${total} bytes, not ${bytes.byteLength}`);
  return metaOf(message);
}
