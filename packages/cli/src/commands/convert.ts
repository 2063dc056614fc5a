/**
 * `quiver convert IN OUT`: any form to any form with core's message-level `convert`, so every
 * Arrow type converts whatever apache-arrow supports. The output is written to a temporary file
 * beside OUT and renamed over it only once complete: a failed conversion leaves no partial OUT,
 * and converting a file onto itself is safe. (An OUT that is not a regular file, such as
 * /dev/null, is written directly.)
 */
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { convert, fileSink, type ConvertResult, type OutputFormat } from '@quiver/core';
import { formatBytes, type ProgressBar } from '../progress.js';
import { requireRegularFile } from './inspect.js';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['stream', 'file', 'feather'];
export const COMPRESSIONS = ['none', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof COMPRESSIONS)[number];

const BY_EXTENSION: Record<string, OutputFormat> = {
  '.arrows': 'stream',
  '.stream': 'stream',
  '.arrow': 'file',
  '.ipc': 'file',
  '.feather': 'feather',
};

/** The output format OUT's extension implies: .arrows/.stream, .arrow/.ipc, .feather; else stream. */
export function formatFromExtension(path: string): OutputFormat {
  return BY_EXTENSION[extname(path).toLowerCase()] ?? 'stream';
}

/** The compression used when none is asked for: lz4 for Feather (as pyarrow), none otherwise. */
export function defaultCompression(format: OutputFormat): CompressionName {
  return format === 'feather' ? 'lz4' : 'none';
}

export interface ConvertArgs {
  input: string;
  output: string;
  format: OutputFormat;
  compression: CompressionName;
  level?: number;
  /** Drawn while converting when stderr is a terminal. */
  progress?: (totalBytes: number) => ProgressBar;
}

export async function convertCommand(a: ConvertArgs): Promise<ConvertResult> {
  const total = await requireRegularFile(a.input, 'convert');
  const bar = a.progress?.(total);
  // OUT that exists and is not a regular file (/dev/null, a FIFO, a terminal) is written in
  // place: renaming a temporary file over it would replace the device node itself.
  const inPlace = await stat(a.output).then((st) => !st.isFile(), () => false);
  const tmp = inPlace ? a.output : join(dirname(a.output), `.${basename(a.output)}.quiver-${process.pid}.tmp`);
  let result: ConvertResult;
  try {
    result = await convert(a.input, await fileSink(tmp), {
      format: a.format,
      compression: a.compression,
      ...(a.level !== undefined ? { level: a.level } : {}),
      ...(bar ? { onProgress: (p: { bytesIn: number; bytesOut: number }) => bar.update(p.bytesIn, p.bytesOut) } : {}),
    });
    if (!inPlace) await rename(tmp, a.output);
  } catch (e) {
    bar?.finish();
    if (!inPlace) await unlink(tmp).catch(() => {});
    throw e;
  }
  bar?.finish(
    `converted ${result.recordBatches} batches, ${result.rows} rows: ${formatBytes(total)} ${result.inputFormat} → ` +
      `${formatBytes(result.bytesWritten)} ${a.format}${a.compression === 'none' ? '' : ` (${a.compression})`}`,
  );
  return result;
}
