/**
 * Where the messages of a valid IPC stream or file lie, so the bad-input tests know what each
 * truncation or byte flip hit, and which cuts leave a readable stream.
 */
import { decodeMessage } from '../../src/index.js';

export interface MessageSpan {
  type: 'schema' | 'recordBatch' | 'dictionaryBatch';
  /** First byte of the framing prefix. */
  start: number;
  /** First byte of the body (= end of the padded metadata). */
  bodyStart: number;
  /** One past the last body byte. */
  end: number;
}

export interface StreamLayout {
  messages: MessageSpan[];
  /** Offset of the end-of-stream marker, or null when the stream ends without one. */
  eos: number | null;
}

/** Walks the framing of a valid stream from `from` (continuation marker or legacy prefix). */
export function streamLayout(bytes: Uint8Array, from = 0, to = bytes.byteLength): StreamLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages: MessageSpan[] = [];
  let at = from;
  while (at + 4 <= to) {
    let prefix = 4;
    let len = view.getInt32(at, true);
    if (len === -1) {
      prefix = 8;
      len = view.getInt32(at + 4, true);
    }
    if (len === 0) return { messages, eos: at };
    const meta = bytes.subarray(at + prefix, at + prefix + len);
    const m = decodeMessage(meta);
    const bodyStart = at + prefix + len;
    messages.push({ type: m.header.type, start: at, bodyStart, end: bodyStart + m.bodyLength });
    at = bodyStart + m.bodyLength;
  }
  return { messages, eos: null };
}

/**
 * Offsets a stream may be cut at and still be read without error (pyarrow, too, accepts a stream
 * that ends between messages without its end-of-stream marker), with the record batches read then.
 * Offset 0 is not one: an empty input holds no stream at all.
 */
export function readableCuts(layout: StreamLayout): Map<number, number> {
  const out = new Map<number, number>();
  let batches = 0;
  for (const m of layout.messages) {
    if (m.type === 'recordBatch') batches++;
    out.set(m.end, batches);
  }
  return out;
}

/** The byte ranges of a file that are not message bodies: magic, message metadata, footer. */
export function metadataRanges(bytes: Uint8Array, layout: StreamLayout): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let at = 0;
  for (const m of layout.messages) {
    ranges.push([at, m.bodyStart]);
    at = m.end;
  }
  ranges.push([at, bytes.byteLength]);
  return ranges;
}

/** The same stream in pre-0.15 framing: every continuation marker dropped. */
export function toLegacyFraming(bytes: Uint8Array): Uint8Array {
  const layout = streamLayout(bytes);
  const parts: Uint8Array[] = [];
  for (const m of layout.messages) parts.push(bytes.subarray(m.start + 4, m.end));
  parts.push(new Uint8Array(4)); // legacy end-of-stream: a zero length
  return Buffer.concat(parts);
}

/** An Arrow file's messages: the stream that follows its 8-byte head (magic and padding). */
export function fileLayout(bytes: Uint8Array): StreamLayout {
  return streamLayout(bytes, 8);
}
