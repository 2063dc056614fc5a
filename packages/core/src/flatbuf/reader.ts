/**
 * A bounds-checked flatbuffer reader. The generated flatbuffers code trusts its input; IPC
 * metadata arrives from other processes and from disk, so every offset here is checked against
 * the buffer before it is followed, and every failure is an {@link InvalidDataError}.
 * Layout reference: https://flatbuffers.dev/internals/ (uoffset/soffset/vtable).
 */
import { invalid } from '../errors.js';

const utf8 = new TextDecoder('utf-8');

/**
 * One flatbuffer table: a position in `view` plus its vtable. Positions are of `view`, which may
 * be larger than the flatbuffer (see {@link rootTable}): the flatbuffer is `lo` to `hi` of it, and
 * nothing outside is ever read.
 */
export class FbTable {
  private readonly vtable: number;
  private readonly vtableSize: number;

  constructor(
    readonly view: DataView,
    readonly pos: number,
    readonly what: string,
    /** Where the flatbuffer starts in `view`. */
    readonly lo: number,
    /** Where it ends. */
    readonly hi: number,
  ) {
    need(this, pos, 4, what);
    const vtable = pos - view.getInt32(pos, true);
    need(this, vtable, 4, `${what} vtable`);
    const vtableSize = view.getUint16(vtable, true);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw invalid(`${what}: vtable size ${vtableSize} is invalid`);
    need(this, vtable, vtableSize, `${what} vtable`);
    const tableSize = view.getUint16(vtable + 2, true);
    need(this, pos, tableSize, what);
    this.vtable = vtable;
    this.vtableSize = vtableSize;
  }

  /** Absolute position of field `slot`'s inline value, or 0 when absent. */
  offset(slot: number): number {
    const entry = 4 + 2 * slot;
    if (entry + 2 > this.vtableSize) return 0;
    const rel = this.view.getUint16(this.vtable + entry, true);
    return rel === 0 ? 0 : this.pos + rel;
  }

  has(slot: number): boolean {
    return this.offset(slot) !== 0;
  }

  bool(slot: number, dflt = false): boolean {
    const at = this.offset(slot);
    return at === 0 ? dflt : (need(this, at, 1, this.what), this.view.getUint8(at) !== 0);
  }

  uint8(slot: number, dflt = 0): number {
    const at = this.offset(slot);
    return at === 0 ? dflt : (need(this, at, 1, this.what), this.view.getUint8(at));
  }

  int16(slot: number, dflt = 0): number {
    const at = this.offset(slot);
    return at === 0 ? dflt : (need(this, at, 2, this.what), this.view.getInt16(at, true));
  }

  int32(slot: number, dflt = 0): number {
    const at = this.offset(slot);
    return at === 0 ? dflt : (need(this, at, 4, this.what), this.view.getInt32(at, true));
  }

  /** An int64 field as a JS number; values beyond 2^53 are rejected as invalid. */
  int64(slot: number, dflt = 0): number {
    const at = this.offset(slot);
    if (at === 0) return dflt;
    need(this, at, 8, this.what);
    return safeInt64(this.view, at, this.what);
  }

  /** Position of the object an offset field points at, or 0 when absent. */
  private target(slot: number): number {
    const at = this.offset(slot);
    if (at === 0) return 0;
    need(this, at, 4, this.what);
    const target = at + this.view.getUint32(at, true);
    need(this, target, 4, this.what);
    return target;
  }

  table(slot: number, what: string): FbTable | null {
    const t = this.target(slot);
    return t === 0 ? null : new FbTable(this.view, t, what, this.lo, this.hi);
  }

  string(slot: number): string | null {
    const t = this.target(slot);
    if (t === 0) return null;
    const len = this.view.getUint32(t, true);
    need(this, t + 4, len, `${this.what} string`);
    return len <= SHORT_STRING ? shortString(this.view, t + 4, len) : utf8.decode(new Uint8Array(this.view.buffer, this.view.byteOffset + t + 4, len));
  }

  /** A vector field: position of its first element and its length, checked for `elemSize`. */
  vector(slot: number, elemSize: number): { start: number; length: number } | null {
    const t = this.target(slot);
    if (t === 0) return null;
    const length = this.view.getUint32(t, true);
    need(this, t + 4, length * elemSize, `${this.what} vector`);
    return { start: t + 4, length };
  }

  /** A vector of tables. */
  tables(slot: number, what: string): FbTable[] {
    const v = this.vector(slot, 4);
    if (v === null) return [];
    const out = new Array<FbTable>(v.length);
    for (let i = 0; i < v.length; i++) {
      const at = v.start + 4 * i;
      out[i] = new FbTable(this.view, at + this.view.getUint32(at, true), what, this.lo, this.hi);
    }
    return out;
  }
}

/** Strings up to this long are read in JS when ASCII; a TextDecoder call costs more for them. */
const SHORT_STRING = 32;

/** `len` bytes at `at` as a string: short ASCII ones (names, metadata keys) by hand, others by the decoder. */
function shortString(view: DataView, at: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    const c = view.getUint8(at + i);
    if (c > 0x7f) return utf8.decode(new Uint8Array(view.buffer, view.byteOffset + at, len));
    s += String.fromCharCode(c);
  }
  return s;
}

/** Reads an int64 at `at` as a number, rejecting values a JS number cannot hold exactly. */
export function safeInt64(view: DataView, at: number, what: string): number {
  const lo = view.getUint32(at, true);
  const hi = view.getInt32(at + 4, true);
  if (hi > 0x1fffff || hi < -0x200000) throw invalid(`${what}: 64-bit value out of the safe integer range`);
  return hi * 0x100000000 + lo;
}

/**
 * The DataView {@link rootTable} last made over a whole ArrayBuffer. Making a DataView costs about
 * 110 ns, a quarter of decoding a small batch's metadata; the flatbuffers of a stream's messages
 * mostly lie in the same memory (a socket's receive slab), so one view serves them all.
 */
const lastView = { buffer: null as ArrayBufferLike | null, view: null as DataView | null };
/**
 * Only memory up to this size is viewed whole and kept: a view of a mapped file or a shared-memory
 * ring would keep it referenced for no gain (its messages are large, or few).
 */
const WHOLE_VIEW_MAX_BYTES = 1 << 20;

/** The root table of a flatbuffer occupying all of `bytes`. */
export function rootTable(bytes: Uint8Array, what: string): FbTable {
  const buffer = bytes.buffer;
  let view: DataView;
  let lo = 0;
  if (buffer === lastView.buffer) {
    view = lastView.view!;
    lo = bytes.byteOffset;
  } else if (buffer.byteLength <= WHOLE_VIEW_MAX_BYTES) {
    view = lastView.view = new DataView(buffer);
    lastView.buffer = buffer;
    lo = bytes.byteOffset;
  } else view = new DataView(buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  if (n < 4) throw invalid(`${what}: flatbuffer offset 0+4 is outside its ${n} bytes`);
  return new FbTable(view, lo + view.getUint32(lo, true), what, lo, lo + n);
}

/** Fails unless `len` bytes at `pos` lie within `b`'s flatbuffer (`lo` to `hi`). Errors give positions within it. */
function need(b: FbTable, pos: number, len: number, what: string): void {
  if (pos < b.lo || len < 0 || pos + len > b.hi) {
    throw invalid(`${what}: flatbuffer offset ${pos - b.lo}+${len} is outside its ${b.hi - b.lo} bytes`);
  }
}
