/**
 * apache-arrow Data -> the field nodes and buffers of a record batch, the mirror of ./load.ts.
 * Buffers are views of the Data's own memory; only sliced data whose bitmaps start mid-byte, or
 * whose offsets do not start at zero, is copied (the format needs both to start at the slice).
 */
import * as A from 'apache-arrow';
import type { FieldNode } from '../format/message.js';

export interface Assembled {
  nodes: FieldNode[];
  buffers: Uint8Array[];
  variadicBufferCounts: number[];
}

const EMPTY = new Uint8Array(0);

function bytes(v: ArrayBufferView | undefined | null): Uint8Array {
  if (!v) return EMPTY;
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** The `length` bits starting at bit `offset` of `bitmap`, as bytes starting at bit 0. */
function bitmapSlice(offset: number, length: number, bitmap: Uint8Array): Uint8Array {
  const nbytes = (length + 7) >> 3;
  if ((offset & 7) === 0) return bitmap.subarray(offset >> 3, (offset >> 3) + nbytes);
  const out = new Uint8Array(nbytes);
  for (let i = 0; i < length; i++) {
    const src = offset + i;
    if (bitmap[src >> 3]! & (1 << (src & 7))) out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}

/** Offsets rebased to start at zero (a copy only when they do not already). */
function rebase(offsets: Int32Array | BigInt64Array, length: number): { buf: Uint8Array; begin: number; end: number } {
  if (length === 0 && offsets.length === 0) return { buf: new Uint8Array(4), begin: 0, end: 0 };
  const n = Math.min(length + 1, offsets.length);
  const begin = Number(offsets[0]!);
  const end = Number(offsets[length]!);
  // One view of the offsets' bytes, rather than a subarray and then a view of that.
  if (begin === 0) return { buf: new Uint8Array(offsets.buffer, offsets.byteOffset, n * offsets.BYTES_PER_ELEMENT), begin, end };
  const view = offsets.subarray(0, n);
  if (view instanceof BigInt64Array) {
    const out = new BigInt64Array(length + 1);
    const b = BigInt(begin);
    for (let i = 0; i <= length; i++) out[i] = view[i]! - b;
    return { buf: bytes(out), begin, end };
  }
  const out = new Int32Array(length + 1);
  for (let i = 0; i <= length; i++) out[i] = view[i]! - begin;
  return { buf: bytes(out), begin, end };
}

/**
 * `d.nullCount`, without the getter's test for a union (another read of the type id) when the
 * count is known, as it is for every Data but a union's or one made with an unknown (-1) count.
 */
export function nullCountOf(d: A.Data): number {
  const known = (d as unknown as { _nullCount: number })._nullCount;
  return known >= 0 ? known : d.nullCount;
}

class Assembler implements Assembled {
  nodes: FieldNode[] = [];
  buffers: Uint8Array[] = [];
  variadicBufferCounts: number[] = [];

  visit(d: A.Data): void {
    this.visitAs(d, d.type.typeId);
  }

  /**
   * `d`, whose type id is `typeId`: read once per column (a getter on each type's class, so a
   * megamorphic read), or once per schema by the caller. A small batch's encoding is mostly such
   * per-column reads.
   */
  visitAs(d: A.Data, typeId: A.Type): void {
    const length = d.length;
    if (typeId === A.Type.Union) {
      this.nodes.push({ length, nullCount: 0 });
      return this.union(d as A.Data<A.Union>);
    }
    const nullCount = nullCountOf(d);
    this.nodes.push({ length, nullCount });
    if (typeId === A.Type.Null) return;
    this.buffers.push(nullCount > 0 && d.nullBitmap ? bitmapSlice(d.offset, length, d.nullBitmap) : EMPTY);
    switch (typeId) {
      case A.Type.Dictionary:
        this.buffers.push(bytes(d.values.subarray(0, length)));
        return;
      case A.Type.Bool:
        this.buffers.push(bitmapSlice(d.offset, length, d.values as Uint8Array));
        return;
      case A.Type.Utf8:
      case A.Type.Binary:
      case A.Type.LargeUtf8:
      case A.Type.LargeBinary: {
        const { buf, begin, end } = rebase(d.valueOffsets as Int32Array, length);
        this.buffers.push(buf, bytes(d.values).subarray(begin, end));
        return;
      }
      case A.Type.Utf8View:
      case A.Type.BinaryView: {
        const vb = ((d as unknown as { variadicBuffers?: Uint8Array[] }).variadicBuffers ?? []) as Uint8Array[];
        this.buffers.push(bytes(d.values).subarray(0, length * 16), ...vb.map(bytes));
        this.variadicBufferCounts.push(vb.length);
        return;
      }
      case A.Type.List:
      case A.Type.LargeList:
      case A.Type.Map: {
        const { buf, begin, end } = rebase(d.valueOffsets as Int32Array, length);
        this.buffers.push(buf);
        return this.visit(d.children[0]!.slice(begin, end - begin));
      }
      case A.Type.FixedSizeList: {
        // apache-arrow slices a fixed-size list's child along with it.
        return this.visit(d.children[0]!);
      }
      case A.Type.Struct:
        for (const c of d.children) this.visit(c);
        return;
      default: {
        // Fixed-width: apache-arrow slices values with the Data, so they start at element 0.
        const v = d.values as ArrayBufferView & { length: number; BYTES_PER_ELEMENT: number };
        const n = Math.min(length * d.stride, v.length) * v.BYTES_PER_ELEMENT;
        this.buffers.push(new Uint8Array(v.buffer, v.byteOffset, n));
      }
    }
  }

  private union(d: A.Data<A.Union>): void {
    const t = d.type;
    this.buffers.push(bytes(d.typeIds.subarray(0, d.length)));
    if (t.mode === A.UnionMode.Sparse) {
      for (const c of d.children) this.visit(c.slice(0, d.length));
      return;
    }
    const offsets = d.valueOffsets as Int32Array;
    if (d.offset === 0) {
      this.buffers.push(bytes(offsets.subarray(0, d.length)));
      for (const c of d.children) this.visit(c);
      return;
    }
    // A sliced dense union: each child's offsets must be rebased separately.
    const shifted = new Int32Array(d.length);
    const first = new Map<number, number>();
    const count = new Map<number, number>();
    for (let i = 0; i < d.length; i++) {
      const id = d.typeIds[i]!;
      const off = offsets[i]!;
      if (!first.has(id)) first.set(id, off);
      shifted[i] = off - first.get(id)!;
      count.set(id, Math.max(count.get(id) ?? 0, shifted[i]! + 1));
    }
    this.buffers.push(bytes(shifted));
    t.typeIds.forEach((id, i) => {
      const c = d.children[i]!;
      this.visit(c.slice(first.get(id) ?? 0, count.get(id) ?? 0));
    });
  }
}

/** The columns' types as a schema has them, and their type ids, worked out once per schema. */
export interface ColumnTypes {
  types: readonly A.DataType[];
  typeIds: readonly A.Type[];
}

/**
 * The nodes and buffers of `columns`, in the depth-first order the format lays them out. With
 * `known`, a column whose type is the schema's own (the same object) takes its type id from there;
 * any other (a batch may hold data of another type than its schema says) is read as it is.
 */
export function assembleColumns(columns: readonly A.Data[], known?: ColumnTypes): Assembled {
  const a = new Assembler();
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    if (known !== undefined && c.type === known.types[i]) a.visitAs(c, known.typeIds[i]!);
    else a.visit(c);
  }
  return a;
}
