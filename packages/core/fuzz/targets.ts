/**
 * Core's fuzz targets: every reader of untrusted bytes in @quiver/core, driven as a user (or a
 * transport) drives it, with mutated golden files and random bytes (./mutate.ts). Where two ways
 * of reading the same bytes must agree (whole vs chunked, memory vs mmap, once vs twice), the
 * target checks that too: a disagreement is a finding.
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzzFiles, goldenCases } from '@quiver/testkit';
import {
  decodeHello, DEFAULT_MAX_MESSAGE_BYTES, encodeHello, FileReader, isMmapAvailable, MemorySink, memorySource, MessageFramer,
  readFeather, readStreams, readStreamTable, writeFeather, type ByteSource, type RandomAccessSource,
} from '../src/index.js';
import { toLegacyFraming } from '../test/helpers/layout.js';
import { concatBytes as concat } from '../test/helpers/unit-helpers.js';
import { chunked, ipcInputs, seed, type Seed } from './mutate.js';
import { FuzzMismatch, isCoded, type FuzzTarget, type Probe } from './target.js';

/** Seeds larger than this are left out: mutating a 300 KB decimal file mostly hits its body. */
const MAX_SEED_BYTES = 64 * 1024;

const regressions = (name: string) => fileURLToPath(new URL(`../../test/regressions/${name}`, import.meta.url));

const read = (p: string) => new Uint8Array(readFileSync(p));

let streamSeeds: Seed[] | undefined;
/** Golden streams, one in pre-0.15 framing, and two streams back to back. */
function goldenStreams(): Seed[] {
  if (streamSeeds) return streamSeeds;
  const out: Seed[] = [];
  for (const c of goldenCases()) {
    const bytes = read(c.stream);
    if (bytes.byteLength <= MAX_SEED_BYTES) out.push(seed(`${c.version}/${c.name}`, bytes, 'stream'));
  }
  const byName = (n: string) => out.find((s) => s.name === n)!.bytes;
  out.push(seed('legacy/dictionary', toLegacyFraming(byName('1.0.0-littleendian/dictionary')), 'stream'));
  out.push(seed('two-streams', concat([byName('1.0.0-littleendian/nested'), byName('2.0.0-compression/zstd')]), 'stream'));
  return (streamSeeds = out);
}

/** Arrow's fuzz corpus (inputs that once broke Arrow C++), mutated further now and then. */
const corpus = (): Seed[] =>
  fuzzFiles()
    .map((p) => ({ p, bytes: read(p) }))
    .filter(({ bytes }) => bytes.byteLength <= MAX_SEED_BYTES)
    .map(({ p, bytes }) => seed(p.split('/').pop()!, bytes, 'raw'));

function goldenFiles(): Seed[] {
  return goldenCases()
    .map((c) => ({ c, bytes: read(c.file) }))
    .filter(({ bytes }) => bytes.byteLength <= MAX_SEED_BYTES)
    .map(({ c, bytes }) => seed(`${c.version}/${c.name}`, bytes, 'file'));
}

/** How a read ended: its result, or what it threw. */
type Ending = { value: unknown } | { error: unknown };

async function ending(read: () => unknown): Promise<Ending> {
  try {
    return { value: await read() };
  } catch (error) {
    return { error };
  }
}

/** What must agree between two readings: the result, or the error's code. */
const key = (e: Ending): string => ('value' in e ? `ok ${JSON.stringify(e.value)}` : isCoded(e.error) ? e.error.code : 'not coded');

/**
 * Judges readings of the same bytes that must agree: a non-Quiver error is thrown as it is (the
 * harness calls it a crash), a disagreement is a FuzzMismatch, else the first reading's coded
 * error is thrown for the verdict.
 */
function settle(what: string, ...endings: Ending[]): void {
  for (const e of endings) if ('error' in e && !isCoded(e.error)) throw e.error;
  const keys = endings.map(key);
  if (keys.some((k) => k !== keys[0])) throw new FuzzMismatch(`${what}: ${keys.join(' vs ')}`);
  if ('error' in endings[0]!) throw endings[0].error;
}

/** Reads every stream of a source, every batch of each; returns the batch count. */
async function readAllStreams(source: ByteSource): Promise<number> {
  let n = 0;
  for await (const reader of readStreams(source)) {
    reader.schema; // apache-arrow's schema: ERR_QUIVER_UNSUPPORTED_TYPE if it cannot hold it
    for await (const _ of reader) n++;
  }
  return n;
}

async function* sampled(chunks: Uint8Array[], probe: Probe): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < chunks.length; i++) {
    if (i % 32 === 0) probe.sample();
    yield chunks[i]!;
  }
}

const stream: FuzzTarget = {
  name: 'stream',
  description: 'readStreams/StreamReader over the bytes whole and in odd chunks (1, 7, 64, 3, 4096, 13, 8 bytes); both must end alike',
  regressions: regressions('stream'),
  inputs: () => ipcInputs(goldenStreams(), { extra: corpus() }),
  async run(bytes, probe) {
    settle('whole vs chunked', await ending(() => readAllStreams(bytes)), await ending(() => readAllStreams(sampled(chunked(bytes), probe))));
  },
};

/** A random-access source over memory that samples memory on every read. */
function probed(bytes: Uint8Array, probe: Probe): RandomAccessSource {
  const src = memorySource(bytes);
  return {
    size: src.size,
    read(offset, length) {
      probe.sample();
      return src.read(offset, length);
    },
  };
}

async function readFile(src: RandomAccessSource): Promise<number> {
  const r = await FileReader.open(src);
  try {
    r.schema;
    for (let i = 0; i < r.numRecordBatches; i++) await r.recordBatch(i);
    return r.numRecordBatches;
  } finally {
    await r.close();
  }
}

const file: FuzzTarget = {
  name: 'file',
  description: 'FileReader.open over memory: footer, schema, every record batch by index',
  regressions: regressions('file'),
  inputs: () => ipcInputs(goldenFiles()),
  async run(bytes, probe) {
    await readFile(probed(bytes, probe));
  },
};

let featherSeeds: Seed[] | undefined;
/** Golden files and Feather files Quiver writes from golden tables (LZ4 and ZSTD). */
async function featherInputs(): Promise<Seed[]> {
  if (featherSeeds) return featherSeeds;
  const out = goldenFiles();
  for (const name of ['1.0.0-littleendian/primitive', '1.0.0-littleendian/dictionary', '1.0.0-littleendian/nested']) {
    const c = goldenCases().find((g) => `${g.version}/${g.name}` === name)!;
    const table = await readStreamTable(read(c.stream));
    for (const compression of ['lz4', 'zstd'] as const) {
      const sink = new MemorySink();
      await writeFeather(table, sink, { compression, chunkSize: 7 });
      out.push(seed(`feather-${compression}/${name}`, sink.bytes(), 'file'));
    }
  }
  return (featherSeeds = out);
}

let scratch: string | undefined;
let scratchCount = 0;
const mmap = isMmapAvailable();

const feather: FuzzTarget = {
  name: 'feather',
  description: 'readFeather from memory, and from a file through mmap (when the addon is built); both must end alike',
  regressions: regressions('feather'),
  inputs: async () => ipcInputs(await featherInputs()),
  async run(bytes, probe) {
    const inMemory = await ending(async () => (await readFeather(probed(bytes, probe))).numRows);
    if (!(await mmap)) return settle('memory', inMemory);
    if (scratch === undefined) {
      const dir = (scratch = mkdtempSync(join(tmpdir(), 'quiver-fuzz-')));
      process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    const path = join(scratch, `${scratchCount++}.feather`);
    writeFileSync(path, bytes);
    try {
      settle('memory vs mmap', inMemory, await ending(async () => (await readFeather(path, { mmap: true })).numRows));
    } finally {
      unlinkSync(path);
    }
  },
};

/** Runs a framer over `chunks` as a transport does; returns the messages seen (and EOS markers). */
function frame(chunks: Uint8Array[]): number {
  const framer = new MessageFramer({ maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
  let n = 0;
  for (const c of chunks) {
    framer.push(c);
    for (let m = framer.next(); m !== null; m = framer.next()) {
      n++;
      if (m !== 'eos' && m.body.byteLength !== m.message.bodyLength) throw new FuzzMismatch(`a body of ${m.body.byteLength} bytes for ${m.message.bodyLength} declared`);
    }
  }
  framer.finish();
  return n;
}

const framer: FuzzTarget = {
  name: 'framer',
  description: "MessageFramer as a connection feeds it (messaging's 256 MiB limit), chunked and whole; both must end alike",
  regressions: regressions('framer'),
  inputs: () => ipcInputs(goldenStreams(), { extra: corpus() }),
  async run(bytes) {
    settle('chunked vs whole', await ending(() => frame(chunked(bytes))), await ending(() => frame([bytes])));
  },
};

function helloSeeds(): Seed[] {
  const hellos = [
    encodeHello({ topic: 'default' }),
    encodeHello({ topic: 'prices', policy: 'drop-oldest', queueLength: 4 }),
    encodeHello({ topic: 'é'.repeat(256), policy: 'disconnect' }),
    encodeHello({ topic: 't', policy: 'block', queueLength: 1 }),
  ];
  const out = hellos.map((h, i) => seed(`hello-${i}`, h, 'raw'));
  out.push(seed('hello-then-arrow', concat([hellos[1]!, goldenStreams()[0]!.bytes.subarray(0, 64)]), 'raw'));
  return out;
}

/** What a publisher does with a subscriber's first bytes: decode after each chunk until complete. */
function helloIncrementally(bytes: Uint8Array): ReturnType<typeof decodeHello> | 'incomplete' {
  let buffered: Uint8Array = new Uint8Array(0);
  for (const c of chunked(bytes)) {
    buffered = concat([buffered, c]);
    const h = decodeHello(buffered);
    if (h) return h;
  }
  return 'incomplete';
}

const hello: FuzzTarget = {
  name: 'hello',
  description: "decodeHello as the publisher calls it (after each chunk), and on the whole bytes twice; all must agree",
  regressions: regressions('hello'),
  inputs: () => fc.oneof({ weight: 4, arbitrary: ipcInputs(helloSeeds(), { randomMaxLength: 64 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 5000 }) }),
  async run(bytes) {
    const once = () => decodeHello(bytes) ?? 'incomplete';
    settle('incremental vs whole, twice', await ending(() => helloIncrementally(bytes)), await ending(once), await ending(once));
  },
};

export const targets: FuzzTarget[] = [stream, file, feather, framer, hello];
