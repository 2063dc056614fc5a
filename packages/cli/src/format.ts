/**
 * Row writers for `quiver cat`: NDJSON, CSV and an aligned table. Values arrive as core's
 * `toRows` gives them (64-bit integers already strings) and are made printable here:
 * - bigint → decimal string; NaN and ±Infinity → the strings "NaN", "Infinity", "-Infinity" in JSON
 * - binary (Uint8Array) → lowercase hex
 * - nested values (lists, structs, maps, unions' children) → JSON (in CSV and table cells)
 * - null → JSON null, an empty CSV field (an empty string is `""`), `null` in a table
 */

/** Output formats of `quiver cat`. */
export type RowFormat = 'table' | 'ndjson' | 'csv';

export const ROW_FORMATS: readonly RowFormat[] = ['table', 'ndjson', 'csv'];

/** A column as the writers see it. */
export interface Column {
  /** The column's name (the row key). */
  name: string;
  /** Numbers are right-aligned in a table. */
  numeric: boolean;
}

export type Row = Record<string, unknown>;

/** Receives rows batch by batch; `end` once after the last. */
export interface RowWriter {
  /** Writes some rows (plain values, as core's `toRows` makes them). */
  rows(rows: Row[]): Promise<void>;
  /** Flushes what is pending (a table's last page). */
  end(): Promise<void>;
}

export interface Sink {
  write(text: string): Promise<void>;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

/** A value made JSON-safe (see the module documentation). */
export function jsonValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'bigint':
      return v.toString();
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'string':
    case 'boolean':
      return v;
    case 'object': {
      if (v instanceof Uint8Array) return hex(v);
      if (Array.isArray(v)) return v.map(jsonValue);
      if (v instanceof Date) return v.toISOString();
      if (v instanceof Map) return Array.from(v, ([k, x]) => [jsonValue(k), jsonValue(x)]);
      if (ArrayBuffer.isView(v) || Symbol.iterator in v) return Array.from(v as Iterable<unknown>, jsonValue);
      const out: Row = {};
      for (const [k, x] of Object.entries(v)) out[k] = jsonValue(x);
      return out;
    }
    default:
      return String(v);
  }
}

/** A value as cell text: scalars plain, nested values as JSON; null stays null. */
function cellText(v: unknown): string | null {
  const j = jsonValue(v);
  if (j === null) return null;
  return typeof j === 'object' ? JSON.stringify(j) : String(j);
}

/** One JSON object per line, keyed by column name. */
export function ndjsonWriter(out: Sink): RowWriter {
  return {
    async rows(rows) {
      let text = '';
      for (const r of rows) text += `${JSON.stringify(jsonValue(r))}\n`;
      await out.write(text);
    },
    async end() {},
  };
}

function csvField(s: string | null): string {
  if (s === null) return '';
  return s === '' || /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** RFC 4180 CSV with a header line; CRLF-free (lines end with \n). */
export function csvWriter(columns: Column[], out: Sink): RowWriter {
  let header = false;
  const head = async () => {
    if (header) return;
    header = true;
    await out.write(`${columns.map((c) => csvField(c.name)).join(',')}\n`);
  };
  return {
    async rows(rows) {
      await head();
      let text = '';
      for (const r of rows) text += `${columns.map((c) => csvField(cellText(r[c.name]))).join(',')}\n`;
      await out.write(text);
    },
    end: head,
  };
}

/** Longest cell before truncation with an ellipsis. */
export const MAX_CELL = 40;
/** Narrowest a column is made to fit the terminal (unless its content is narrower). */
export const MIN_CELL = 10;
/** Rows read before the table's column widths are fixed; later cells are cut to those widths. */
export const TABLE_PAGE = 200;

const length = (s: string) => [...s].length;

function escapeControls(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => ({ '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? `\\x${hex(new Uint8Array([c.charCodeAt(0)]))}`);
}

function fit(s: string, width: number, right: boolean): string {
  const chars = [...s];
  if (chars.length > width) return `${chars.slice(0, width - 1).join('')}…`;
  const pad = ' '.repeat(width - chars.length);
  return right ? pad + s : s + pad;
}

/**
 * Aligned columns, cells cut at {@link MAX_CELL} characters and the whole fitted to `width`
 * (the terminal's). Widths come from the first {@link TABLE_PAGE} rows, so output starts
 * without reading everything.
 */
export function tableWriter(columns: Column[], out: Sink, width = 120): RowWriter {
  let widths: number[] | undefined;
  let pending: string[][] = [];
  const text = (r: Row) => columns.map((c) => {
    const t = cellText(r[c.name]);
    return t === null ? 'null' : escapeControls(t);
  });
  const line = (cells: string[]) => `${cells.map((s, i) => fit(s, widths![i]!, columns[i]!.numeric)).join('  ').trimEnd()}\n`;
  const flush = async () => {
    if (!widths) {
      const names = columns.map((c) => escapeControls(c.name));
      widths = names.map((n, i) => Math.min(MAX_CELL, Math.max(1, length(n), ...pending.map((r) => length(r[i]!)))));
      // Narrow the widest columns until the line fits the terminal, none below MIN_CELL: a table
      // too wide even then is printed wider than the terminal rather than made unreadable.
      const total = () => widths!.reduce((a, b) => a + b, 0) + 2 * (widths!.length - 1);
      while (total() > width) {
        const i = widths.indexOf(Math.max(...widths));
        if (widths[i]! <= MIN_CELL) break;
        widths[i]!--;
      }
      await out.write(line(names) + line(widths.map((w) => '-'.repeat(w))));
    }
    await out.write(pending.map(line).join(''));
    pending = [];
  };
  let seen = 0;
  return {
    async rows(rows) {
      for (const r of rows) pending.push(text(r));
      seen += rows.length;
      if (widths || seen >= TABLE_PAGE) await flush();
    },
    end: flush,
  };
}

/** The writer of `quiver cat --format`: NDJSON, RFC 4180 CSV, or a table `width` characters wide. */
export function rowWriter(format: RowFormat, columns: Column[], out: Sink, width?: number): RowWriter {
  if (format === 'ndjson') return ndjsonWriter(out);
  if (format === 'csv') return csvWriter(columns, out);
  return tableWriter(columns, out, width);
}
