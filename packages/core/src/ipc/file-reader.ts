/**
 * Reading Arrow IPC files by random access: the footer first, then only the bytes of what is
 * asked for. Over a memory map every batch is a view of the mapping (see ../io/mmap.ts).
 */
import * as A from 'apache-arrow';
import { ErrorCode, FormatMismatchError, invalid, QuiverError, truncated } from '../errors.js';
import { decodeFooter, type Block, type Footer } from '../format/footer.js';
import { decodeMessage, type Message } from '../format/message.js';
import type { Schema } from '../format/types.js';
import { BatchDecoder, type DecoderOptions } from './decoder.js';
import { ARROW_MAGIC, checkMessageBytes } from './framing.js';
import type { FramerOptions } from './framing.js';
import { limitOf } from '../limits.js';
import { fileSource, memorySource, type RandomAccessSource } from '../io/sources.js';

/** A file reader's limits (every one of {@link ReadLimits}) and codecs. */
export interface FileReaderOptions extends FramerOptions, DecoderOptions {}

const MAGIC_LEN = ARROW_MAGIC.byteLength;

function hasMagic(b: Uint8Array, at: number): boolean {
  return ARROW_MAGIC.every((x, i) => b[at + i] === x);
}

/** A message read from a file block: decoded metadata and a view of its body. */
export interface BlockMessage {
  /** The decoded metadata. */
  message: Message;
  /** The body (a view of what the source returned for the block). */
  body: Uint8Array;
}

/**
 * An Arrow IPC file (Feather V2 included) read by random access: {@link FileReader.open} reads
 * the footer only, then each batch asked for reads just that batch's bytes (and, the first time,
 * the dictionaries). Through {@link openMappedFile} every batch is a view of the mapping.
 */
export class FileReader implements AsyncIterable<A.RecordBatch> {
  private decoder: BatchDecoder | undefined;
  private closed = false;

  private constructor(
    private readonly source: RandomAccessSource,
    /** The decoded footer: schema, block lists, metadata. */
    readonly footer: Footer,
    private readonly opts: FileReaderOptions,
    private readonly ownsSource: boolean,
  ) {}

  /**
   * Opens a file from a path, bytes, or any RandomAccessSource. Reads the footer only.
   * A path is read with ordinary file reads; use {@link openMappedFile} to map it instead.
   */
  static async open(source: string | Uint8Array | RandomAccessSource, opts: FileReaderOptions = {}): Promise<FileReader> {
    const owns = typeof source === 'string';
    const src = typeof source === 'string' ? await fileSource(source) : source instanceof Uint8Array ? memorySource(source) : source;
    try {
      return new FileReader(src, await readFooter(src, opts), opts, owns);
    } catch (e) {
      if (owns) await src.close?.();
      throw e;
    }
  }

  /** The schema in Quiver's model. */
  get ipcSchema(): Schema {
    return this.footer.schema;
  }

  /** The schema as apache-arrow's Schema (ERR_QUIVER_UNSUPPORTED_TYPE for types it lacks). */
  get schema(): A.Schema {
    return this.getDecoder().arrowSchema;
  }

  /** Record batches in the file. */
  get numRecordBatches(): number {
    return this.footer.recordBatches.length;
  }

  /** Dictionary batches in the file. */
  get numDictionaries(): number {
    return this.footer.dictionaries.length;
  }

  /** Custom metadata of the footer (distinct from the schema's). */
  get footerMetadata(): Map<string, string> {
    return this.footer.metadata;
  }

  /** Reads one block's message (message level: no decoding of buffers). */
  async readBlock(block: Block): Promise<BlockMessage> {
    if (this.closed) throw new QuiverError(ErrorCode.CLOSED, 'the file reader is closed');
    checkBlockBounds(block, this.source.size);
    const total = block.metaDataLength + block.bodyLength;
    checkMessageBytes(limitOf(this.opts, 'maxMessageBytes'), total);
    const bytes = await this.source.read(block.offset, total);
    const message = decodeBlockMetadata(bytes, block, this.opts);
    return { message, body: bytes.subarray(block.metaDataLength, block.metaDataLength + message.bodyLength) };
  }

  /** Record batch `i` (0-based), reading the dictionaries first if not yet read. */
  async recordBatch(i: number): Promise<A.RecordBatch> {
    const block = this.footer.recordBatches[i];
    if (!Number.isInteger(i) || block === undefined) {
      throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `record batch ${i} does not exist (the file has ${this.numRecordBatches})`);
    }
    const decoder = await this.loadDictionaries();
    const { message, body } = await this.readBlock(block);
    return decoder.recordBatch(message, body);
  }

  /** Every record batch in file order, each read when it is reached. */
  async *[Symbol.asyncIterator](): AsyncIterator<A.RecordBatch> {
    for (let i = 0; i < this.numRecordBatches; i++) yield await this.recordBatch(i);
  }

  /** Every record batch as a Table. */
  async readAll(): Promise<A.Table> {
    const batches: A.RecordBatch[] = [];
    for await (const b of this) batches.push(b);
    return new A.Table(this.schema, batches);
  }

  /**
   * Closes the file when the reader opened it (from a path); a source you passed is yours to
   * close. Batches already read stay valid. Later reads fail with ERR_QUIVER_CLOSED. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsSource) await this.source.close?.();
  }

  /** {@link FileReader.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private getDecoder(): BatchDecoder {
    return (this.decoder ??= new BatchDecoder(this.footer.schema, this.footer.version, this.opts));
  }

  private dictionariesLoaded = false;

  private async loadDictionaries(): Promise<BatchDecoder> {
    const decoder = this.getDecoder();
    if (this.dictionariesLoaded) return decoder;
    decoder.arrowSchema; // an unsupported type fails here, before reading bodies
    for (const block of this.footer.dictionaries) {
      const { message, body } = await this.readBlock(block);
      const h = message.header;
      if (h.type !== 'dictionaryBatch') throw invalid(`footer lists a ${h.type} message as a dictionary`);
      decoder.dictionary(h.id, h.isDelta, h.batch, body);
    }
    this.dictionariesLoaded = true;
    return decoder;
  }
}

/**
 * Checks that `block` lies inside the data of a `fileSize`-byte file (before the footer).
 */
export function checkBlockBounds(block: Block, fileSize: number): void {
  const end = fileSize - MAGIC_LEN - 4;
  const total = block.metaDataLength + block.bodyLength;
  if (block.offset + total > end) throw invalid(`a block (${block.offset}+${total}) runs past the data of a ${fileSize}-byte file`);
  if (block.metaDataLength < 8) throw invalid(`block at ${block.offset} has a metadata length ${block.metaDataLength} too short for a message`);
}

/**
 * Decodes the message at the start of a block's bytes (at least its `metaDataLength` bytes):
 * the continuation marker (or a pre-0.15 length), then the flatbuffer, checked against the block.
 */
export function decodeBlockMetadata(bytes: Uint8Array, block: Block, opts?: FramerOptions): Message {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let prefix = 4;
  let len = view.getInt32(0, true);
  if (len === -1) {
    prefix = 8;
    len = view.getInt32(4, true);
  }
  if (len <= 0 || prefix + len > block.metaDataLength) throw invalid(`block at ${block.offset} has a bad metadata length ${len}`);
  const message = decodeMessage(bytes.subarray(prefix, prefix + len), opts);
  if (message.bodyLength > block.bodyLength) throw invalid(`block at ${block.offset}: message body is longer than its block`);
  return message;
}

/** Reads and checks the magic at both ends and the footer. */
async function readFooter(src: RandomAccessSource, opts: FileReaderOptions): Promise<Footer> {
  const head = await src.read(0, Math.min(src.size, 8));
  if (head.byteLength < MAGIC_LEN || !hasMagic(head, 0)) {
    // A continuation marker or a plausible legacy length at the start means an IPC stream.
    const looksLikeStream = head.byteLength >= 4 && (new DataView(head.buffer, head.byteOffset).getInt32(0, true) === -1 || head[3] === 0);
    if (looksLikeStream) throw new FormatMismatchError('file', 'stream');
    throw invalid('not an Arrow file: the ARROW1 magic is missing at the start');
  }
  const minSize = 8 + 4 + MAGIC_LEN; // head magic+pad, footer length, tail magic
  if (src.size < minSize) throw truncated(`an Arrow file is at least ${minSize} bytes; this one has ${src.size}`);
  const tail = await src.read(src.size - MAGIC_LEN - 4, MAGIC_LEN + 4);
  if (!hasMagic(tail, 4)) throw truncated('the ARROW1 magic is missing at the end: the file is truncated or still being written');
  const footerLength = new DataView(tail.buffer, tail.byteOffset, 4).getInt32(0, true);
  const footerEnd = src.size - MAGIC_LEN - 4;
  if (footerLength <= 0 || footerLength > footerEnd - 8) throw invalid(`footer length ${footerLength} does not fit a ${src.size}-byte file`);
  const footer = decodeFooter(await src.read(footerEnd - footerLength, footerLength), opts);
  return footer;
}

/** Reads a whole Arrow file into a Table. */
export async function readFileTable(source: string | Uint8Array | RandomAccessSource, opts?: FileReaderOptions): Promise<A.Table> {
  const r = await FileReader.open(source, opts);
  try {
    return await r.readAll();
  } finally {
    await r.close();
  }
}
