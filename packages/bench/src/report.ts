/**
 * The report of one run: RESULTS.md, results.json and the SVG charts, rendered from the collected
 * results alone (no clock, no machine probe), so the same results.json always renders the same
 * files and `--render` can redo them after a change to the renderer.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCharts } from './charts.js';
import { renderMarkdown } from './markdown.js';
import type { Collected } from './results.js';

/** File name → contents of every file of the report. */
export function renderReport(c: Collected): Record<string, string> {
  const charts = renderCharts(c);
  return { 'RESULTS.md': renderMarkdown(c, charts), 'results.json': `${JSON.stringify(c, null, 2)}\n`, ...charts };
}

/** Writes the report into `dir` (created if missing); returns the paths written. */
export function writeReport(dir: string, c: Collected): string[] {
  mkdirSync(dir, { recursive: true });
  return Object.entries(renderReport(c)).map(([file, text]) => {
    const path = join(dir, file);
    writeFileSync(path, text);
    return path;
  });
}
