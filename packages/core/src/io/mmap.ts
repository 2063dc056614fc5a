/**
 * Memory-mapped reading through the optional native addon (@quiver/native). The whole file is
 * mapped read-only; pages load when touched, and every batch read through it is a view of the
 * mapping, so reading allocates next to nothing. Core imports the addon lazily: without it,
 * these functions fail with ERR_QUIVER_NATIVE_UNAVAILABLE and everything else still works.
 */
import { ErrorCode, QuiverError } from '../errors.js';
import { FileReader, type FileReaderOptions } from '../ipc/file-reader.js';
import { memorySource, type RandomAccessSource } from './sources.js';

interface NativeModule {
  isNativeAvailable: boolean;
  nativeLoadError?: Error;
  native?: { mapFileShared(path: string): SharedArrayBuffer };
}

let nativeModule: Promise<NativeModule | null> | undefined;

async function loadNative(): Promise<NativeModule | null> {
  // The specifier is a variable so TypeScript does not require the optional package at build time.
  const name = '@quiver/native';
  return (nativeModule ??= import(name).then(
    (m: NativeModule) => m,
    () => null,
  ));
}

/** Whether memory-mapped reading works here (the native addon is built and loads). */
export async function isMmapAvailable(): Promise<boolean> {
  const m = await loadNative();
  return !!m?.isNativeAvailable && !!m.native;
}

/** A memory-mapped file as a RandomAccessSource: reads are views of the mapping. */
export interface MappedSource extends RandomAccessSource {
  /** The mapping, for callers that want to read it directly. */
  readonly bytes: Uint8Array;
  /**
   * Forgets the mapping. It is unmapped when nothing references it any more, so the views
   * handed out (batches, tables) stay valid as long as they are used.
   */
  close(): Promise<void>;
}

/**
 * Maps `path` read-only (native addon). ERR_QUIVER_NATIVE_UNAVAILABLE without the addon,
 * ERR_QUIVER_IO when the file cannot be mapped (missing, not a regular file, no permission).
 * Do not truncate a file while it is mapped: touching the lost pages raises SIGBUS.
 */
export async function mapFile(path: string): Promise<MappedSource> {
  const m = await loadNative();
  if (!m?.isNativeAvailable || !m.native) {
    throw new QuiverError(ErrorCode.NATIVE_UNAVAILABLE, 'memory mapping needs the @quiver/native addon, which is not built or did not load', {
      cause: m?.nativeLoadError,
    });
  }
  // A SharedArrayBuffer, not an ArrayBuffer: V8 counts ArrayBuffer backing stores as memory of
  // the isolate, which a mapping is not (see @quiver/native's mapFileShared).
  let ab: SharedArrayBuffer;
  try {
    ab = m.native.mapFileShared(path);
  } catch (cause) {
    throw new QuiverError(ErrorCode.IO, `cannot map ${path}: ${(cause as Error).message}`, { cause });
  }
  const bytes = new Uint8Array(ab);
  return { ...memorySource(bytes), bytes, async close() {} };
}

/**
 * Opens an Arrow file through a memory map: zero-copy random access. Batches are views of the
 * mapping and stay valid after the reader is closed; the mapping goes when the last is collected.
 */
export async function openMappedFile(path: string, opts?: FileReaderOptions): Promise<FileReader> {
  const src = await mapFile(path);
  // The reader does not own a mapped source's lifetime: batches it returns view the mapping.
  return FileReader.open(src, opts);
}
