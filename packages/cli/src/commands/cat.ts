/**
 * `quiver cat PATH [--limit N] [--format table|ndjson|csv]`: rows to stdout, batch by batch.
 *
 * PATH is opened once and read on demand (../input.ts): an Arrow file through its footer and then
 * only the batches printed; a stream (a regular file, or a FIFO) pulled a chunk at a time, only
 * when the decoder needs more bytes. So `--limit N` stops reading once N rows are out, and nothing
 * is left in flight to keep the process alive, even on a pipe whose writer never ends.
 */
import * as A from 'apache-arrow';
import { toRows } from '@quiver/core';
import { rowWriter, type Column, type RowFormat, type Sink } from '../format.js';
import { openBatches } from '../input.js';

export interface CatArgs {
  path: string;
  format: RowFormat;
  /** Most rows to print. @default all */
  limit?: number;
  /** Table width (the terminal's). */
  columns?: number;
  out: Sink & { readonly closed: boolean };
}

function columnsOf(schema: A.Schema): Column[] {
  return schema.fields.map((f) => ({
    name: f.name,
    numeric: A.DataType.isInt(f.type) || A.DataType.isFloat(f.type) || A.DataType.isDecimal(f.type),
  }));
}

/** Prints rows; returns how many were printed. */
export async function catCommand(a: CatArgs): Promise<number> {
  const input = await openBatches(a.path);
  let printed = 0;
  try {
    const writer = rowWriter(a.format, columnsOf(input.schema), a.out, a.columns);
    const limit = a.limit ?? Infinity;
    while (printed < limit && !a.out.closed) {
      let batch = await input.next();
      if (batch === null) break;
      if (batch.numRows > limit - printed) batch = batch.slice(0, limit - printed);
      await writer.rows(toRows(batch, { int64: 'string' }));
      printed += batch.numRows;
    }
    await writer.end();
  } finally {
    await input.close();
  }
  return printed;
}
