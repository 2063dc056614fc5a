/**
 * `quiver inspect PATH [--json]`: form, compression, schema and counts, from metadata only
 * (core's `inspect`), so a file of any size answers at once. A Feather V2 file is an Arrow file
 * byte for byte, so nothing in the bytes tells them apart: an Arrow file named `*.feather` is
 * reported as `feather` (what its writer called it), any other as `file`.
 */
import { stat } from 'node:fs/promises';
import { ErrorCode, fieldTypeName, inspect, QuiverError, type Field, type InspectResult } from '@quiver/core';

/** A field as `--json` prints it. `metadata` only when the field has some. */
export interface JsonField {
  /** The field's name. */
  name: string;
  /** Its type in pyarrow's spelling (core's `fieldTypeName`). */
  type: string;
  /** Whether it may hold nulls. */
  nullable: boolean;
  /** Its custom metadata. */
  metadata?: Record<string, string>;
}

/** What `--json` prints. `metadata` (the schema's) only when there is some. */
export interface InspectJson {
  /** `feather` for an Arrow file named *.feather, else the form the bytes have. */
  format: 'stream' | 'file' | 'feather';
  /** `none`, `lz4`, `zstd`, or `mixed` when batches disagree. */
  compression: InspectResult['compression'];
  /** One entry per top-level field. */
  schema: JsonField[];
  /** Record batches (of the first stream, for a stream). */
  batches: number;
  /** Rows over all record batches. */
  rows: number;
  /** The schema's custom metadata. */
  metadata?: Record<string, string>;
}

function jsonField(f: Field): JsonField {
  const out: JsonField = { name: f.name, type: fieldTypeName(f), nullable: f.nullable };
  if (f.metadata.size > 0) out.metadata = Object.fromEntries(f.metadata);
  return out;
}

/** `feather` for an Arrow file named *.feather, else the form the bytes have. */
export function displayFormat(r: InspectResult, path: string): InspectJson['format'] {
  return r.format === 'file' && /\.feather$/i.test(path) ? 'feather' : r.format;
}

/** What `quiver inspect --json` prints for core's `inspect()` result of the file at `path`. */
export function inspectJson(r: InspectResult, path = ''): InspectJson {
  const out: InspectJson = {
    format: displayFormat(r, path),
    compression: r.compression,
    schema: r.schema.fields.map(jsonField),
    batches: r.batches,
    rows: r.rows,
  };
  if (r.schema.metadata.size > 0) out.metadata = Object.fromEntries(r.schema.metadata);
  return out;
}

function metadataLines(m: Map<string, string>, indent: string): string[] {
  const cut = (s: string) => (s.length > 100 ? `${s.slice(0, 99)}…` : s);
  return [...m].map(([k, v]) => `${indent}${k}: ${cut(JSON.stringify(v))}`);
}

/** The human-readable report. */
export function inspectText(r: InspectResult, path = ''): string {
  const lines = [
    `format       ${displayFormat(r, path)}`,
    `compression  ${r.compression}`,
    `batches      ${r.batches}`,
    `rows         ${r.rows}`,
  ];
  if (r.dictionaries > 0) lines.push(`dictionaries ${r.dictionaries}`);
  lines.push('schema');
  for (const f of r.schema.fields) {
    lines.push(`  ${f.name}: ${fieldTypeName(f)}${f.nullable ? '' : ' not null'}`);
    lines.push(...metadataLines(f.metadata, '    -- '));
  }
  if (r.schema.metadata.size > 0) lines.push('metadata', ...metadataLines(r.schema.metadata, '  '));
  return `${lines.join('\n')}\n`;
}

/** Fails with ERR_QUIVER_IO unless `path` is a regular file (the verb needs to read it at offsets). */
export async function requireRegularFile(path: string, verb: string): Promise<number> {
  const st = await stat(path);
  if (!st.isFile()) throw new QuiverError(ErrorCode.IO, `${verb} reads a regular file; ${path} is not one`);
  return st.size;
}

export async function inspectCommand(path: string, json: boolean): Promise<string> {
  await requireRegularFile(path, 'inspect');
  const r = await inspect(path);
  return json ? `${JSON.stringify(inspectJson(r, path), null, 2)}\n` : inspectText(r, path);
}
