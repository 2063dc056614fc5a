/**
 * What an Arrow IPC stream or file holds (form, compression, schema, batch and row counts),
 * found by reading metadata only. A file is read through its footer and the metadata of each
 * block; a stream is walked message by message with positional reads that skip every body
 * (its length is in the message's metadata). So inspecting a file of any size reads a few bytes
 * per batch, never the data.
 */
import { invalid, truncated } from './errors.js';
import type { Block } from './format/footer.js';
import { decodeMessage, type CompressionCodec, type Message } from './format/message.js';
import type { Schema } from './format/types.js';
import { checkBlockBounds, decodeBlockMetadata, FileReader } from './ipc/file-reader.js';
import { ARROW_MAGIC, checkMessageBytes, type FramerOptions } from './ipc/framing.js';
import { limitOf } from './limits.js';
import { fileSource, memorySource, type RandomAccessSource } from './io/sources.js';

/** Body compression seen across a source's record and dictionary batches. */
export type InspectCompression = 'none' | CompressionCodec | 'mixed';

/** What {@link inspect} found. */
export interface InspectResult {
  /** `'file'` when the ARROW1 magic opens the source (Feather V2 included), else `'stream'`. */
  format: 'stream' | 'file';
  /**
   * The codec named in the batches' metadata: `'none'` when no batch is compressed (or there are
   * no batches), `'mixed'` when batches disagree.
   */
  compression: InspectCompression;
  /** The schema in Quiver's model (name each field's type with {@link fieldTypeName}). */
  schema: Schema;
  /** Record batches. For a stream, those of its first stream (as readers see it). */
  batches: number;
  /** Rows over all record batches. */
  rows: number;
  /** Dictionary batches (deltas included). */
  dictionaries: number;
  /** Size of the source in bytes. */
  size: number;
}

/** Limits applied to the metadata {@link inspect} reads (message size, schema depth and width). */
export type InspectOptions = FramerOptions;

/** A compression tally: the first codec seen, turned into `'mixed'` on disagreement. */
class CompressionSeen {
  value: InspectCompression | undefined;
  add(c: CompressionCodec | null): void {
    const v = c ?? 'none';
    if (this.value === undefined) this.value = v;
    else if (this.value !== v) this.value = 'mixed';
  }
}

/**
 * Inspects a path, bytes, or any RandomAccessSource, reading only metadata (see the module
 * documentation). Fails with the codec's errors (ERR_QUIVER_INVALID_IPC, ERR_QUIVER_TRUNCATED, ...)
 * when the metadata it reads is malformed; bodies are not read, so they are not validated.
 */
export async function inspect(source: string | Uint8Array | RandomAccessSource, opts: InspectOptions = {}): Promise<InspectResult> {
  const owns = typeof source === 'string';
  const src = typeof source === 'string' ? await fileSource(source) : source instanceof Uint8Array ? memorySource(source) : source;
  try {
    if (src.size === 0) throw invalid('the input is empty: it holds neither an Arrow stream nor an Arrow file');
    const head = await src.read(0, Math.min(src.size, ARROW_MAGIC.byteLength));
    const isFile = head.byteLength === ARROW_MAGIC.byteLength && ARROW_MAGIC.every((b, i) => head[i] === b);
    return isFile ? await inspectFile(src, opts) : await inspectStream(src, opts);
  } finally {
    if (owns) await src.close?.();
  }
}

async function inspectFile(src: RandomAccessSource, opts: InspectOptions): Promise<InspectResult> {
  // FileReader.open reads and checks both magics and the footer, nothing else.
  const reader = await FileReader.open(src, opts);
  const { footer } = reader;
  const seen = new CompressionSeen();
  let rows = 0;
  for (const block of footer.dictionaries) {
    const m = await blockMetadata(src, block, opts);
    if (m.header.type !== 'dictionaryBatch') throw invalid(`the footer lists a ${m.header.type} message as a dictionary`);
    seen.add(m.header.batch.compression);
  }
  for (const block of footer.recordBatches) {
    const m = await blockMetadata(src, block, opts);
    if (m.header.type !== 'recordBatch') throw invalid(`the footer lists a ${m.header.type} message as a record batch`);
    seen.add(m.header.batch.compression);
    rows += m.header.batch.length;
  }
  return {
    format: 'file',
    compression: seen.value ?? 'none',
    schema: footer.schema,
    batches: footer.recordBatches.length,
    rows,
    dictionaries: footer.dictionaries.length,
    size: src.size,
  };
}

/** Decodes the metadata of one file block, reading `metaDataLength` bytes and never the body. */
async function blockMetadata(src: RandomAccessSource, block: Block, opts: InspectOptions): Promise<Message> {
  checkBlockBounds(block, src.size);
  return decodeBlockMetadata(await src.read(block.offset, block.metaDataLength), block, opts);
}

async function inspectStream(src: RandomAccessSource, opts: InspectOptions): Promise<InspectResult> {
  const maxMessage = limitOf(opts, 'maxMessageBytes');
  const seen = new CompressionSeen();
  let schema: Schema | undefined;
  let batches = 0;
  let rows = 0;
  let dictionaries = 0;
  let pos = 0;
  // The same framing rules as MessageFramer, with reads at offsets instead of pushed chunks.
  while (pos < src.size) {
    if (src.size - pos < 4) throw truncated(`the input ended inside a message header (${src.size - pos} stray bytes at ${pos})`);
    const first = await src.read(pos, Math.min(8, src.size - pos));
    const view = new DataView(first.buffer, first.byteOffset, first.byteLength);
    let prefix = 4;
    let len = view.getInt32(0, true);
    if (len === -1) {
      if (first.byteLength < 8) throw truncated(`the input ended inside a message header at ${pos}`);
      prefix = 8;
      len = view.getInt32(4, true);
    }
    if (len === 0) {
      // End-of-stream. Readers stop at the first stream's end; one before any schema is an empty
      // stream and is skipped, as StreamReader does.
      pos += prefix;
      if (schema) break;
      continue;
    }
    if (len < 0) throw invalid(`message metadata length ${len} at ${pos} is negative`);
    checkMessageBytes(maxMessage, prefix + len);
    if (pos + prefix + len > src.size) throw truncated(`the input ended inside the metadata of the message at ${pos}`);
    const message = decodeMessage(await src.read(pos + prefix, len), opts);
    checkMessageBytes(maxMessage, prefix + len + message.bodyLength);
    const end = pos + prefix + len + message.bodyLength;
    if (end > src.size) {
      throw truncated(`the input ended inside a message body (${src.size - pos - prefix - len} of ${message.bodyLength} bytes)`);
    }
    const h = message.header;
    if (h.type === 'schema') {
      if (schema) throw invalid('a second schema message inside one stream');
      schema = h.schema;
    } else {
      if (!schema) throw invalid(`a stream must start with a schema message, not a ${h.type}`);
      seen.add(h.batch.compression);
      if (h.type === 'dictionaryBatch') dictionaries++;
      else {
        batches++;
        rows += h.batch.length;
      }
    }
    pos = end;
  }
  if (!schema) throw invalid('the input holds no Arrow stream (no schema message before its end)');
  return { format: 'stream', compression: seen.value ?? 'none', schema, batches, rows, dictionaries, size: src.size };
}
