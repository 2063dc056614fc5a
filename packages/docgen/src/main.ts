#!/usr/bin/env node
/**
 * `npm run docs`: regenerates docs/api/ from the built packages.
 *
 *   node packages/docgen/dist/src/main.js            write docs/api/ (stale .md files removed)
 *   node packages/docgen/dist/src/main.js --check    exit 1 if docs/api/ is not up to date
 *   node packages/docgen/dist/src/main.js --out DIR  write elsewhere
 *
 * Exports without JSDoc are listed on stderr (members too with --verbose).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_DIR, compareWith, generateApiDocs } from './generate.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? resolve(args[outAt + 1] ?? '') : join(root, API_DIR);

const docs = generateApiDocs(root);
for (const x of docs.undocumentedExports) console.error(`docs: no JSDoc on export ${x}`);
if (args.includes('--verbose')) for (const m of docs.undocumentedMembers) console.error(`docs: no JSDoc on member ${m}`);

if (args.includes('--check')) {
  const d = compareWith(docs.files, out);
  const stale = [...d.missing.map((f) => `missing ${f}`), ...d.changed.map((f) => `changed ${f}`), ...d.extra.map((f) => `extra ${f}`)];
  if (stale.length > 0) {
    console.error(`docs: ${out} is out of date (${stale.join(', ')}); run \`npm run docs\``);
    process.exit(1);
  }
  console.log(`docs: ${out} is up to date (${docs.files.size} files)`);
} else {
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) if (f.endsWith('.md') && !docs.files.has(f)) rmSync(join(out, f));
  for (const [name, content] of docs.files) writeFileSync(join(out, name), content);
  console.log(`docs: wrote ${docs.files.size} files to ${out}`);
}
