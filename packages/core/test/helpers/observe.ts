/**
 * What our readers produce, in the shape of the judge's Canon, so a test can deep-equal the two:
 * schema as pyarrow prints it, schema/field/batch metadata, batch and row counts, canonical values.
 */
import { readFileSync } from 'node:fs';
import type * as A from 'apache-arrow';
import { canonFromArrow, type Canon } from '@quiver/testkit';
import { FileReader, StreamReader } from '../../src/index.js';
import { metadataObject, pyarrowSchema } from './pyarrow-names.js';

export function observed(table: A.Table) {
  return {
    schema: pyarrowSchema(table.schema),
    metadata: metadataObject(table.schema.metadata),
    field_metadata: table.schema.fields.map((f) => metadataObject(f.metadata)),
    // pyarrow says null for a batch without custom metadata.
    batch_metadata: table.batches.map((b) => (b.metadata.size > 0 ? metadataObject(b.metadata) : null)),
    batches: table.batches.length,
    rows: table.numRows,
    columns: canonFromArrow(table),
  };
}

/** The same fields of the judge's reading (leaving out `format` and `validation`). */
export function expected(c: Canon): ReturnType<typeof observed> {
  const { schema, metadata, field_metadata, batch_metadata, batches, rows, columns } = c;
  return { schema, metadata, field_metadata, batch_metadata, batches, rows, columns };
}

/** The first stream of a file, through StreamReader. */
export async function readStreamAt(path: string): Promise<A.Table> {
  return (await StreamReader.open(readFileSync(path))).readAll();
}

/** An Arrow file (Feather V2 included), through FileReader. */
export async function readFileAt(path: string): Promise<A.Table> {
  const r = await FileReader.open(path);
  try {
    return await r.readAll();
  } finally {
    await r.close();
  }
}
