#!/usr/bin/env node
// Copies the headline table of docs/bench/RESULTS.md ("Quiver against its baselines") into the
// README between <!-- bench-table --> markers, so the README shows the last committed run.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = readFileSync(join(root, 'docs/bench/RESULTS.md'), 'utf8');
const section = results.split(/^## /m).find((s) => s.startsWith('Quiver against its baselines'));
if (!section) throw new Error('docs/bench/RESULTS.md has no "Quiver against its baselines" section');
const table = section.split('\n').filter((l) => l.startsWith('|')).join('\n');
const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const next = readme.replace(/<!-- bench-table -->[\s\S]*?<!-- \/bench-table -->/, `<!-- bench-table -->\n${table}\n<!-- /bench-table -->`);
if (next === readme && !readme.includes(table)) throw new Error('README.md has no <!-- bench-table --> markers');
writeFileSync(readmePath, next);
