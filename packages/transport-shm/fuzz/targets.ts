/**
 * The ring's fuzz targets, run by core's harness (`--module packages/transport-shm/dist/fuzz/targets.js`).
 *
 * - `shm-ring`: a ring in a SharedArrayBuffer gets a golden stream published into it (a
 *   subscriber joined first), then its header, subscriber slots, preamble and records are
 *   mutated, and it is read: by that subscriber, and by a new one that opens the segment and
 *   joins as another process would. The publisher is then made dead (its pid points at no
 *   process), so every wait ends: a reader that waits on a live publisher is right to.
 * - `shm-splitter`: the writer side's frame decoder (what a publishing connection runs on the
 *   bytes it is sent): mutated streams and random bytes, in odd chunks, into a ring a
 *   drop-oldest subscriber drains afterwards.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readStreams, type ByteSource } from '@quiver/core';
import { chunked, ipcInputs, seed, type FuzzTarget } from '@quiver/core/fuzz/harness';
import { goldenCases } from '@quiver/testkit';
import {
  atomicsWaiter, formatRing, nextPow2, openRing, ringSizes, RingReader, RingWriter, selfIdentity,
  classify, type Policy, type Ring, type RingRecord,
} from '../src/index.js';
import { CONTROL_BYTES, H, SLOT_WORDS } from '../src/ring/layout.js';
import { MessageSplitter } from '../src/splitter.js';

const EOS = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);

const regressions = (name: string) => fileURLToPath(new URL(`../../test/regressions/${name}`, import.meta.url));

/** Above Linux's largest pid_max (2^22): kill(pid, 0) says no such process. */
const DEAD_PID = 2 ** 22 + 1;
/** A fixed ring id, so a saved input replays byte for byte. */
const RING_ID = Uint32Array.of(0x51554956, 0x4552, 0x46555a5a, 1);
const MAX_SEED_BYTES = 16 * 1024;

let seeds: Map<string, Uint8Array> | undefined;
/** Golden streams small enough to sit in a ring whole. */
function ringSeeds(): Map<string, Uint8Array> {
  if (seeds) return seeds;
  seeds = new Map();
  for (const c of goldenCases()) {
    const bytes = new Uint8Array(readFileSync(c.stream));
    if (bytes.byteLength <= MAX_SEED_BYTES) seeds.set(`${c.version}/${c.name}`, bytes);
  }
  return seeds;
}

/** A seed's messages, each framed, and its end-of-stream marker. */
function messagesOf(name: string, bytes: Uint8Array): Uint8Array[] {
  const layout = seed(name, bytes, 'stream').layout!;
  return [...layout.messages.map((m) => bytes.subarray(m.start, m.end)), ...(layout.eos === null ? [] : [EOS])];
}

/** Where a mutation lands: header words, subscriber slots, preamble bytes, record bytes. */
type Area = 'header' | 'slots' | 'preamble' | 'data';

interface WordMutation {
  area: Area;
  /** Word index within the area (wrapped to its size). */
  at: number;
  op: 'set' | 'xor' | 'add';
  value: number;
}

export interface RingInput {
  /** A golden stream, by name. */
  seed: string;
  /** log2 of the data capacity asked for (raised to fit the stream four times). */
  capacityLog: number;
  mutations: WordMutation[];
  /** Whether a second subscriber opens the mutated segment and joins. */
  joiner: boolean;
  /** The first subscriber's policy; other than `block`, the ring may be smaller than the stream. @default 'block' */
  policy?: Policy;
  /** Mutate half-way through publishing (the writer then works on the damaged ring). @default false */
  midway?: boolean;
}

const WORD_VALUES = [0, 1, 2, 3, -1, 7, 8, 15, 16, 4096, 0x7fffffff, -0x80000000, 0x10000, 0x40000000, 0x12345678];

const mutation: fc.Arbitrary<WordMutation> = fc.record({
  area: fc.constantFrom<Area>('header', 'header', 'slots', 'preamble', 'data', 'data'),
  at: fc.nat(),
  op: fc.constantFrom('set' as const, 'xor' as const, 'add' as const),
  value: fc.oneof(fc.constantFrom(...WORD_VALUES), fc.integer({ min: 0, max: 31 }).map((bit) => (1 << bit) | 0), fc.integer({ min: -64, max: 64 })),
});

/** The word ranges of the areas in the ring as the writer left it (taken before any mutation). */
function areas(ring: Ring): Record<Area, [number, number]> {
  const s = ring.sizes;
  const w = ring.words;
  const preamble = Math.max(16, Math.min(s.preambleCapacity, Atomics.load(w, H.PRE_LENGTH) >>> 0));
  const data = Math.max(16, Math.min(s.capacity, Atomics.load(w, H.WRITE) >>> 0));
  return {
    header: [0, CONTROL_BYTES / 4],
    slots: [CONTROL_BYTES / 4, CONTROL_BYTES / 4 + s.maxSubscribers * SLOT_WORDS],
    preamble: [s.preambleOffset / 4, (s.preambleOffset + preamble) / 4],
    data: [s.dataOffset / 4, (s.dataOffset + data) / 4],
  };
}

function mutate(ring: Ring, range: [number, number], m: WordMutation): void {
  const [a, b] = range;
  const i = a + (m.at % (b - a));
  const w = ring.words;
  const v = m.op === 'set' ? m.value : m.op === 'xor' ? w[i]! ^ m.value : w[i]! + m.value;
  Atomics.store(w, i, v | 0);
}

/** Records of a reader as a byte source, as RingReaderConnection yields them (errors not wrapped). */
async function* records(reader: RingReader): AsyncGenerator<Uint8Array> {
  let previous: RingRecord | null = null;
  try {
    for (;;) {
      const rec: RingRecord | null = await reader.next(undefined, previous);
      previous = null;
      if (!rec) return;
      if (rec.kind === 'batch' && !rec.synthetic) {
        previous = rec;
        yield rec.bytes;
      } else {
        const bytes = rec.synthetic ? rec.bytes : rec.bytes.slice();
        rec.release();
        yield bytes;
      }
    }
  } finally {
    reader.close();
  }
}

async function readAll(source: ByteSource): Promise<number> {
  let n = 0;
  for await (const r of readStreams(source)) for await (const _ of r) n++;
  return n;
}

function newRing(capacity: number): { ring: Ring; writer: RingWriter; join(ring?: Ring, policy?: Policy): Promise<RingReader> } {
  const sizes = ringSizes({ capacity, maxSubscribers: 4, preambleCapacity: 32 * 1024 });
  const sab = new SharedArrayBuffer(sizes.segmentBytes);
  const ring = formatRing(sab, sizes, selfIdentity(), 'block', RING_ID);
  const waiter = atomicsWaiter(sab);
  const writer = new RingWriter(ring, { waiter, sliceMs: 1 });
  const join = (r = ring, policy?: Policy) => RingReader.join(r, { waiter, identity: selfIdentity(), sliceMs: 1, ...(policy ? { policy } : {}) });
  return { ring, writer, join };
}

const ring: FuzzTarget<RingInput> = {
  name: 'shm-ring',
  description: 'a ring holding a golden stream, its header/slots/preamble/records mutated, read by its subscriber and by a new joiner',
  regressions: regressions('shm-ring'),
  inputs: () =>
    fc.record({
      seed: fc.constantFrom(...ringSeeds().keys()),
      capacityLog: fc.integer({ min: 10, max: 16 }),
      mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
      joiner: fc.boolean(),
      policy: fc.constantFrom<Policy>('block', 'block', 'drop-oldest', 'disconnect'),
      midway: fc.boolean(),
    }),
  encode: (input) => new TextEncoder().encode(JSON.stringify(input)),
  decode: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as RingInput,
  async run(input) {
    const bytes = ringSeeds().get(input.seed);
    if (!bytes) throw new Error(`no seed ${input.seed}`);
    const policy = input.policy ?? 'block';
    // A blocking subscriber that reads only at the end needs the whole stream to fit.
    const asked = 2 ** input.capacityLog;
    const capacity = Math.min(1 << 20, policy === 'block' ? Math.max(asked, nextPow2(bytes.byteLength * 4)) : asked);
    const { ring: r, writer, join } = newRing(capacity);
    const first = await join(r, policy);
    const messages = messagesOf(input.seed, bytes);
    const half = input.midway ? messages.length >> 1 : messages.length;
    let where: ReturnType<typeof areas> | undefined;
    const damage = () => {
      where ??= areas(r);
      for (const m of input.mutations) mutate(r, where[m.area], m);
    };
    let error: unknown = null;
    try {
      // A write that waits on the damaged ring waits for a subscriber that is alive but not
      // reading, as it should; the signal ends that wait (ERR_QUIVER_ABORTED).
      for (const [i, m] of messages.entries()) {
        if (i === half) damage();
        await writer.write(classify(m), [m], AbortSignal.timeout(50));
      }
    } catch (e) {
      error = e;
    }
    writer.end();
    if (!where) damage();
    Atomics.store(r.words, H.PUB_PID, DEAD_PID);
    try {
      await readAll(records(first));
    } catch (e) {
      error ??= e;
    }
    if (input.joiner) {
      try {
        await readAll(records(await join(openRing(r.buffer))));
      } catch (e) {
        error ??= e;
      }
    }
    if (error) throw error;
  },
};

const splitter: FuzzTarget = {
  name: 'shm-splitter',
  description: "the publishing connection's splitter over mutated streams in odd chunks, then a drop-oldest subscriber reads the ring",
  regressions: regressions('shm-splitter'),
  inputs: () => ipcInputs([...ringSeeds()].map(([name, bytes]) => seed(name, bytes, 'stream'))),
  async run(bytes) {
    const { writer, join } = newRing(1 << 16);
    const reader = await join();
    reader.setPolicy('drop-oldest');
    const split = new MessageSplitter(writer);
    let error: unknown = null;
    try {
      for (const c of chunked(bytes)) await split.push([c]);
    } catch (e) {
      error = e;
    }
    split.discard();
    writer.end();
    try {
      await readAll(records(reader));
    } catch (e) {
      error ??= e;
    }
    if (error) throw error;
  },
};

export const targets: FuzzTarget<never>[] = [ring as FuzzTarget<never>, splitter as FuzzTarget<never>];
