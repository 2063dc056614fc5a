/**
 * Body compression codecs behind a registry. The defaults wrap well-kept packages (lz4-napi for
 * LZ4_FRAME, zstd-napi for ZSTD), loaded on first use so that importing Quiver never fails when
 * one is missing; a missing codec is ERR_QUIVER_CODEC_UNAVAILABLE when data needs it.
 */
import { createRequire } from 'node:module';
import { ErrorCode, QuiverError } from '../errors.js';
import type { CompressionCodec } from '../format/message.js';

/** A compression codec for IPC body buffers. */
export interface Codec {
  /** The compression it implements, as named in a batch's metadata. */
  readonly name: CompressionCodec;
  /** Whether {@link Codec.compress} honours a level. */
  readonly supportsLevel: boolean;
  /** Compresses one buffer (as one frame of the codec's format). */
  compress(data: Uint8Array, level?: number): Uint8Array;
  /**
   * Decompresses `data`, which the writer declared to hold `uncompressedLength` bytes. Must
   * throw (any error) when the data is corrupt; the caller checks the resulting length.
   */
  decompress(data: Uint8Array, uncompressedLength: number): Uint8Array;
}

const require = createRequire(import.meta.url);

function load<T>(pkg: string, codec: CompressionCodec): T {
  try {
    return require(pkg) as T;
  } catch (cause) {
    throw new QuiverError(ErrorCode.CODEC_UNAVAILABLE, `the ${codec} codec needs the '${pkg}' package, which did not load`, { cause });
  }
}

interface Lz4Napi {
  compressFrameSync(data: Uint8Array): Uint8Array;
  decompressFrameSync(data: Uint8Array): Uint8Array;
}

/** LZ4_FRAME through lz4-napi (lz4_flex). It has a single, fast level. */
export function lz4Codec(): Codec {
  let lib: Lz4Napi | undefined;
  const get = (): Lz4Napi => (lib ??= load<Lz4Napi>('lz4-napi', 'lz4'));
  return {
    name: 'lz4',
    supportsLevel: false,
    compress: (data) => get().compressFrameSync(asBuffer(data)),
    decompress: (data) => get().decompressFrameSync(asBuffer(data)),
  };
}

interface ZstdBinding {
  CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  DCtx: new () => {
    decompress(dst: Uint8Array, src: Uint8Array): number;
    decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number];
  };
  compressBound(size: number): number;
}

/** Beyond this ratio a declared size is not trusted up front: output grows as it decodes. */
const TRUSTED_RATIO = 64;

/** ZSTD through zstd-napi's binding. Levels 1-22 (and negative fast levels); default 3. */
export function zstdCodec(): Codec {
  let z: { cctx: InstanceType<ZstdBinding['CCtx']>; dctx: InstanceType<ZstdBinding['DCtx']>; bound: (n: number) => number } | undefined;
  const get = () => {
    if (z) return z;
    const b = load<ZstdBinding>('zstd-napi/binding', 'zstd');
    return (z = { cctx: new b.CCtx(), dctx: new b.DCtx(), bound: (n) => b.compressBound(n) });
  };
  return {
    name: 'zstd',
    supportsLevel: true,
    compress(data, level = 3) {
      const { cctx, bound } = get();
      const out = Buffer.allocUnsafe(bound(data.byteLength));
      const n = cctx.compress(out, data, level);
      return out.subarray(0, n);
    },
    decompress(data, uncompressedLength) {
      const { dctx } = get();
      if (uncompressedLength <= data.byteLength * TRUSTED_RATIO + 65536) {
        const out = new Uint8Array(uncompressedLength);
        const n = dctx.decompress(out, data);
        return n === uncompressedLength ? out : out.subarray(0, n);
      }
      // An unusual ratio: decode in bounded steps so memory follows real output, not a claim.
      const parts: Uint8Array[] = [];
      let produced = 0;
      let rest = data;
      while (rest.byteLength > 0 && produced <= uncompressedLength) {
        const chunk = new Uint8Array(Math.min(1 << 20, uncompressedLength - produced + 1));
        const [, made, used] = dctx.decompressStream(chunk, rest);
        if (made === 0 && used === 0) break;
        parts.push(chunk.subarray(0, made));
        produced += made;
        rest = rest.subarray(used);
      }
      return Buffer.concat(parts);
    },
  };
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * The codecs a reader or writer may use. Immutable: {@link CodecRegistry.with} returns a new
 * registry, so no module-level state is ever changed by a caller.
 */
export class CodecRegistry {
  private readonly codecs: ReadonlyMap<CompressionCodec, Codec>;
  /** A registry of exactly these codecs (a later one replaces an earlier one of the same name). */
  constructor(codecs: Iterable<Codec>) {
    this.codecs = new Map([...codecs].map((c) => [c.name, c]));
  }
  /** The built-in codecs: lz4-napi and zstd-napi. */
  static readonly default: CodecRegistry = new CodecRegistry([lz4Codec(), zstdCodec()]);
  /** A registry with `codec` added or replacing the one of the same name. */
  with(codec: Codec): CodecRegistry {
    return new CodecRegistry([...this.codecs.values(), codec]);
  }
  /** The codec for `name`; ERR_QUIVER_CODEC_UNAVAILABLE when none is registered. */
  get(name: CompressionCodec): Codec {
    const c = this.codecs.get(name);
    if (!c) throw new QuiverError(ErrorCode.CODEC_UNAVAILABLE, `no ${name} codec is registered`);
    return c;
  }
}
