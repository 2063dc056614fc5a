// Bad input: whatever bytes arrive, reading ends with a QuiverError carrying an ERR_QUIVER_ code,
// never another exception, a crash, a hang or a runaway allocation (as Arrow C++'s fuzzed IPC
// reader). Reads run in child processes with a 256 MiB heap and a watchdog (helpers/reads.ts), so
// a crash or hang fails the job it happened on instead of killing ava.
// - The fuzzer-found files of arrow-testing, through StreamReader, FileReader and convert.
// - Valid golden streams and files cut at every byte (files: a sample) and with single bytes
//   flipped: a cut stream reads when cut between messages and fails ERR_QUIVER_TRUNCATED inside
//   one; a cut file fails ERR_QUIVER_TRUNCATED; a flipped byte reads or fails with a code.
// - Streams given to FileReader and files to StreamReader: ERR_QUIVER_FORMAT_MISMATCH.
// - Metadata claiming 1 GiB over ~100 bytes: a coded error, without allocating the claim.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzzFiles, goldenCases, tmpDir, type GoldenCase } from '@quiver/testkit';
import { convert, ErrorCode, FileReader, FormatMismatchError, IpcEncoder, QuiverError, readFeather, readStreams, StreamReader, type ByteSink, type Field } from '../src/index.js';
import { fileLayout, metadataRanges, readableCuts, streamLayout, toLegacyFraming } from './helpers/layout.js';
import { describe, jobCount, mutationOf, runNode, runReads, type JobGroup, type JobResult, type ReadMode } from './helpers/reads.js';
import type { AllocResult } from './helpers/alloc-runner.js';
import { limited } from './helpers/limited.js';

const isCoded = (r: JobResult) => !r.ok && !r.crashed && r.quiver === true && typeof r.code === 'string' && r.code.startsWith('ERR_QUIVER_');
const ARROW1 = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31];
const startsWithMagic = (b: Uint8Array) => ARROW1.every((x, i) => b[i] === x);

/** Runs one group per mode over the same mutations; results per mode, in job order. */
async function readInChild(path: string, modes: ReadMode[], spec: Pick<JobGroup, 'cuts' | 'flips'>): Promise<Map<ReadMode, JobResult[]>> {
  const groups: JobGroup[] = modes.map((mode) => ({ path, mode, ...spec }));
  const results = await limited(() => runReads({ groups }));
  const per = new Map<ReadMode, JobResult[]>();
  const n = jobCount(groups[0]!);
  modes.forEach((mode, k) => per.set(mode, results.slice(k * n, (k + 1) * n)));
  return per;
}

/** Asserts `bad` is empty, listing (up to 20 of) the offending inputs. */
function noneBad(t: ExecutionContext, bad: string[], what: string): void {
  t.deepEqual(bad.slice(0, 20), [], `${bad.length} ${what}`);
}

// ---- the fuzz corpus ------------------------------------------------------------------------

const fuzz = fuzzFiles();

test('the fuzz corpus is all there', (t) => {
  t.true(fuzz.length >= 80, `${fuzz.length} fuzz files`);
});

const fuzzCorpus = test.macro({
  async exec(t, mode: ReadMode) {
    const groups: JobGroup[] = fuzz.map((path) => ({ path, mode }));
    const results = await limited(() => runReads({ groups }));
    t.is(results.length, fuzz.length);
    const bad: string[] = [];
    results.forEach((r, i) => {
      const path = fuzz[i]!;
      const name = path.split('/').pop();
      if (!isCoded(r)) bad.push(`${name}: ${describe(r)}`);
      else if (mode === 'file' && !startsWithMagic(readFileSync(path))) {
        // A fuzzed stream is no file: FileReader must say which form it saw.
        if (r.code !== ErrorCode.FORMAT_MISMATCH || r.detected !== 'stream') bad.push(`${name}: expected FORMAT_MISMATCH/stream, got ${describe(r)}`);
      }
    });
    noneBad(t, bad, `fuzz files did not end with a coded QuiverError through ${mode}`);
  },
  title: (_t, mode: ReadMode) => `every fuzz file read through ${mode === 'convert' ? 'convert' : mode === 'file' ? 'FileReader' : 'StreamReader'} ends with a coded QuiverError`,
});

test(fuzzCorpus, 'stream');
test(fuzzCorpus, 'file');
test(fuzzCorpus, 'convert');

// ---- truncations and byte flips of valid golden data ------------------------------------------

const SAMPLES = ['1.0.0-littleendian/primitive', '1.0.0-littleendian/nested', '1.0.0-littleendian/dictionary', '2.0.0-compression/lz4', '2.0.0-compression/zstd'];
const golden = new Map(goldenCases().map((c) => [`${c.version}/${c.name}`, c]));
const sample = (key: string): GoldenCase => {
  const c = golden.get(key);
  if (!c) throw new Error(`golden case ${key} is missing`);
  return c;
};

/** Streams are cut at every byte up to this many. */
const STREAM_CUT_CAP = 64 * 1024;
/** Files up to this size are cut and flipped at every byte; larger ones at a sample. */
const EVERY_BYTE = 4096;
/** Positions sampled in a larger file: every metadata byte, the rest spread over the bodies. */
const FLIP_SAMPLE = 2500;

const streamCuts = test.macro({
  async exec(t, key: string) {
    const path = sample(key).stream;
    const bytes = readFileSync(path);
    const layout = streamLayout(bytes);
    t.not(layout.eos, null);
    const readable = readableCuts(layout);
    const cuts = Array.from({ length: Math.min(bytes.byteLength, STREAM_CUT_CAP) }, (_, n) => n);
    const results = (await readInChild(path, ['stream'], { cuts })).get('stream')!;
    t.is(results.length, cuts.length);
    const bad: string[] = [];
    let readableSeen = 0;
    results.forEach((r, n) => {
      if (n === 0) {
        // Nothing at all is no stream (pyarrow agrees), rather than a truncated one.
        if (r.ok || r.code !== ErrorCode.INVALID_IPC) bad.push(`cut 0: expected INVALID_IPC, got ${describe(r)}`);
        return;
      }
      const batches = readable.get(n);
      if (batches !== undefined) {
        // Cut between messages: a stream without its end-of-stream marker, readable as pyarrow reads it.
        readableSeen++;
        if (!r.ok || r.batches !== batches) bad.push(`cut ${n} (between messages): expected ${batches} batches, got ${describe(r)}`);
      } else if (!isCoded(r) || r.code !== ErrorCode.TRUNCATED) {
        bad.push(`cut ${n} (inside a message): expected TRUNCATED, got ${describe(r)}`);
      }
    });
    t.is(readableSeen, layout.messages.length, 'every message boundary was tried');
    noneBad(t, bad, 'cuts read wrongly');
  },
  title: (_t, key: string) => `${key}.stream cut at every byte: readable between messages, ERR_QUIVER_TRUNCATED inside one`,
});

const fileCuts = test.macro({
  async exec(t, key: string) {
    const path = sample(key).file;
    const bytes = readFileSync(path);
    const size = bytes.byteLength;
    const lengths = new Set<number>();
    if (size <= EVERY_BYTE) for (let n = 0; n < size; n++) lengths.add(n);
    else {
      for (let n = 0; n < 64; n++) lengths.add(n);
      for (let n = size - 64; n < size; n++) lengths.add(n);
      for (const m of fileLayout(bytes).messages) for (const at of [m.start, m.bodyStart, m.end]) for (const d of [-1, 0, 1]) lengths.add(at + d);
      for (let n = 0; n < size; n += 7) lengths.add(n);
    }
    const cuts = [...lengths].filter((n) => n >= 0 && n < size).sort((a, b) => a - b);
    const results = (await readInChild(path, ['file'], { cuts })).get('file')!;
    t.is(results.length, cuts.length);
    const bad: string[] = [];
    results.forEach((r, i) => {
      const n = cuts[i]!;
      if (!isCoded(r)) bad.push(`cut ${n}: ${describe(r)}`);
      // Shorter than the magic there is nothing to recognise; from the magic on, the file is cut short.
      else if (n >= 6 && r.code !== ErrorCode.TRUNCATED) bad.push(`cut ${n}: expected TRUNCATED, got ${describe(r)}`);
    });
    noneBad(t, bad, 'cuts read wrongly');
    t.log(`${cuts.length} cuts of ${size} bytes`);
  },
  title: (_t, key: string) => `${key}.arrow_file cut short: ERR_QUIVER_TRUNCATED`,
});

/** Flip positions: every byte of a small input; else every metadata byte plus a spread over bodies. */
function flipPositions(bytes: Uint8Array, form: 'stream' | 'file'): number[] {
  if (bytes.byteLength <= EVERY_BYTE) return Array.from({ length: bytes.byteLength }, (_, i) => i);
  const layout = form === 'stream' ? streamLayout(bytes) : fileLayout(bytes);
  const positions = new Set<number>();
  const ranges = metadataRanges(bytes, layout);
  for (const [a, b] of ranges) for (let i = a; i < b; i++) positions.add(i);
  const rest = FLIP_SAMPLE - positions.size;
  const stride = Math.max(1, Math.floor(bytes.byteLength / Math.max(1, rest)));
  for (let i = 0; i < bytes.byteLength; i += stride) positions.add(i);
  return [...positions].sort((a, b) => a - b);
}

const flips = test.macro({
  async exec(t, key: string, form: 'stream' | 'file') {
    const c = sample(key);
    const path = form === 'stream' ? c.stream : c.file;
    const bytes = readFileSync(path);
    const positions = flipPositions(bytes, form);
    t.true(positions.length >= Math.min(bytes.byteLength, 2000), `${positions.length} positions`);
    const spec = { flips: { positions, xors: [0xff, 0x01] } };
    const jobs = jobCount({ path, mode: form, ...spec });
    const modes: ReadMode[] = [form, 'convert'];
    const per = await readInChild(path, modes, spec);
    for (const mode of modes) {
      const results = per.get(mode)!;
      t.is(results.length, jobs);
      const bad: string[] = [];
      let failed = 0;
      results.forEach((r, i) => {
        if (!r.ok) failed++;
        if (!r.ok && !isCoded(r)) bad.push(`${JSON.stringify(mutationOf({ path, mode, ...spec }, i))}: ${describe(r)}`);
      });
      noneBad(t, bad, `flips read through ${mode} ended without a coded error`);
      // Flips in metadata must be caught: a suite where nothing fails would prove nothing.
      t.true(failed > 0 && failed < results.length, `${mode}: ${failed} of ${results.length} failed`);
    }
    t.log(`${positions.length} positions x 2 flips of ${bytes.byteLength} bytes`);
  },
  title: (_t, key: string, form: 'stream' | 'file') =>
    `${key}.${form === 'stream' ? 'stream' : 'arrow_file'} with single bytes flipped: reads, or fails with a coded error (${form === 'stream' ? 'StreamReader' : 'FileReader'} and convert)`,
});

for (const key of SAMPLES) {
  test(streamCuts, key);
  test(fileCuts, key);
  test(flips, key, 'stream');
  test(flips, key, 'file');
}

// ---- the wrong form ---------------------------------------------------------------------------

const mismatch = test.macro({
  async exec(t, c: GoldenCase) {
    const stream = readFileSync(c.stream);
    const file = readFileSync(c.file);
    const asFile = { instanceOf: FormatMismatchError, code: ErrorCode.FORMAT_MISMATCH };
    const e1 = await t.throwsAsync(FileReader.open(stream), asFile);
    t.like(e1, { expected: 'file', detected: 'stream' });
    const e2 = await t.throwsAsync(FileReader.open(c.stream), asFile, 'by path');
    t.like(e2, { expected: 'file', detected: 'stream' });
    const e3 = await t.throwsAsync(FileReader.open(toLegacyFraming(stream)), asFile, 'pre-0.15 framing');
    t.like(e3, { expected: 'file', detected: 'stream' });
    const e4 = await t.throwsAsync(readFeather(c.stream), asFile, 'readFeather');
    t.like(e4, { expected: 'file', detected: 'stream' });

    const e5 = await t.throwsAsync(StreamReader.open(file), asFile);
    t.like(e5, { expected: 'stream', detected: 'file' });
    const e6 = await t.throwsAsync(
      (async () => {
        for await (const r of readStreams(file)) await r.readAll();
      })(),
      asFile,
      'readStreams',
    );
    t.like(e6, { expected: 'stream', detected: 'file' });
    // The pre-0.15 form of the stream still reads, as a stream.
    t.is((await (await StreamReader.open(toLegacyFraming(stream))).readAll()).numRows, (await (await StreamReader.open(stream)).readAll()).numRows);
  },
  title: (_t, c: GoldenCase) => `${c.version}/${c.name}: a stream given to FileReader, a file to StreamReader: ERR_QUIVER_FORMAT_MISMATCH`,
});

for (const key of SAMPLES) test(mismatch, sample(key));

// ---- schemas apache-arrow would reject with a plain Error -------------------------------------

test('fields sharing a dictionary id with conflicting value types: ERR_QUIVER_INVALID_IPC, not apache-arrow\'s Error', async (t) => {
  const field = (name: string, type: Field['type'], id: number | null, children: Field[] = []): Field => ({
    name,
    nullable: true,
    type,
    children,
    dictionary: id === null ? null : { id, indexType: { bitWidth: 32, signed: true }, isOrdered: false },
    metadata: new Map(),
  });
  const schemas: Array<[string, Field[]]> = [
    ['string and int32 values', [field('a', { kind: 'utf8' }, 0), field('b', { kind: 'int', bitWidth: 32, signed: true }, 0)]],
    // A dictionary whose own values use its id (what a flipped byte in nested_dictionary made).
    ['an id inside its own values', [field('a', { kind: 'list' }, 0, [field('item', { kind: 'utf8' }, 0)])]],
  ];
  for (const [what, fields] of schemas) {
    const enc = new IpcEncoder({ fields, metadata: new Map(), endianness: 'little', features: [] }, 'stream');
    const bytes = Buffer.concat([...enc.start(), ...enc.finish()].flatMap((m) => m.buffers));
    await t.throwsAsync(
      StreamReader.open(bytes).then((r) => r.schema),
      { instanceOf: QuiverError, code: ErrorCode.INVALID_IPC },
      what,
    );
  }
});

// ---- failing conversions release what they opened ----------------------------------------------

test('convert closes its sink whatever fails: empty input, missing path, a bad option, a bad body', async (t) => {
  const c = sample('1.0.0-littleendian/dictionary');
  const closing = () => {
    const sink = { closed: 0, write() {}, async close() {
      sink.closed++;
    } };
    return sink;
  };
  const cases: Array<[string, (s: ByteSink) => Promise<unknown>, string]> = [
    ['empty input', (s) => convert(new Uint8Array(0), s, { format: 'file' }), ErrorCode.INVALID_IPC],
    ['missing path', (s) => convert(join(tmpDir(t), 'nothing-here'), s, { format: 'file' }), ErrorCode.IO],
    ['a level without compression (stream input)', (s) => convert(c.stream, s, { format: 'file', compression: 'none', level: 3 }), ErrorCode.INVALID_ARGUMENT],
    ['a level without compression (file input)', (s) => convert(c.file, s, { format: 'stream', compression: 'none', level: 3 }), ErrorCode.INVALID_ARGUMENT],
    ['a stream cut inside a body', (s) => convert(readFileSync(c.stream).subarray(0, 700), s, { format: 'stream' }), ErrorCode.TRUNCATED],
  ];
  for (const [what, run, code] of cases) {
    const sink = closing();
    await t.throwsAsync(run(sink), { instanceOf: QuiverError, code }, what);
    t.is(sink.closed, 1, `${what}: sink closed once`);
  }
});

// ---- claims of huge sizes -----------------------------------------------------------------------

test('metadata claiming 1 GiB over ~100 bytes: a coded error, and the 1 GiB is never allocated', async (t) => {
  const dir = tmpDir(t);
  const results: AllocResult[] = [];
  const runner = fileURLToPath(new URL('./helpers/alloc-runner.js', import.meta.url));
  const end = await limited(() => runNode(runner, [dir], { nodeArgs: ['--expose-gc'] }, (line) => results.push(JSON.parse(line) as AllocResult)));
  t.is(end.code, 0, `alloc-runner: ${end.stalled ? 'hung' : end.stderr}`);
  const expected: Record<string, string> = {
    'stream body claim, one buffer': ErrorCode.TRUNCATED,
    'stream body claim, 64-byte chunks': ErrorCode.TRUNCATED,
    'stream body claim of 200 MiB, direct reads': ErrorCode.TRUNCATED,
    'stream body claim, convert': ErrorCode.TRUNCATED,
    'file block claim, in memory': ErrorCode.INVALID_IPC,
    'file block claim, from disk': ErrorCode.INVALID_IPC,
    'file block claim, convert from disk': ErrorCode.INVALID_IPC,
    'footer length claim, from disk': ErrorCode.INVALID_IPC,
    'lz4 buffer claims 1 GiB decompressed': ErrorCode.DECOMPRESSION_FAILED,
    'zstd buffer claims 1 GiB decompressed': ErrorCode.DECOMPRESSION_FAILED,
    'zstd buffer claims 1 GiB decompressed, convert': ErrorCode.DECOMPRESSION_FAILED,
    'batch claims 2^30 rows': ErrorCode.INVALID_IPC,
    'schema claims 2^28 fields': ErrorCode.INVALID_IPC,
  };
  const control = results.find((r) => r.case.startsWith('control'));
  // The measurement sees an allocation of the kind it looks for.
  t.true(control !== undefined && control.peakMiB >= 200, `control saw ${control?.peakMiB} MiB`);
  const seen = results.filter((r) => r !== control);
  t.deepEqual(
    seen.map((r) => r.case),
    Object.keys(expected),
  );
  for (const r of seen) {
    t.like(r, { ok: false, quiver: true, code: expected[r.case] }, r.case);
    t.true(r.peakMiB < 64, `${r.case}: arrayBuffers grew by ${r.peakMiB} MiB`);
  }
});

test('big-endian data: readers refuse to decode it (ERR_QUIVER_UNSUPPORTED); convert copies it byte for byte', async (t) => {
  const fields: Field[] = [{ name: 'a', nullable: true, type: { kind: 'int', bitWidth: 32, signed: true }, children: [], dictionary: null, metadata: new Map() }];
  const enc = new IpcEncoder({ fields, metadata: new Map(), endianness: 'big', features: [] }, 'stream');
  const bytes = Buffer.concat([...enc.start(), ...enc.finish()].flatMap((m) => m.buffers));
  await t.throwsAsync(StreamReader.open(bytes), { instanceOf: QuiverError, code: ErrorCode.UNSUPPORTED, message: /big-endian/ });
  const parts: Uint8Array[] = [];
  await convert(bytes, { write: (bs: Uint8Array[]) => void parts.push(...bs.map((b) => b.slice())), close: async () => {} }, { format: 'stream' });
  t.deepEqual(Buffer.concat(parts), bytes);
});
