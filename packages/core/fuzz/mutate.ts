/**
 * Inputs for the fuzzers: valid Arrow IPC bytes (golden files) mutated the ways real damage and
 * hostile peers mutate them, and random bytes. Everything is a fast-check arbitrary, so a failing
 * input shrinks to a short list of small mutations of one seed.
 *
 * Message-level mutations (duplicate, remove, swap a message; set a framing length to a huge or
 * negative value) are applied to the pristine seed, whose layout is known; byte-level ones (flip,
 * set, cut, splice, a special int written into metadata) follow, on whatever that gave.
 */
import fc from 'fast-check';
import { streamLayout, type MessageSpan, type StreamLayout } from '../test/helpers/layout.js';
import { concatBytes } from '../test/helpers/unit-helpers.js';
import { mutateMessage, structuredOp, type StructuredOp } from './structured.js';

/** A seed: valid bytes and where their messages lie (null when not a stream or file). */
export interface Seed {
  name: string;
  bytes: Uint8Array;
  layout: StreamLayout | null;
  /** Offset of the first message: 0 for a stream, 8 for a file (after magic and padding). */
  start: number;
}

/** Lays out a seed: `form` says where messages start; bytes that are not IPC get no layout. */
export function seed(name: string, bytes: Uint8Array, form: 'stream' | 'file' | 'raw'): Seed {
  const start = form === 'file' ? 8 : 0;
  let layout: StreamLayout | null = null;
  if (form !== 'raw') {
    try {
      layout = streamLayout(bytes, start);
    } catch {
      layout = null;
    }
  }
  return { name, bytes, layout, start };
}

/** Values a length or offset field is set to: the edges of int32/int64 and near-misses. */
export const SPECIAL_INTS: readonly bigint[] = [
  0n, 1n, 7n, 8n, 0x7fn, 0xffn, 0x7fffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n,
  -1n, -8n, -0x80000000n, 2n ** 53n, 2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n), 1n << 30n, 1n << 40n,
];

export type MessageOp =
  | { op: 'duplicate'; message: number }
  | { op: 'remove'; message: number }
  | { op: 'swap'; message: number; other: number }
  /** The framing prefix's metadata length. */
  | { op: 'length'; message: number; value: number };

export type ByteOp =
  | { op: 'flip'; at: number; xor: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'cut'; at: number }
  /** Replaces `remove` bytes at `at` by `insert` (so it also inserts or deletes). */
  | { op: 'splice'; at: number; remove: number; insert: Uint8Array }
  /** Copies a run of the input over another place (a crossover within the input). */
  | { op: 'copy'; from: number; to: number; length: number }
  /**
   * Writes a special int at a 4-aligned position inside metadata (framing, flatbuffers, a file's
   * footer) or inside message bodies (offsets, dictionary indices, lengths of nested data).
   */
  | { op: 'int'; region: 'meta' | 'body'; at: number; width: 4 | 8; value: bigint };

/** One mutation of a seed input: message, structured and byte operations applied in turn, replayable from its fields. */
export interface Mutation {
  seed: number;
  messageOps: MessageOp[];
  structuredOps: StructuredOp[];
  byteOps: ByteOp[];
}

const messageOp: fc.Arbitrary<MessageOp> = fc.oneof(
  fc.record({ op: fc.constant('duplicate' as const), message: fc.nat() }),
  fc.record({ op: fc.constant('remove' as const), message: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), message: fc.nat(), other: fc.nat() }),
  fc.record({
    op: fc.constant('length' as const),
    message: fc.nat(),
    value: fc.constantFrom(-1, -8, 0, 1, 0x7fffffff, -0x80000000, 0x40000000, 0xfffffff, 4, 8, 16),
  }),
);

const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0, 0xff, 0x7f, 0x80, 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cut' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('splice' as const), at: fc.nat(), remove: fc.nat({ max: 64 }), insert: fc.uint8Array({ maxLength: 16 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('copy' as const), from: fc.nat(), to: fc.nat(), length: fc.integer({ min: 1, max: 256 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('int' as const),
      region: fc.constantFrom('meta' as const, 'body' as const),
      at: fc.nat(),
      width: fc.constantFrom(4 as const, 8 as const),
      value: fc.constantFrom(...SPECIAL_INTS),
    }),
  },
);

/**
 * Mutations of one of `count` seeds: a few message-level, structured and byte-level operations
 * (few, so that many inputs get past the first check and reach the deeper ones).
 */
export function mutationArb(count: number): fc.Arbitrary<Mutation> {
  return fc.record({
    seed: fc.nat({ max: count - 1 }),
    messageOps: fc.array(messageOp, { maxLength: 2 }),
    structuredOps: fc.array(structuredOp, { maxLength: 2 }),
    byteOps: fc.array(byteOp, { maxLength: 3 }),
  });
}

/** Options of {@link ipcInputs}: extra seeds mutated less often, and the longest random input. */
export interface InputOptions {
  /** Seeds mutated less often (1 case in 10): inputs already known bad, such as a fuzz corpus. */
  extra?: Seed[];
  /** Longest random input. @default 1024 */
  randomMaxLength?: number;
}

/** Mutated seeds (mostly) and random bytes: the input arbitrary of a byte-reading fuzzer. */
export function ipcInputs(seeds: Seed[], opts: InputOptions = {}): fc.Arbitrary<Uint8Array> {
  if (seeds.length === 0) throw new Error('ipcInputs: no seeds (are the golden files there?)');
  const mutated = (list: Seed[]) => mutationArb(list.length).map((m) => applyMutation(list, m));
  const extra = opts.extra ?? [];
  return fc.oneof(
    { weight: 8, arbitrary: mutated(seeds) },
    { weight: extra.length > 0 ? 1 : 0, arbitrary: extra.length > 0 ? mutated(extra) : fc.constant(new Uint8Array(0)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: opts.randomMaxLength ?? 1024 }) },
  );
}

/** The bytes a mutation makes of its seed. */
export function applyMutation(seeds: Seed[], m: Mutation): Uint8Array {
  const s = seeds[m.seed % seeds.length]!;
  let bytes = applyMessageOps(s, m.messageOps, m.structuredOps);
  for (const op of m.byteOps) bytes = applyByteOp(bytes, op, positions(s, bytes, op.op === 'int' ? op.region : 'meta'));
  return bytes;
}

function applyMessageOps(s: Seed, ops: MessageOp[], structured: StructuredOp[]): Uint8Array {
  const layout = s.layout;
  if (!layout || layout.messages.length === 0 || ops.length + structured.length === 0) return s.bytes.slice();
  // The seed as [head][message...][tail]; operations rearrange and rewrite the messages.
  const first = layout.messages[0]!.start;
  const last = layout.messages[layout.messages.length - 1]!.end;
  let spans: MessageSpan[] = [...layout.messages];
  const lengthSets = new Map<MessageSpan, number>();
  for (const op of ops) {
    if (spans.length === 0) break;
    const i = op.message % spans.length;
    if (op.op === 'duplicate') spans.splice(i, 0, spans[i]!);
    else if (op.op === 'remove') spans.splice(i, 1);
    else if (op.op === 'swap') {
      const j = op.other % spans.length;
      [spans[i], spans[j]] = [spans[j]!, spans[i]!];
    } else lengthSets.set(spans[i]!, op.value);
  }
  const pieces: Uint8Array[] = spans.map((span) => s.bytes.slice(span.start, span.end));
  for (const op of structured) {
    if (pieces.length === 0) break;
    const i = op.message % pieces.length;
    pieces[i] = mutateMessage(pieces[i]!, op);
  }
  spans.forEach((span, i) => {
    const value = lengthSets.get(span);
    const piece = pieces[i]!;
    if (value === undefined) return;
    const dv = new DataView(piece.buffer, piece.byteOffset, piece.byteLength);
    const at = piece.byteLength >= 4 && dv.getInt32(0, true) === -1 ? 4 : 0;
    if (piece.byteLength >= at + 4) dv.setInt32(at, value, true);
  });
  return concatBytes([s.bytes.subarray(0, first), ...pieces, s.bytes.subarray(last)]);
}

/**
 * Where an `int` op may write: 4-aligned positions outside message bodies (framing, flatbuffer
 * metadata, a file's footer) or inside them, from the seed's layout. Operations before it may
 * have moved things; that still gives plausible places.
 */
function positions(s: Seed, bytes: Uint8Array, region: 'meta' | 'body'): number[] {
  const out: number[] = [];
  const add = (a: number, b: number) => {
    for (let p = (a + 3) & ~3; p < Math.min(b, bytes.byteLength); p += 4) out.push(p);
  };
  let at = 0;
  for (const m of s.layout?.messages ?? []) {
    if (region === 'meta') add(at, m.bodyStart);
    else add(m.bodyStart, m.end);
    at = m.end;
  }
  if (region === 'meta') add(at, bytes.byteLength);
  return out;
}

function applyByteOp(bytes: Uint8Array, op: ByteOp, places: number[]): Uint8Array {
  const n = bytes.byteLength;
  switch (op.op) {
    case 'flip':
      if (n > 0) bytes[op.at % n]! ^= op.xor;
      return bytes;
    case 'set':
      if (n > 0) bytes[op.at % n] = op.value;
      return bytes;
    case 'cut':
      return n === 0 ? bytes : bytes.slice(0, op.at % n);
    case 'splice': {
      const at = n === 0 ? 0 : op.at % (n + 1);
      return concatBytes([bytes.subarray(0, at), op.insert, bytes.subarray(Math.min(n, at + op.remove))]);
    }
    case 'copy': {
      if (n === 0) return bytes;
      const from = op.from % n;
      const to = op.to % n;
      const run = bytes.slice(from, Math.min(n, from + op.length));
      bytes.set(run.subarray(0, n - to), to);
      return bytes;
    }
    case 'int': {
      if (places.length === 0 || n < op.width) return bytes;
      const at = Math.min(places[op.at % places.length]!, n - op.width);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, n);
      if (op.width === 8) dv.setBigInt64(at, BigInt.asIntN(64, op.value), true);
      else dv.setInt32(at, Number(BigInt.asIntN(32, op.value)), true);
      return bytes;
    }
  }
}

/**
 * Chunk sizes a byte source is cut into, cycling: one byte, odd sizes that misalign every
 * message, and large ones. Deterministic, so a saved input replays exactly.
 */
export const CHUNK_SIZES = [1, 7, 64, 3, 4096, 13, 8];

/** `bytes` as chunks of {@link CHUNK_SIZES}, starting at a place chosen by the length. */
export function chunked(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let k = bytes.byteLength % CHUNK_SIZES.length;
  for (let at = 0; at < bytes.byteLength; ) {
    const size = CHUNK_SIZES[k++ % CHUNK_SIZES.length]!;
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}
