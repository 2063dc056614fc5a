/**
 * Test support: the fixtures (trimmed --json outputs of a real --quick run of each bench, in the
 * shape the benches write), a fixed stamp around them, and readers for what the report renders:
 * Markdown tables by their first cell, SVG as a parsed DOM.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import type { CodecResult, Collected, ShmResult, SocketResult } from '../src/index.js';

export const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(`${fixtures}${name}.json`, 'utf8')) as T;
}

/** A run of all three benches with a made-up stamp (fresh copies: tests may edit them). */
export function collected(): Collected {
  return {
    date: '2026-11-21T16:25:50.123Z',
    quick: false,
    seconds: 312.4,
    machine: { cpu: 'Test CPU 9000', cores: 2, memory: 8 * 1024 ** 3, freeMemory: 6 * 1024 ** 3, loadStart: [0.5, 0.4, 0.3], loadEnd: [1.25, 0.5, 0.25], os: 'Test OS 1 (Linux 6.0, x64)' },
    versions: { node: 'v20.0.0', v8: '11.3', apacheArrow: '21.2.0', flechette: '2.6.0', pyarrow: '25.0.1 (Python 3.11.7)', quiver: 'abcdef1234' },
    runs: [
      { name: 'codec', command: 'node packages/core/dist/bench/codec.js', ok: true, seconds: 60 },
      { name: 'socket', command: 'node packages/transport-socket/dist/bench/socket.js', ok: true, seconds: 150 },
      { name: 'shm', command: 'node packages/transport-shm/dist/bench/shm.js', ok: true, seconds: 100 },
    ],
    codec: fixture<CodecResult>('codec'),
    socket: fixture<SocketResult>('socket'),
    shm: fixture<ShmResult>('shm'),
  };
}

/** The cells of every row of every Markdown table whose first cell is `first` (trimmed). */
export function tableRows(md: string, first: string): string[][] {
  return md
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    )
    .filter((cells) => cells[0] === first);
}

/** The one row whose first cell is `first`; throws if there is not exactly one. */
export function tableRow(md: string, first: string): string[] {
  const rows = tableRows(md, first);
  if (rows.length !== 1) throw new Error(`${rows.length} rows start with "${first}"`);
  return rows[0]!;
}

/** Parses `svg` as XML; any error or warning throws, so passing means well-formed. */
export function parseSvg(svg: string): Document {
  return new DOMParser({
    onError: (level, message) => {
      throw new Error(`${level}: ${message}`);
    },
  }).parseFromString(svg, 'image/svg+xml');
}

/** Elements of `doc` (or under `el`) named `tag` whose class list has `cls`. */
export function byClass(root: Document | Element, tag: string, cls: string): Element[] {
  return Array.from(root.getElementsByTagName(tag)).filter((e) => (e.getAttribute('class') ?? '').split(' ').includes(cls));
}

/** Each series of a chart: its name and the number of plotted points (markers or bars). */
export function seriesOf(doc: Document): Array<{ name: string; points: number; lines: number }> {
  return byClass(doc, 'g', 'series').map((g) => ({
    name: g.getAttribute('data-series') ?? '',
    points: Array.from(g.childNodes).filter((n) => (n as Element).getAttribute?.('class') === 'point').length,
    lines: byClass(g, 'path', 'line').length,
  }));
}

export const ratio = (r: number): string => `${r.toFixed(2)}x`;
export const pct = (r: number): string => `${(r * 100).toFixed(0)}%`;
