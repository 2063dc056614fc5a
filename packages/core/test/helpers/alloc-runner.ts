/**
 * Child-process entry for the allocation checks of the bad-input tests: crafted inputs whose
 * metadata claims 1 GiB (a body, a block, a decompressed buffer, rows, a flatbuffer vector) but
 * that hold about 100 bytes. Each is read the way a user would, and the growth of
 * `process.memoryUsage().arrayBuffers` is sampled while the reader pulls bytes and after it fails.
 * One JSON line per case: {@link AllocResult}. Run with --expose-gc (for a steady baseline).
 *
 *   node --expose-gc alloc-runner.js <scratch dir>
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  convert,
  EOS,
  FileReader,
  fileSource,
  frameMessage,
  IpcEncoder,
  lz4Codec,
  memorySource,
  QuiverError,
  StreamReader,
  zstdCodec,
  type ByteSink,
  type CompressionCodec,
  type Message,
  type RandomAccessSource,
  type ReadSink,
  type RecordBatchHeader,
  type Schema,
} from '../../src/index.js';
import { encodeFooter } from '../../src/format/footer.js';
import { rootTable } from '../../src/flatbuf/reader.js';

export interface AllocResult {
  case: string;
  ok: boolean;
  name?: string;
  code?: string;
  quiver?: boolean;
  message?: string;
  /** Largest growth of arrayBuffers seen during the read, in MiB. */
  peakMiB: number;
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;

const schema: Schema = {
  fields: [{ name: 'x', nullable: true, type: { kind: 'int', bitWidth: 32, signed: true }, children: [], dictionary: null, metadata: new Map() }],
  metadata: new Map(),
  endianness: 'little',
  features: [],
};

const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const schemaBytes = () => concat(new IpcEncoder(schema, 'stream').start().flatMap((m) => m.buffers));

/** A framed record batch message (metadata only) with the given header and declared body length. */
function batchMetadata(batch: RecordBatchHeader, bodyLength: number): Uint8Array {
  const message: Message = { version: 4, header: { type: 'recordBatch', batch }, bodyLength, metadata: new Map() };
  return concat(frameMessage(message, []).buffers);
}

const hundred = new Uint8Array(100).fill(7);

/** schema, then a batch whose metadata claims a 1 GiB body, then only 100 bytes. */
function bodyClaim(claim = GiB): { bytes: Uint8Array; batchAt: number; batchMetaLength: number } {
  const head = schemaBytes();
  const meta = batchMetadata(
    { length: 1, nodes: [{ length: 1, nullCount: 0 }], buffers: [{ offset: 0, length: 0 }, { offset: 0, length: claim }], compression: null, variadicBufferCounts: [] },
    claim,
  );
  return { bytes: concat([head, meta, hundred]), batchAt: head.byteLength, batchMetaLength: meta.byteLength };
}

/** An Arrow file around {@link bodyClaim}: its footer's block, too, claims the 1 GiB body. */
function fileBodyClaim(): Uint8Array {
  const { bytes, batchAt, batchMetaLength } = bodyClaim();
  const footer = encodeFooter({
    version: 4,
    schema,
    dictionaries: [],
    recordBatches: [{ offset: 8 + batchAt, metaDataLength: batchMetaLength, bodyLength: GiB }],
    metadata: new Map(),
  });
  const tail = new Uint8Array(10);
  new DataView(tail.buffer).setInt32(0, footer.byteLength, true);
  tail.set(new TextEncoder().encode('ARROW1'), 4);
  const head = new Uint8Array([0x41, 0x52, 0x52, 0x4f, 0x57, 0x31, 0, 0]);
  return concat([head, bytes, EOS, footer, tail]);
}

/** A valid small file whose footer-length field claims 1 GiB. */
function footerLengthClaim(): Uint8Array {
  const enc = new IpcEncoder(schema, 'file');
  const bytes = concat([...enc.start(), ...enc.finish()].flatMap((m) => m.buffers));
  new DataView(bytes.buffer, bytes.byteOffset).setInt32(bytes.byteLength - 10, GiB, true);
  return bytes;
}

/** A batch of 25 int32s whose compressed data buffer declares 1 GiB uncompressed. */
function decompressClaim(codec: CompressionCodec): Uint8Array {
  const frame = (codec === 'lz4' ? lz4Codec() : zstdCodec()).compress(hundred);
  const buffer = new Uint8Array(8 + frame.byteLength);
  new DataView(buffer.buffer).setUint32(0, GiB, true);
  buffer.set(frame, 8);
  const padded = new Uint8Array((buffer.byteLength + 7) & ~7);
  padded.set(buffer);
  const meta = batchMetadata(
    { length: 25, nodes: [{ length: 25, nullCount: 0 }], buffers: [{ offset: 0, length: 0 }, { offset: 0, length: buffer.byteLength }], compression: codec, variadicBufferCounts: [] },
    padded.byteLength,
  );
  return concat([schemaBytes(), meta, padded, EOS]);
}

/** A batch claiming 2^30 rows of int32 with a 100-byte data buffer. */
function rowsClaim(): Uint8Array {
  const meta = batchMetadata(
    { length: GiB, nodes: [{ length: GiB, nullCount: 0 }], buffers: [{ offset: 0, length: 0 }, { offset: 0, length: 104 }], compression: null, variadicBufferCounts: [] },
    104,
  );
  return concat([schemaBytes(), meta, hundred, new Uint8Array(4), EOS]);
}

/** A schema message whose fields vector claims 2^28 entries. */
function fieldsVectorClaim(): Uint8Array {
  const bytes = schemaBytes();
  const meta = bytes.subarray(8);
  const fields = rootTable(meta, 'message').table(2, 'schema')!.vector(1, 4)!;
  new DataView(meta.buffer, meta.byteOffset).setUint32(fields.start - 4, 2 ** 28, true);
  return concat([bytes, EOS]);
}

// ---- measuring ------------------------------------------------------------------------------

let baseline = 0;
let peak = 0;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
};

/** The bytes in 64-byte chunks, sampling memory each time the reader asks for more. */
async function* chunked(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += 64) {
    sample();
    yield bytes.subarray(at, at + 64);
  }
  sample();
}

/** A random-access source sampling memory after every read. */
function sampled(src: RandomAccessSource): RandomAccessSource {
  return {
    size: src.size,
    async read(offset, length) {
      const b = await src.read(offset, length);
      sample();
      return b;
    },
    ...(src.close ? { close: () => src.close!() } : {}),
  };
}

const nullSink: ByteSink = { write() {}, async close() {} };

/**
 * A source with `readInto`, as the socket transport's connections: 64-byte reads, into the
 * sink's memory when it offers some.
 */
function directReads(bytes: Uint8Array): AsyncIterable<Uint8Array> & { readInto(sink: ReadSink): Promise<boolean> } {
  let at = 0;
  return {
    async readInto(sink: ReadSink): Promise<boolean> {
      for (;;) {
        sample();
        if (at >= bytes.byteLength) return false;
        const target = sink.readBuffer() ?? new Uint8Array(64);
        const n = Math.min(64, target.byteLength, bytes.byteLength - at);
        target.set(bytes.subarray(at, (at += n)));
        if (!sink.write(target.subarray(0, n))) return true;
      }
    },
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('readInto should have been used')) }),
  };
}

async function readStream(source: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
  const r = await StreamReader.open(source);
  for await (const _ of r) sample();
}

/** Reads every batch of a file; the source is ours to close (FileReader only closes paths it opened). */
async function readFile(src: RandomAccessSource): Promise<void> {
  try {
    const r = await FileReader.open(sampled(src));
    for await (const _ of r) sample();
  } finally {
    await src.close?.();
  }
}

const dir = process.argv[2]!;
const onDisk = (name: string, bytes: Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};

const cases: Array<[string, () => Promise<unknown>]> = [
  ['stream body claim, one buffer', () => readStream(bodyClaim().bytes)],
  ['stream body claim, 64-byte chunks', () => readStream(chunked(bodyClaim().bytes))],
  // Under the default 256 MiB message limit, from a source that reads into the reader's memory
  // (as a socket connection does): the body's own buffer waits for the bytes.
  ['stream body claim of 200 MiB, direct reads', () => readStream(directReads(bodyClaim(200 * MiB).bytes))],
  ['stream body claim, convert', () => convert(bodyClaim().bytes, nullSink, { format: 'file' })],
  ['file block claim, in memory', () => readFile(memorySource(fileBodyClaim()))],
  ['file block claim, from disk', async () => readFile(await fileSource(onDisk('block.arrow', fileBodyClaim())))],
  ['file block claim, convert from disk', () => convert(onDisk('block2.arrow', fileBodyClaim()), nullSink, { format: 'stream' })],
  ['footer length claim, from disk', async () => readFile(await fileSource(onDisk('footer.arrow', footerLengthClaim())))],
  ['lz4 buffer claims 1 GiB decompressed', () => readStream(chunked(decompressClaim('lz4')))],
  ['zstd buffer claims 1 GiB decompressed', () => readStream(chunked(decompressClaim('zstd')))],
  ['zstd buffer claims 1 GiB decompressed, convert', () => convert(decompressClaim('zstd'), nullSink, { format: 'stream' })],
  ['batch claims 2^30 rows', () => readStream(chunked(rowsClaim()))],
  ['schema claims 2^28 fields', () => readStream(chunked(fieldsVectorClaim()))],
  // The control: proves the sampling sees an allocation of this kind (it must report ~256 MiB).
  [
    'control: allocates 256 MiB, then fails',
    async () => {
      const big = new Uint8Array(256 * MiB);
      sample();
      throw new Error(`control ${big.byteLength}`);
    },
  ],
];

for (const [name, run] of cases) {
  gc?.();
  baseline = process.memoryUsage().arrayBuffers;
  peak = 0;
  const r: AllocResult = { case: name, ok: false, peakMiB: 0 };
  try {
    await run();
    r.ok = true;
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown; constructor?: { name?: string } };
    r.name = err?.constructor?.name ?? typeof e;
    if (typeof err?.code === 'string') r.code = err.code;
    r.quiver = e instanceof QuiverError;
    r.message = String(err?.message ?? e).slice(0, 300);
  }
  sample();
  r.peakMiB = Math.round((peak / MiB) * 10) / 10;
  process.stdout.write(JSON.stringify(r) + '\n');
}
