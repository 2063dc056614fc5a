/**
 * Feather V2: the Arrow IPC file format, written as pyarrow.feather.write_feather writes it
 * (LZ4 by default, batches of at most 64Ki rows) and read back as a Table, optionally only some
 * columns.
 */
import * as A from 'apache-arrow';
import { badArgument } from './errors.js';
import { FileReader, type FileReaderOptions } from './ipc/file-reader.js';
import { writeIpc, type BatchSource } from './ipc/writer.js';
import { fileSink, type ByteSink } from './io/sinks.js';
import { openMappedFile } from './io/mmap.js';
import type { RandomAccessSource } from './io/sources.js';
import type { CodecRegistry } from './compression/registry.js';

/** Feather's compression names, as pyarrow's `write_feather` spells them. */
export type FeatherCompression = 'lz4' | 'zstd' | 'uncompressed';

/** Options of {@link writeFeather}. */
export interface FeatherWriteOptions {
  /** @default 'lz4' (as pyarrow) */
  compression?: FeatherCompression;
  /** Codec level (zstd). @default the codec's default */
  level?: number;
  /** Most rows per record batch. @default 65536 (as pyarrow) */
  chunkSize?: number;
  /** Where codecs come from. @default CodecRegistry.default */
  codecs?: CodecRegistry;
}

/** Writes a table as a Feather V2 file to a path or sink. Returns the bytes written. */
export async function writeFeather(source: BatchSource, dest: string | ByteSink, opts: FeatherWriteOptions = {}): Promise<number> {
  const compression = opts.compression ?? 'lz4';
  if (!['lz4', 'zstd', 'uncompressed'].includes(compression)) throw badArgument(`feather compression must be lz4, zstd or uncompressed, not ${compression}`);
  const chunkSize = opts.chunkSize ?? 65536;
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw badArgument(`chunkSize must be a positive integer, not ${chunkSize}`);
  const sink = typeof dest === 'string' ? await fileSink(dest) : dest;
  return writeIpc(sink, source, 'file', {
    compression: compression === 'uncompressed' ? null : compression,
    ...(opts.level !== undefined ? { level: opts.level } : {}),
    ...(opts.codecs ? { codecs: opts.codecs } : {}),
    maxBatchRows: chunkSize,
  });
}

/** Options of {@link readFeather}. */
export interface FeatherReadOptions extends FileReaderOptions {
  /** Columns to keep, by name or position. @default all */
  columns?: Array<string | number>;
  /** Read through a memory map (needs the native addon). @default false */
  mmap?: boolean;
}

/** Reads a Feather V2 file as a Table. */
export async function readFeather(source: string | Uint8Array | RandomAccessSource, opts: FeatherReadOptions = {}): Promise<A.Table> {
  const reader = opts.mmap && typeof source === 'string' ? await openMappedFile(source, opts) : await FileReader.open(source, opts);
  try {
    const table = await reader.readAll();
    if (!opts.columns) return table;
    const names = table.schema.fields.map((f) => f.name);
    const idx = opts.columns.map((c) => {
      const i = typeof c === 'number' ? c : names.indexOf(c);
      if (i < 0 || i >= names.length) throw badArgument(`no column ${JSON.stringify(c)} in this file`);
      return i;
    });
    return table.selectAt(idx);
  } finally {
    await reader.close();
  }
}
