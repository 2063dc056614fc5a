/**
 * The ring's layout in shared memory: any SharedArrayBuffer (a POSIX shm mapping, or one handed
 * to a worker) holds a header, a preamble area and the data area.
 *
 *   [ header: control words (128 bytes) + subscriber table (48 bytes a slot), page-rounded ]
 *   [ preamble: schema + current dictionaries, seqlock-protected, page-rounded              ]
 *   [ data: the ring of records, a power of two bytes                                        ]
 *
 * Positions are byte counts since the ring began, kept modulo 2^32 as uint32 (the data offset of
 * position p is p & (capacity - 1)); capacities are at most 1 GiB, so the distance between any
 * two live positions fits an int32 and `(a - b) | 0` compares them across the wrap.
 *
 * Every value read from shared memory is untrusted: a reader checks each size, cursor and record
 * header against the ring's geometry before using it (another process may be buggy or hostile,
 * or the segment corrupted), and reports InvalidDataError rather than reading out of bounds.
 */
import { randomFillSync } from 'node:crypto';
import { corrupt, ShmError, ShmErrorCode } from '../errors.js';
import { splitStart, type ProcessIdentity } from './liveness.js';

/** "QSHM" read as a little-endian uint32. */
export const MAGIC = 0x4d485351;
/** Bumped whenever anything below changes meaning. */
export const LAYOUT_VERSION = 1;

/** Control words: int32 indices into the header (byte offset = 4 × index). */
export const H = {
  MAGIC: 0,
  VERSION: 1,
  /** Init-complete flag: 1 once everything else is initialised (stored last). */
  READY: 2,
  HEADER_BYTES: 3,
  CAPACITY: 4,
  MAX_SUBSCRIBERS: 5,
  PREAMBLE_OFFSET: 6,
  PREAMBLE_CAPACITY: 7,
  DATA_OFFSET: 8,
  SEGMENT_BYTES: 9,
  /** 128 random bits naming this ring (worker channel ids; tell segments apart). */
  ID: 10, // 10..13
  PUB_PID: 14,
  PUB_START_LO: 15,
  PUB_START_HI: 16,
  /** 0 no writer yet, 2 a writer is attached, 1 ended (no more records will come). */
  PUB_STATE: 17,
  /** Policy of subscribers that do not choose one (a {@link POLICY} value). */
  DEFAULT_POLICY: 18,
  /** Write cursor: the position just after the last published record. */
  WRITE: 19,
  /** Futex word: incremented at every publish (and at the end). Subscribers wait on it. */
  PUBLISHED: 20,
  /** The oldest position the publisher may still overwrite up to (joiners check it). */
  TAIL: 21,
  /** Subscribers waiting (or about to wait) on PUBLISHED: the publisher wakes only then. */
  SLEEPERS: 22,
  /** Records published (pads excluded): the next record's index. */
  RECORDS: 23,
  /** Non-batch records published (schema, dictionaries, end of stream): the preamble's epoch. */
  EPOCH: 24,
  /** Preamble seqlock: odd while the publisher rewrites the preamble. */
  PRE_SEQ: 25,
  PRE_LENGTH: 26,
  PRE_COUNT: 27,
  /** Streams started (schema messages published). */
  STREAM_GEN: 28,
  /** 1 once the current stream's end-of-stream marker was published. */
  PRE_ENDED: 29,
  /** Incremented by every subscriber that registers (the publisher's cue to rescan the table). */
  JOINS: 30,
  /** 1 while the publisher waits for space: subscribers then wake it when they free some. */
  PUB_WAITING: 31,
} as const;

export const CONTROL_BYTES = 128;
/** Subscriber slot: 12 int32 words. */
export const SLOT_WORDS = 12;
export const SLOT_BYTES = SLOT_WORDS * 4;
/** Word offsets within a slot. */
export const S = {
  /** State in the low 4 bits ({@link SLOT}), generation (incremented per claim) above. CAS only. */
  STATE: 0,
  PID: 1,
  START_LO: 2,
  START_HI: 3,
  /** Next record to read. Advanced by the subscriber (claim) and the publisher (drop), by CAS. */
  NEXT: 4,
  /** Oldest held record | 1 while the subscriber holds records; bit 0 clear when it holds none. */
  RELEASED: 5,
  /** Records the subscriber lost (skipped under drop-oldest). */
  DROPS: 6,
  /** Futex word: bumped when the subscriber frees space while the publisher waits. */
  FREED: 7,
  POLICY: 8,
  /** Records delivered (statistics). */
  DELIVERED: 9,
  /**
   * The subscriber's thread (worker_threads `threadId` + 1; 0 unknown). Threads share their
   * process's pid, so this is what tells whose slot to free when a worker is gone
   * ({@link releaseWorkerThread}). Was a reserved word, always 0: older readers leave it so.
   */
  THREAD: 10,
} as const;

export const SLOT = { FREE: 0, CLAIMED: 1, ACTIVE: 2, DISCONNECTED: 3 } as const;
export const POLICY = { block: 0, 'drop-oldest': 1, disconnect: 2 } as const;
/** What the writer does when it needs space a subscriber has not read: `block`, `drop-oldest` or `disconnect`. */
export type Policy = keyof typeof POLICY;
export const policyName = (v: number): Policy => (v === 1 ? 'drop-oldest' : v === 2 ? 'disconnect' : 'block');

/** Record kinds (low 8 bits of a record's tag). */
export const KIND = { SCHEMA: 1, DICTIONARY: 2, DELTA: 3, BATCH: 4, EOS: 5, PAD: 15 } as const;
/** What a ring record holds: a schema, a full or delta dictionary, a record batch, or the end of stream. */
export type RecordKind = 'schema' | 'dictionary' | 'delta' | 'batch' | 'eos';
export const kindName = (k: number): RecordKind | null =>
  k === 1 ? 'schema' : k === 2 ? 'dictionary' : k === 3 ? 'delta' : k === 4 ? 'batch' : k === 5 ? 'eos' : null;
export const kindCode = (k: RecordKind): number =>
  k === 'schema' ? 1 : k === 'dictionary' ? 2 : k === 'delta' ? 3 : k === 'batch' ? 4 : 5;

/**
 * Record header, 16 bytes at an 8-aligned position, the payload right after it (so a message
 * body, 8-aligned within the message, stays 8-aligned in memory):
 *   +0 payload length, +4 tag = kind | check << 8, +8 record index, +12 epoch
 * `check` is bits 3..26 of the record's position: a header found at the wrong place (a stale
 * cursor, corruption) does not pass for a record. `epoch` is how many non-batch records came
 * before this one; a subscriber whose count differs missed a schema or dictionary.
 */
export const RECORD_HEADER = 16;
export const check = (pos: number): number => (pos >>> 3) & 0xffffff;
export const recordBytes = (payload: number): number => RECORD_HEADER + align8(payload);
/**
 * `n` (>= 0) rounded up to a multiple of 8, exact for every safe integer: lengths come from
 * record headers in shared memory and from message metadata, and may exceed 2^31, where the
 * 32-bit `(n + 7) & ~7` wraps negative and a lying length would pass for a small one.
 */
export const align8 = (n: number): number => n + ((8 - (n % 8)) % 8);

/** Preamble entry header: +0 length, +4 kind, +8 dictionary id, +12 reserved; payload 8-padded. */
export const PREAMBLE_ENTRY = 16;

/** Smallest data area of a ring, in bytes. */
export const MIN_CAPACITY = 1024;
/** Largest data area of a ring, in bytes (1 GiB). */
export const MAX_CAPACITY = 1 << 30;
/** Most subscriber slots a ring can have. */
export const MAX_SUBSCRIBERS = 1024;
const PAGE = 4096;
const pageAlign = (n: number): number => Math.ceil(n / PAGE) * PAGE;

/** The geometry a new ring is made with. */
export interface RingGeometry {
  /** Data bytes: a power of two, 1 KiB to 1 GiB. */
  capacity: number;
  /** Subscriber slots, 1 to 1024. */
  maxSubscribers: number;
  /** Preamble bytes (page-rounded). */
  preambleCapacity: number;
}

/** A ring's geometry with the offsets that follow from it (see {@link ringSizes}). */
export interface RingSizes extends RingGeometry {
  /** Bytes of the header: control words and subscriber slots, page-rounded. */
  headerBytes: number;
  /** Where the preamble starts. */
  preambleOffset: number;
  /** Where the data area starts. */
  dataOffset: number;
  /** Bytes of the whole segment (header, preamble, data). */
  segmentBytes: number;
}

/** Smallest power of two ≥ n. */
export const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** The layout of a ring of geometry `g`: page-rounded header and preamble, then the data area. */
export function ringSizes(g: RingGeometry): RingSizes {
  const headerBytes = pageAlign(CONTROL_BYTES + g.maxSubscribers * SLOT_BYTES);
  const preambleCapacity = pageAlign(g.preambleCapacity);
  const preambleOffset = headerBytes;
  const dataOffset = preambleOffset + preambleCapacity;
  return { ...g, preambleCapacity, headerBytes, preambleOffset, dataOffset, segmentBytes: dataOffset + g.capacity };
}

/** A ring opened over a buffer: its views and (validated) geometry. */
export interface Ring {
  /** The ring's memory (a shm mapping or a worker channel). */
  readonly buffer: SharedArrayBuffer;
  /** Every word of the buffer (header, slots, record headers). */
  readonly words: Int32Array;
  /** Every byte of the buffer. */
  readonly bytes: Uint8Array;
  /** Its layout, as read (and checked) from the header. */
  readonly sizes: RingSizes;
  /** capacity - 1 */
  readonly mask: number;
  /** Largest record (header included): half the ring, so one always fits after a wrap. */
  readonly maxRecord: number;
  /** The ring's 128-bit id as 32 hex digits. */
  readonly id: string;
}

/** Word index of slot `i`'s word `w`. */
export const slotWord = (i: number, w: number): number => CONTROL_BYTES / 4 + i * SLOT_WORDS + w;

function makeRing(buffer: SharedArrayBuffer, sizes: RingSizes): Ring {
  const words = new Int32Array(buffer);
  const id = Array.from({ length: 4 }, (_, i) => (words[H.ID + i]! >>> 0).toString(16).padStart(8, '0')).join('');
  return { buffer, words, bytes: new Uint8Array(buffer), sizes, mask: sizes.capacity - 1, maxRecord: sizes.capacity / 2, id };
}

/**
 * Initialises a ring in `buffer` (all zeros, at least `segmentBytes` long): geometry, the
 * publisher's identity, the id; the init-complete flag last, with Atomics.store, so whoever sees
 * it set sees everything else.
 */
export function formatRing(buffer: SharedArrayBuffer, sizes: RingSizes, publisher: ProcessIdentity | null, policy: Policy, id: Uint32Array): Ring {
  if (buffer.byteLength < sizes.segmentBytes) throw new RangeError('buffer smaller than the ring');
  const w = new Int32Array(buffer);
  // The owner first, so a creator that dies half-way leaves a segment recognisably stale.
  if (publisher) setPublisher(w, publisher);
  w[H.VERSION] = LAYOUT_VERSION;
  w[H.HEADER_BYTES] = sizes.headerBytes;
  w[H.CAPACITY] = sizes.capacity;
  w[H.MAX_SUBSCRIBERS] = sizes.maxSubscribers;
  w[H.PREAMBLE_OFFSET] = sizes.preambleOffset;
  w[H.PREAMBLE_CAPACITY] = sizes.preambleCapacity;
  w[H.DATA_OFFSET] = sizes.dataOffset;
  w[H.SEGMENT_BYTES] = sizes.segmentBytes;
  for (let i = 0; i < 4; i++) w[H.ID + i] = id[i]! | 0;
  w[H.DEFAULT_POLICY] = POLICY[policy];
  w[H.MAGIC] = MAGIC;
  Atomics.store(w, H.READY, 1);
  return makeRing(buffer, sizes);
}

export function setPublisher(w: Int32Array, p: ProcessIdentity): void {
  const [lo, hi] = splitStart(p.start);
  Atomics.store(w, H.PUB_START_LO, lo | 0);
  Atomics.store(w, H.PUB_START_HI, hi | 0);
  Atomics.store(w, H.PUB_PID, p.pid);
}

/**
 * Opens a ring someone initialised. Distinct errors: ERR_QUIVER_SHM_NOT_READY (init flag not set),
 * ERR_QUIVER_SHM_VERSION (another layout version), InvalidDataError (not a ring, or a header
 * whose geometry is impossible or does not fit the buffer).
 */
export function openRing(buffer: SharedArrayBuffer): Ring {
  if (buffer.byteLength < CONTROL_BYTES) {
    throw new ShmError(ShmErrorCode.NOT_READY, `the segment is ${buffer.byteLength} bytes: its creator has not sized it yet`);
  }
  const w = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
  const ready = Atomics.load(w, H.READY);
  const magic = w[H.MAGIC]! >>> 0;
  if (magic !== MAGIC) {
    if (magic === 0 && ready === 0) throw new ShmError(ShmErrorCode.NOT_READY, 'the segment is not initialised yet');
    throw corrupt(`bad magic 0x${magic.toString(16)}: not a Quiver ring`);
  }
  const version = w[H.VERSION]!;
  if (version !== LAYOUT_VERSION) {
    throw new ShmError(ShmErrorCode.VERSION, `the segment has layout version ${version >>> 0}; this package reads version ${LAYOUT_VERSION}`);
  }
  if (ready === 0) throw new ShmError(ShmErrorCode.NOT_READY, 'the segment is not initialised yet');
  if (ready !== 1) throw corrupt(`init flag ${ready}`);
  const capacity = w[H.CAPACITY]! >>> 0;
  const maxSubscribers = w[H.MAX_SUBSCRIBERS]! >>> 0;
  const sizes: RingSizes = {
    capacity,
    maxSubscribers,
    headerBytes: w[H.HEADER_BYTES]! >>> 0,
    preambleOffset: w[H.PREAMBLE_OFFSET]! >>> 0,
    preambleCapacity: w[H.PREAMBLE_CAPACITY]! >>> 0,
    dataOffset: w[H.DATA_OFFSET]! >>> 0,
    segmentBytes: w[H.SEGMENT_BYTES]! >>> 0,
  };
  const problem =
    capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0
      ? `capacity ${capacity}`
      : maxSubscribers < 1 || maxSubscribers > MAX_SUBSCRIBERS
        ? `maxSubscribers ${maxSubscribers}`
        : sizes.headerBytes < CONTROL_BYTES + maxSubscribers * SLOT_BYTES || sizes.headerBytes % 8 !== 0
          ? `header size ${sizes.headerBytes}`
          : sizes.preambleOffset < sizes.headerBytes || sizes.preambleOffset % 8 !== 0 || sizes.preambleCapacity % 8 !== 0
            ? `preamble at ${sizes.preambleOffset}`
            : sizes.dataOffset < sizes.preambleOffset + sizes.preambleCapacity || sizes.dataOffset % 8 !== 0
              ? `data at ${sizes.dataOffset}`
              : sizes.segmentBytes !== sizes.dataOffset + capacity || sizes.segmentBytes > buffer.byteLength
                ? `segment of ${sizes.segmentBytes} bytes in a buffer of ${buffer.byteLength}`
                : null;
  if (problem) throw corrupt(`impossible ring geometry (${problem})`);
  return makeRing(buffer, sizes);
}

/** A random 128-bit ring id. */
export function randomId(): Uint32Array {
  return randomFillSync(new Uint32Array(4));
}
