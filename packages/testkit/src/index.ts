/**
 * @quiver/testkit: test support shared by Quiver's packages.
 *
 * - Paths: the repository root, the Arrow golden files and fuzz files in ../shared beside the checkout.
 * - The judge: pyarrow (python/judge.py, run as one long-lived `serve` child per process) reads files and says
 *   what they contain, in a canonical JSON form, and whether two files hold the same data.
 * - canonFromArrow: the same canonical form computed from an apache-arrow Table, so tests can compare what
 *   a TypeScript reader produced with what pyarrow read.
 * - tmpDir: a per-test temporary directory.
 *
 * Canonical values (identical on both sides): null -> null; integers -> decimal string; floats -> number,
 * with NaN / Infinity / -Infinity as those strings and -0 as 0; bool -> boolean; utf8 family -> string;
 * binary family -> lowercase hex; decimal -> unscaled integer as decimal string; date32 -> days string;
 * date64 -> ms string; time / timestamp / duration -> the stored integer string in its unit; interval months
 * -> string, day_time -> [days, ms], month_day_nano -> [months, days, nanos] (strings); lists -> arrays;
 * struct -> array of child values in field order; map -> array of [key, value]; union ->
 * [typeCode (number), child value]; dictionary -> decoded value; null type -> null; extension -> storage.
 *
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DateUnit, IntervalUnit, Precision, Type, UnionMode } from 'apache-arrow';
import type { Data, DataType, Table, Vector } from 'apache-arrow';

// ------------------------------------------------------------------------------------------------
// Paths
// ------------------------------------------------------------------------------------------------

const here = dirname(fileURLToPath(import.meta.url));
let cachedRoot: string | undefined;

/**
 * The repository root: the nearest directory above this module that holds `pnpm-workspace.yaml`.
 * @throws Error when no such directory exists.
 */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = here;
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return (cachedRoot = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`@quiver/testkit: no pnpm-workspace.yaml above ${here}`);
    dir = up;
  }
}

/** The golden-file versions Quiver tests against, in `arrow-ipc-stream/integration/`. */
export const GOLDEN_VERSIONS = ['1.0.0-littleendian', '2.0.0-compression', '4.0.0-shareddict'] as const;

/** `<repo>/../shared/testdata/arrow-testing/data/arrow-ipc-stream`: golden and fuzz files live below it. */
export function arrowIpcStreamDir(): string {
  return resolve(repoRoot(), '..', 'shared', 'testdata', 'arrow-testing', 'data', 'arrow-ipc-stream');
}

/**
 * The golden integration directory, or one version folder in it (e.g. `'1.0.0-littleendian'`).
 * The path is returned whether or not it exists; {@link goldenCases} checks.
 */
export function goldenDir(version?: string): string {
  const base = join(arrowIpcStreamDir(), 'integration');
  return version === undefined ? base : join(base, version);
}

/** One golden case: the same data as an IPC stream, an IPC file and the integration JSON. */
export interface GoldenCase {
  /** Version folder, e.g. `'1.0.0-littleendian'`. */
  version: string;
  /** Case name without the `generated_` prefix, e.g. `'primitive'`. */
  name: string;
  /** Absolute path of `generated_<name>.stream`. */
  stream: string;
  /** Absolute path of `generated_<name>.arrow_file`. */
  file: string;
  /** Absolute path of `generated_<name>.json.gz`. */
  json: string;
}

/**
 * Every `generated_*` case in the {@link GOLDEN_VERSIONS} folders, sorted by version then name.
 * @throws Error when a version folder is missing (the tests must not pass on zero cases).
 */
export function goldenCases(): GoldenCase[] {
  const out: GoldenCase[] = [];
  for (const version of GOLDEN_VERSIONS) {
    const dir = goldenDir(version);
    if (!existsSync(dir)) {
      throw new Error(`@quiver/testkit: golden folder missing: ${dir} (../shared beside the checkout)`);
    }
    const names = readdirSync(dir)
      .map((f) => /^generated_(.+)\.stream$/.exec(f)?.[1])
      .filter((n): n is string => n !== undefined)
      .sort();
    for (const name of names) {
      const stem = join(dir, `generated_${name}`);
      out.push({ version, name, stream: `${stem}.stream`, file: `${stem}.arrow_file`, json: `${stem}.json.gz` });
    }
  }
  return out;
}

/** Absolute paths of the fuzzer-found files (`clusterfuzz-*`, `crash-*`) in `arrow-ipc-stream/`, sorted. */
export function fuzzFiles(): string[] {
  const dir = arrowIpcStreamDir();
  if (!existsSync(dir)) throw new Error(`@quiver/testkit: folder missing: ${dir} (../shared beside the checkout)`);
  return readdirSync(dir)
    .filter((f) => f.startsWith('clusterfuzz-') || f.startsWith('crash-'))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * The Python interpreter that has pyarrow: `$QUIVER_PYTHON`, else `<repo>/.venv/bin/python`.
 * @throws Error telling how to create it when it does not exist.
 */
export function python(): string {
  const fromEnv = process.env['QUIVER_PYTHON'];
  const py = fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(repoRoot(), '.venv', 'bin', 'python');
  if (!existsSync(py)) {
    throw new Error(
      `@quiver/testkit: no Python interpreter at ${py}. The tests use pyarrow as their judge: run \`npm test\` ` +
        `(or \`node scripts/setup.mjs\`) at the repository root to create .venv with pyarrow, or set QUIVER_PYTHON.`,
    );
  }
  return py;
}

/** Absolute path of judge.py (pyarrow + stdlib only). */
export function judgeScript(): string {
  return fileURLToPath(new URL('../../python/judge.py', import.meta.url));
}

// ------------------------------------------------------------------------------------------------
// The judge (pyarrow) client
// ------------------------------------------------------------------------------------------------

/** A canonical value (see the module documentation). */
export type CanonValue = null | boolean | number | string | CanonValue[];
/** Canonical columns, by position (field names may repeat). */
export type CanonColumns = CanonValue[][];

/** A field as pyarrow describes it: `type` is `str(field.type)`, e.g. `'timestamp[ms, tz=UTC]'`. */
export interface CanonField {
  name: string;
  type: string;
  nullable: boolean;
}

/** What pyarrow read from one file. */
export interface Canon {
  /** `'file'` when the Arrow file magic is at both ends (Feather V2 included), else `'stream'`. */
  format: 'stream' | 'file';
  schema: CanonField[];
  /** Schema custom metadata. */
  metadata: Record<string, string>;
  /** Each field's custom metadata, by position (`{}` when none). */
  field_metadata: Record<string, string>[];
  /** Each record batch's custom metadata, or null when it has none. */
  batch_metadata: (Record<string, string> | null)[];
  /** Number of record batches. */
  batches: number;
  rows: number;
  /** pyarrow's full validation messages (empty when valid; golden files have some on purpose). */
  validation: string[];
  columns: CanonColumns;
}

/** Compression codec seen in a file's record/dictionary batch metadata. */
export type Compression = 'none' | 'lz4' | 'zstd' | 'mixed';

/** One candidate compared with the original by {@link JudgeClient.equal}. */
export interface EqualResult {
  path: string;
  /** Schema (with metadata) and values equal, chunking aside. */
  equal: boolean;
  /** Why not, when not equal. */
  reason: string | null;
  /** The candidate's body compression, from its IPC metadata; null if the framing could not be walked. */
  compression: Compression | null;
}

/**
 * Cases `judge.py write` can produce:
 * - `basic`: int64, float64, utf8 with nulls; 3 batches of 1000 rows.
 * - `exotic`: types apache-arrow JS cannot read: list_view, large_list_view, run_end_encoded<int32, utf8>,
 *   string_view, binary_view, decimal32, decimal64; nulls; 2 batches.
 * - `modern`: newer types apache-arrow JS *can* read (views, decimal32/64, float16), for cross-checks.
 * - `dict_delta`: stream only; dictionary batch, then a delta, then a replacement.
 * - `legacy`: pre-0.15 framing (no 0xFFFFFFFF continuation marker).
 * - `metadata`: schema, field and record-batch custom metadata.
 * - `big`: one int32 column, `rows` rows in `batches` batches.
 */
export type WriteCaseName = 'basic' | 'exotic' | 'modern' | 'dict_delta' | 'legacy' | 'metadata' | 'big';

/** Options of {@link JudgeClient.writeCase}. */
export interface WriteCaseOptions {
  case: WriteCaseName;
  /** Default `'stream'`. `dict_delta` is stream only. */
  format?: 'stream' | 'file' | 'feather';
  /** Default `'none'`. */
  compression?: 'none' | 'lz4' | 'zstd';
  /** Rows, for `big`. */
  rows?: number;
  /** Record batches, for `big`. */
  batches?: number;
}

/** One IPC message, as judge.py's `inspect` walks the framing. */
export interface InspectMessage {
  offset: number;
  type: 'schema' | 'dictionary' | 'record_batch' | string;
  version: number;
  body_length: number;
  /** Record and dictionary batches: rows. */
  length?: number;
  compression?: 'none' | 'lz4' | 'zstd' | 'unknown';
  dictionary_id?: number;
  is_delta?: boolean;
}

/** The IPC messages of a file. */
export interface InspectResult {
  format: 'stream' | 'file';
  /** A message without the 0xFFFFFFFF continuation marker (pre-0.15 framing) was seen. */
  legacy_framing: boolean;
  messages: InspectMessage[];
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  cmd: string;
}

/**
 * Client of `judge.py serve`: one child per process, started on first use, requests serialized with ids.
 * The child never keeps the process alive while idle, and is killed when the process exits; if it dies,
 * pending requests are rejected with its stderr and the next request starts a new one.
 */
export class JudgeClient {
  private child: ChildProcessWithoutNullStreams | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stdoutBuf = '';
  private stderrBuf = '';
  private exitHookInstalled = false;

  /** Canonical content of one Arrow IPC stream / file / Feather V2 file. */
  async canon(path: string): Promise<Canon> {
    const r = (await this.request('canon', [path])) as Canon[];
    return r[0]!;
  }

  /** {@link canon} for several files in one request. */
  async canonMany(paths: readonly string[]): Promise<Canon[]> {
    if (paths.length === 0) return [];
    return (await this.request('canon', [...paths])) as Canon[];
  }

  /** Compare each candidate with the original (schema incl. metadata, then values). Never rejects on inequality. */
  async equal(original: string, candidates: readonly string[]): Promise<EqualResult[]> {
    const r = (await this.request('equal', [original, ...candidates])) as { results: EqualResult[] };
    return r.results;
  }

  /** Have pyarrow write a test case to `path`. */
  async writeCase(path: string, opts: WriteCaseOptions): Promise<void> {
    const args = [path, '--case', opts.case, '--format', opts.format ?? 'stream', '--compression', opts.compression ?? 'none'];
    if (opts.rows !== undefined) args.push('--rows', String(opts.rows));
    if (opts.batches !== undefined) args.push('--batches', String(opts.batches));
    await this.request('write', args);
  }

  /** The IPC messages of a file (types, body lengths, compression codec, dictionary deltas, framing). */
  async inspect(path: string): Promise<InspectResult> {
    return (await this.request('inspect', [path])) as InspectResult;
  }

  /** The pyarrow version the judge runs. */
  async pyarrowVersion(): Promise<string> {
    return ((await this.request('ping', [])) as { pyarrow: string }).pyarrow;
  }

  /** Stop the child now (a later request starts a new one). */
  close(): void {
    const child = this.child;
    this.child = null;
    if (child) {
      child.stdin.end();
      child.kill();
    }
  }

  private request(cmd: string, args: string[]): Promise<unknown> {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = this.ensureChild();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const id = this.nextId++;
    return new Promise((resolvePromise, rejectPromise) => {
      this.pending.set(id, { resolve: resolvePromise, reject: rejectPromise, cmd });
      if (this.pending.size === 1) this.setRef(child, true);
      child.stdin.write(JSON.stringify({ id, cmd, args }) + '\n');
    });
  }

  private ensureChild(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(python(), [judgeScript(), 'serve'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' },
    });
    this.child = child;
    this.stdoutBuf = '';
    this.stderrBuf = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr.on('data', (chunk: string) => {
      this.stderrBuf = (this.stderrBuf + chunk).slice(-16384);
    });
    child.stdin.on('error', () => {
      /* reported through 'exit' / 'error' */
    });
    child.on('error', (err) => this.onDeath(child, `could not run ${python()}: ${err.message}`));
    child.on('exit', (code, signal) =>
      this.onDeath(child, `judge.py exited (${signal ?? `code ${code}`})${this.stderrBuf ? `:\n${this.stderrBuf}` : ''}`),
    );
    this.setRef(child, false);
    if (!this.exitHookInstalled) {
      this.exitHookInstalled = true;
      process.once('exit', () => this.child?.kill());
    }
    return child;
  }

  /** Keep the event loop alive only while requests are pending. */
  private setRef(child: ChildProcessWithoutNullStreams, ref: boolean): void {
    const streams = [child.stdin, child.stdout, child.stderr] as unknown as { ref?: () => void; unref?: () => void }[];
    if (ref) {
      child.ref();
      for (const s of streams) s.ref?.();
    } else {
      child.unref();
      for (const s of streams) s.unref?.();
    }
  }

  private onStdout(chunk: string): void {
    this.stdoutBuf += chunk;
    let nl: number;
    while ((nl = this.stdoutBuf.indexOf('\n')) >= 0) {
      const line = this.stdoutBuf.slice(0, nl);
      this.stdoutBuf = this.stdoutBuf.slice(nl + 1);
      if (line.trim() === '') continue;
      let reply: { id: number | null; ok: boolean; result?: unknown; error?: string };
      try {
        reply = JSON.parse(line);
      } catch {
        this.failAll(`judge.py wrote a line that is not JSON: ${line.slice(0, 500)}`);
        continue;
      }
      const p = reply.id === null ? undefined : this.pending.get(reply.id);
      if (!p) continue;
      this.pending.delete(reply.id!);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(`judge ${p.cmd}: ${reply.error ?? 'failed'}`));
      if (this.pending.size === 0 && this.child) this.setRef(this.child, false);
    }
  }

  private onDeath(child: ChildProcessWithoutNullStreams, message: string): void {
    if (this.child === child) this.child = null;
    this.failAll(message);
  }

  private failAll(message: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new Error(`judge ${p.cmd}: ${message}`));
  }
}

/** The process-wide judge client (pyarrow). */
export const judge = new JudgeClient();

// ------------------------------------------------------------------------------------------------
// Canonical values from apache-arrow
// ------------------------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8');

function view(buf: ArrayBufferView): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

function canonFloat(v: number): CanonValue {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v === 0 ? 0 : v; // -0 as 0
}

function halfToDouble(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Signed little-endian integer of `width` bytes at `pos`, as a decimal string. */
function signedLE(dv: DataView, pos: number, width: number): string {
  switch (width) {
    case 1:
      return String(dv.getInt8(pos));
    case 2:
      return String(dv.getInt16(pos, true));
    case 4:
      return String(dv.getInt32(pos, true));
    case 8:
      return dv.getBigInt64(pos, true).toString();
  }
  let x = 0n;
  for (let k = width - 8; k >= 0; k -= 8) x = (x << 64n) | dv.getBigUint64(pos + k, true);
  return BigInt.asIntN(width * 8, x).toString();
}

function unsignedLE(dv: DataView, pos: number, width: number): string {
  switch (width) {
    case 1:
      return String(dv.getUint8(pos));
    case 2:
      return String(dv.getUint16(pos, true));
    case 4:
      return String(dv.getUint32(pos, true));
    case 8:
      return dv.getBigUint64(pos, true).toString();
  }
  throw new Error(`unsigned integer of ${width} bytes`);
}

/** Reads integers of one width / signedness from a fixed-width values buffer (no typed-array assumptions). */
function intReader(values: ArrayBufferView, bitWidth: number, signed: boolean): (i: number) => string {
  const dv = view(values);
  const w = bitWidth / 8;
  return signed ? (i) => signedLE(dv, i * w, w) : (i) => unsignedLE(dv, i * w, w);
}

function intIndex(values: ArrayBufferView, bitWidth: number, signed: boolean): (i: number) => number {
  const read = intReader(values, bitWidth, signed);
  return (i) => Number(read(i));
}

function bigintOffsets(offsets: ArrayLike<number | bigint>): (i: number) => number {
  return (i) => Number(offsets[i]!);
}

type Dict = Map<Vector, CanonValue[]>;

function canonVector(vec: Vector, dicts: Dict): CanonValue[] {
  const cached = dicts.get(vec);
  if (cached) return cached;
  const out: CanonValue[] = [];
  for (const d of vec.data) for (const v of canonDataWith(d, dicts)) out.push(v);
  dicts.set(vec, out);
  return out;
}

function nulls(n: number): CanonValue[] {
  return new Array<CanonValue>(n).fill(null);
}

function mapValid(data: Data, f: (i: number) => CanonValue): CanonValue[] {
  const out = new Array<CanonValue>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data.getValid(i) ? f(i) : null;
  return out;
}

/**
 * Canonical values of one apache-arrow `Data` (one chunk of one column), walking its buffers.
 *
 * Buffer conventions of apache-arrow's Data (v21): fixed-width values, offsets and type ids are already
 * sliced to the logical start (index i is element i); the validity bitmap and Bool values are indexed at
 * `offset + i`; children of variable-width types (lists, maps, dense unions) are not sliced, children of
 * struct / fixed-size-list / sparse unions are.
 */
export function canonFromData(data: Data): CanonValue[] {
  return canonDataWith(data, new Map());
}

function canonDataWith(data: Data, dicts: Dict): CanonValue[] {
  const n = data.length;
  if (n === 0) return [];
  const type = data.type as DataType & Record<string, unknown>;
  switch (data.typeId as Type) {
    case Type.Null:
      return nulls(n);
    case Type.Bool: {
      const bits = data.values as Uint8Array;
      return mapValid(data, (i) => {
        const pos = data.offset + i;
        return (bits[pos >> 3]! & (1 << (pos & 7))) !== 0;
      });
    }
    case Type.Int: {
      const read = intReader(data.values as ArrayBufferView, type['bitWidth'] as number, type['isSigned'] as boolean);
      return mapValid(data, read);
    }
    case Type.Float: {
      const dv = view(data.values as ArrayBufferView);
      const precision = type['precision'] as Precision;
      if (precision === Precision.HALF) return mapValid(data, (i) => canonFloat(halfToDouble(dv.getUint16(2 * i, true))));
      if (precision === Precision.SINGLE) return mapValid(data, (i) => canonFloat(dv.getFloat32(4 * i, true)));
      return mapValid(data, (i) => canonFloat(dv.getFloat64(8 * i, true)));
    }
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
    case Type.LargeBinary: {
      const bytes = data.values as Uint8Array;
      const off = bigintOffsets(data.valueOffsets as ArrayLike<number | bigint>);
      const text = data.typeId === Type.Utf8 || data.typeId === Type.LargeUtf8;
      return mapValid(data, (i) => {
        const b = bytes.subarray(off(i), off(i + 1));
        return text ? utf8.decode(b) : hex(b);
      });
    }
    case Type.Utf8View:
    case Type.BinaryView: {
      const views = data.values as unknown as Uint8Array;
      const dv = view(views);
      const text = data.typeId === Type.Utf8View;
      return mapValid(data, (i) => {
        const at = 16 * i;
        const size = dv.getInt32(at, true);
        let b: Uint8Array;
        if (size <= 12) {
          b = new Uint8Array(views.buffer, views.byteOffset + at + 4, Math.max(0, size));
        } else {
          const buf = data.variadicBuffers[dv.getInt32(at + 8, true)];
          if (!buf) throw new Error('view refers to a missing variadic buffer');
          const start = dv.getInt32(at + 12, true);
          b = buf.subarray(start, start + size);
        }
        return text ? utf8.decode(b) : hex(b);
      });
    }
    case Type.FixedSizeBinary: {
      const bytes = data.values as Uint8Array;
      const w = type['byteWidth'] as number;
      return mapValid(data, (i) => hex(bytes.subarray(i * w, (i + 1) * w)));
    }
    case Type.Decimal: {
      const w = (type['bitWidth'] as number) / 8;
      const dv = view(data.values as ArrayBufferView);
      return mapValid(data, (i) => signedLE(dv, i * w, w));
    }
    case Type.Date: {
      const day = (type['unit'] as DateUnit) === DateUnit.DAY;
      return mapValid(data, intReader(data.values as ArrayBufferView, day ? 32 : 64, true));
    }
    case Type.Time:
      return mapValid(data, intReader(data.values as ArrayBufferView, type['bitWidth'] as number, true));
    case Type.Timestamp:
    case Type.Duration:
      return mapValid(data, intReader(data.values as ArrayBufferView, 64, true));
    case Type.Interval: {
      const dv = view(data.values as ArrayBufferView);
      const unit = type['unit'] as IntervalUnit;
      if (unit === IntervalUnit.YEAR_MONTH) return mapValid(data, (i) => String(dv.getInt32(4 * i, true)));
      if (unit === IntervalUnit.DAY_TIME) {
        return mapValid(data, (i) => [String(dv.getInt32(8 * i, true)), String(dv.getInt32(8 * i + 4, true))]);
      }
      return mapValid(data, (i) => [
        String(dv.getInt32(16 * i, true)),
        String(dv.getInt32(16 * i + 4, true)),
        dv.getBigInt64(16 * i + 8, true).toString(),
      ]);
    }
    case Type.List:
    case Type.LargeList:
    case Type.Map: {
      const off = bigintOffsets(data.valueOffsets as ArrayLike<number | bigint>);
      const child = canonDataWith(data.children[0]!, dicts); // map: struct<key, value> rows are [k, v]
      return mapValid(data, (i) => child.slice(off(i), off(i + 1)));
    }
    case Type.FixedSizeList: {
      const size = type['listSize'] as number;
      const child = canonDataWith(data.children[0]!, dicts);
      return mapValid(data, (i) => child.slice(i * size, (i + 1) * size));
    }
    case Type.Struct: {
      const kids = data.children.map((c) => canonDataWith(c, dicts)); // by position: names may repeat
      return mapValid(data, (i) => kids.map((k) => k[i]!));
    }
    case Type.Union: {
      const ids = data.typeIds as unknown as ArrayLike<number>;
      const toChild = type['typeIdToChildIndex'] as Record<number, number>;
      const kids = data.children.map((c) => canonDataWith(c, dicts));
      const dense = (type['mode'] as UnionMode) === UnionMode.Dense;
      const off = dense ? bigintOffsets(data.valueOffsets as ArrayLike<number | bigint>) : (i: number) => i;
      const out = new Array<CanonValue>(n);
      for (let i = 0; i < n; i++) {
        const code = ids[i]!;
        const kid = kids[toChild[code]!];
        if (!kid) throw new Error(`union type id ${code} has no child`);
        out[i] = [code, kid[off(i)]!];
      }
      return out;
    }
    case Type.Dictionary: {
      const indexType = type['indices'] as { bitWidth: number; isSigned: boolean };
      const idx = intIndex(data.values as ArrayBufferView, indexType.bitWidth, indexType.isSigned);
      const dictionary = data.dictionary;
      if (!dictionary) throw new Error('dictionary-encoded data without a dictionary');
      const values = canonVector(dictionary, dicts);
      return mapValid(data, (i) => {
        const k = idx(i);
        if (k < 0 || k >= values.length) throw new Error(`dictionary index ${k} out of range (${values.length})`);
        return values[k]!;
      });
    }
    default:
      throw new Error(`canonFromArrow: unsupported type ${String(data.type)} (typeId ${data.typeId})`);
  }
}

/** Canonical values of an apache-arrow Vector (all its chunks). */
export function canonFromVector(vector: Vector): CanonValue[] {
  return canonVector(vector, new Map());
}

/**
 * Canonical columns (by position) of an apache-arrow Table: the same JSON as `judge.canon(path).columns`
 * for a file holding the same data.
 */
export function canonFromArrow(table: Table): CanonColumns {
  const dicts: Dict = new Map();
  const ncols = table.schema.fields.length;
  const columns: CanonColumns = [];
  for (let j = 0; j < ncols; j++) {
    const col: CanonValue[] = [];
    for (const batch of table.batches) {
      const child = batch.data.children[j];
      if (!child) throw new Error(`record batch lacks column ${j}`);
      for (const v of canonDataWith(child, dicts)) col.push(v);
    }
    columns.push(col);
  }
  return columns;
}

// ------------------------------------------------------------------------------------------------
// Temporary directories
// ------------------------------------------------------------------------------------------------

/** What {@link tmpDir} needs of an ava ExecutionContext. */
export interface TeardownContext {
  teardown(fn: () => void | Promise<void>): void;
}

const leftoverDirs = new Set<string>();
let leftoverHook = false;

/**
 * A new, empty temporary directory. With an ava context it is removed by `t.teardown`; without one it is
 * removed when the process exits.
 */
export function tmpDir(t?: TeardownContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'quiver-test-'));
  if (t) {
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  } else {
    leftoverDirs.add(dir);
    if (!leftoverHook) {
      leftoverHook = true;
      process.once('exit', () => {
        for (const d of leftoverDirs) rmSync(d, { recursive: true, force: true });
      });
    }
  }
  return dir;
}

// ------------------------------------------------------------------------------------------------
// Fault injection: seeded kill points, descriptor leak checks, private tmpfs mounts (faults.ts)
// ------------------------------------------------------------------------------------------------

export * from './faults.js';
