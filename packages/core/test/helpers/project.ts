/**
 * Column projection at the message level: keeps some top-level columns of a stream by slicing
 * each record batch's field nodes and buffers, without decoding values. The exotic-type tests use
 * it to split a pyarrow-written file into one file per column, so each type can be checked on its
 * own with data pyarrow wrote (the judge confirms the projection kept the values).
 */
import { readFileSync } from 'node:fs';
import { bufferCount, type Field, type Schema } from '../../src/format/types.js';
import { IpcEncoder, readBodyBuffers, readMessages, type FieldNode } from '../../src/index.js';

interface Span {
  nodes: FieldNode[];
  buffers: Uint8Array[];
  variadic: number[];
}

/** Takes the nodes, buffers and variadic counts of `f` (and its children) off the cursors. */
function take(f: Field, version: number, src: { nodes: FieldNode[]; buffers: Uint8Array[]; variadic: number[] }, at: { n: number; b: number; v: number }, out: Span): void {
  out.nodes.push(src.nodes[at.n++]!);
  if (f.dictionary) throw new Error('project: dictionary-encoded columns are not handled');
  let count = bufferCount(f.type, version);
  if (f.type.kind === 'utf8View' || f.type.kind === 'binaryView') {
    const extra = src.variadic[at.v++]!;
    out.variadic.push(extra);
    count += extra;
  }
  for (let i = 0; i < count; i++) out.buffers.push(src.buffers[at.b++]!);
  for (const c of f.children) take(c, version, src, at, out);
}

/** The columns `keep` (by position) of the first stream in `path`, as an uncompressed stream. */
export async function projectStream(path: string, keep: number[]): Promise<Uint8Array> {
  let encoder: IpcEncoder | undefined;
  let schema: Schema | undefined;
  let version = 0;
  const parts: Uint8Array[] = [];
  for await (const m of readMessages(readFileSync(path))) {
    if (m === 'eos') break;
    const h = m.message.header;
    if (h.type === 'schema') {
      schema = h.schema;
      version = m.message.version;
      encoder = new IpcEncoder({ ...schema, fields: keep.map((i) => schema!.fields[i]!) }, 'stream');
      continue;
    }
    if (h.type !== 'recordBatch' || !encoder || !schema) throw new Error(`project: unexpected ${h.type} message`);
    const src = { nodes: h.batch.nodes, buffers: readBodyBuffers(h.batch, m.body), variadic: h.batch.variadicBufferCounts };
    const at = { n: 0, b: 0, v: 0 };
    const spans = schema.fields.map((f) => {
      const s: Span = { nodes: [], buffers: [], variadic: [] };
      take(f, version, src, at, s);
      return s;
    });
    if (at.n !== src.nodes.length || at.b !== src.buffers.length) throw new Error('project: the batch does not match its schema');
    const kept = keep.map((i) => spans[i]!);
    const encoded = encoder.batchMessage(
      { type: 'recordBatch' },
      h.batch.length,
      kept.flatMap((s) => s.nodes),
      kept.flatMap((s) => s.buffers),
      kept.flatMap((s) => s.variadic),
      m.message.metadata,
    );
    for (const e of encoded) parts.push(...e.buffers);
  }
  if (!encoder) throw new Error('project: no schema');
  for (const e of encoder.finish()) parts.push(...e.buffers);
  return Buffer.concat(parts);
}
