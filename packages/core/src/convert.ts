/**
 * Conversion between stream, file and Feather forms and between codecs, at the message level:
 * bodies are decompressed and recompressed buffer by buffer and metadata rewritten, without
 * decoding values. So every Arrow type converts faithfully, including those the apache-arrow
 * data model lacks.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { ErrorCode, QuiverError, invalid } from './errors.js';
import type { CompressionCodec, Message, RecordBatchHeader } from './format/message.js';
import type { Schema } from './format/types.js';
import { readBodyBuffers, type BodyReadOptions } from './ipc/body.js';
import { IpcEncoder, type IpcForm } from './ipc/encoder.js';
import { FileReader } from './ipc/file-reader.js';
import { ARROW_MAGIC, type EncodedMessage } from './ipc/framing.js';
import { readMessages } from './ipc/stream-reader.js';
import type { ByteSink } from './io/sinks.js';
import type { CodecRegistry } from './compression/registry.js';

/** What {@link convert} writes: an IPC stream, an IPC file, or Feather V2 (an IPC file, LZ4 by default). */
export type OutputFormat = 'stream' | 'file' | 'feather';

/** Options of {@link convert}. */
export interface ConvertOptions {
  /** The output form. */
  format: OutputFormat;
  /** @default 'lz4' for feather, 'none' otherwise */
  compression?: CompressionCodec | 'none';
  /** Codec level (zstd). @default the codec's default */
  level?: number;
  /** Where codecs come from (to read and to write). @default CodecRegistry.default */
  codecs?: CodecRegistry;
  /** Called after each message with the messages written so far. */
  onProgress?: (p: { messages: number; bytesIn: number; bytesOut: number }) => void;
}

/** What {@link convert} did. */
export interface ConvertResult {
  /** The form detected in the input. */
  inputFormat: 'stream' | 'file';
  /** Record batches written. */
  recordBatches: number;
  /** Rows over all record batches. */
  rows: number;
  /** Bytes written to the sink. */
  bytesWritten: number;
}

/** One message of any input form, as the converter sees it. */
interface InputMessage {
  message: Message;
  body: Uint8Array;
}

/** Whether the bytes at the start of a path or buffer are an Arrow file (ARROW1 magic). */
export async function detectForm(input: string | Uint8Array): Promise<'stream' | 'file'> {
  let head: Uint8Array;
  if (typeof input === 'string') {
    const fh = await open(input, 'r').catch((cause) => {
      throw new QuiverError(ErrorCode.IO, `cannot open ${input}: ${(cause as Error).message}`, { cause });
    });
    try {
      head = new Uint8Array(6);
      const { bytesRead } = await fh.read(head, 0, 6, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } else head = input.subarray(0, 6);
  return head.byteLength === 6 && ARROW_MAGIC.every((b, i) => head[i] === b) ? 'file' : 'stream';
}

async function* fileMessages(reader: FileReader): AsyncGenerator<InputMessage> {
  // In a file, every dictionary applies to every batch: send them all first.
  for (const b of reader.footer.dictionaries) yield reader.readBlock(b);
  for (const b of reader.footer.recordBatches) yield reader.readBlock(b);
}

async function* streamMessages(input: string | Uint8Array, readOpts: BodyReadOptions): AsyncGenerator<InputMessage | Schema> {
  const source = typeof input === 'string' ? createReadStream(input, { highWaterMark: 1 << 20 }) : input;
  let seenSchema = false;
  for await (const m of readMessages(source)) {
    if (m === 'eos') {
      if (seenSchema) return; // the first stream only, as pyarrow's open_stream
      continue;
    }
    if (m.message.header.type === 'schema') {
      if (seenSchema) throw invalid('a second schema message inside one stream');
      seenSchema = true;
      yield m.message.header.schema;
      continue;
    }
    if (!seenSchema) throw invalid('a stream must start with a schema message');
    yield m;
  }
}

/**
 * Converts `input` (a path or bytes, stream or file) to `opts.format`, written to `sink`. The sink
 * is closed when this settles, whether it succeeds or fails.
 */
export async function convert(input: string | Uint8Array, sink: ByteSink, opts: ConvertOptions): Promise<ConvertResult> {
  const form: IpcForm = opts.format === 'stream' ? 'stream' : 'file';
  const wanted = opts.compression ?? (opts.format === 'feather' ? 'lz4' : 'none');
  const compression = wanted === 'none' ? null : wanted;
  const readOpts: BodyReadOptions = opts.codecs ? { codecs: opts.codecs } : {};
  let reader: FileReader | undefined;
  let messages: AsyncGenerator<InputMessage | Schema> | undefined;
  // Everything, opening the input included, sits inside the try: a failure anywhere must still
  // close the sink, the file reader and a half-read stream source (an open file descriptor).
  try {
    const inputFormat = await detectForm(input);
    let schema: Schema;
    if (inputFormat === 'file') {
      reader = await FileReader.open(input, readOpts);
      schema = reader.ipcSchema;
      messages = fileMessages(reader);
    } else {
      messages = streamMessages(input, readOpts);
      const first = await messages.next();
      if (first.done) throw invalid('the input holds no Arrow stream (it is empty)');
      schema = first.value as Schema;
    }
    const encoder = new IpcEncoder(schema, form, {
      compression,
      ...(opts.level !== undefined ? { level: opts.level } : {}),
      ...(opts.codecs ? { codecs: opts.codecs } : {}),
    });
    const write = async (ms: EncodedMessage[]) => sink.write(ms.flatMap((m) => m.buffers));
    let recordBatches = 0;
    let rows = 0;
    let count = 0;
    let bytesIn = 0;
    const seenDictionaries = new Set<number>();
    await write(encoder.start());
    for await (const item of messages) {
      const { message, body } = item as InputMessage;
      const h = message.header;
      if (h.type === 'schema') throw invalid('unexpected schema message');
      const batch: RecordBatchHeader = h.batch;
      const buffers = readBodyBuffers(batch, body, readOpts);
      if (h.type === 'dictionaryBatch') {
        if (form === 'file' && !h.isDelta && seenDictionaries.has(h.id)) {
          throw new QuiverError(ErrorCode.DICTIONARY_REPLACEMENT, `dictionary ${h.id} is replaced mid-stream; the file format cannot carry that`);
        }
        seenDictionaries.add(h.id);
        await write(encoder.batchMessage({ type: 'dictionaryBatch', id: h.id, isDelta: h.isDelta }, batch.length, batch.nodes, buffers, batch.variadicBufferCounts, message.metadata));
      } else {
        recordBatches++;
        rows += batch.length;
        await write(encoder.batchMessage({ type: 'recordBatch' }, batch.length, batch.nodes, buffers, batch.variadicBufferCounts, message.metadata));
      }
      bytesIn += body.byteLength;
      opts.onProgress?.({ messages: ++count, bytesIn, bytesOut: encoder.byteLength });
    }
    await write(encoder.finish());
    return { inputFormat, recordBatches, rows, bytesWritten: encoder.byteLength };
  } finally {
    await messages?.return(undefined); // a no-op once the messages ran out
    await reader?.close();
    await sink.close();
  }
}
