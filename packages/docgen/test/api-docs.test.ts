// The API reference cannot go stale: it is regenerated here (by the same command `npm run docs`
// runs, into a temporary directory) and compared byte for byte with the committed docs/api/.
// Every public export must carry JSDoc, and every relative link of the documentation (reference,
// guide, package READMEs) must lead to a file that exists and, for an anchor, to a heading in it.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_DIR } from '../src/generate.js';
import { slug } from '../src/render.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const main = fileURLToPath(new URL('../src/main.js', import.meta.url));

function mdFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.md')).sort() : [];
}

test('docs/api is what `npm run docs` generates from the built packages now', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'quiver-docs-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [main, '--out', out], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const committed = join(root, API_DIR);
  t.deepEqual(mdFiles(committed), mdFiles(out), 'the set of pages differs: run `npm run docs`');
  const stale = mdFiles(out).filter((f) => !existsSync(join(committed, f)) || readFileSync(join(committed, f), 'utf8') !== readFileSync(join(out, f), 'utf8'));
  t.deepEqual(stale, [], 'these pages are out of date: run `npm run docs` and commit docs/api');
  // Every exported name has JSDoc (the generator lists the ones that do not).
  t.deepEqual(r.stderr.split('\n').filter((l) => l.includes('no JSDoc on export')), []);
});

/** Heading anchors of a Markdown file, as GitHub makes them (duplicates numbered). */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!.replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

test('every relative link in the documentation leads to an existing file and heading', (t) => {
  const docs = [
    join(root, 'docs/GUIDE.md'),
    ...mdFiles(join(root, API_DIR)).map((f) => join(root, API_DIR, f)),
    ...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'README.md')),
    join(root, 'examples/README.md'),
  ].filter(existsSync);
  t.true(docs.length >= 10, `found only ${docs.length} documents`);
  const broken: string[] = [];
  for (const file of docs) {
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const href = m[1]!;
      if (/^[a-z]+:/i.test(href)) continue; // http:, mailto:
      const [path, anchor] = href.split('#') as [string, string | undefined];
      const target = path ? resolve(dirname(file), path) : file;
      if (!existsSync(target)) broken.push(`${file.slice(root.length + 1)}: ${href} (no such file)`);
      else if (anchor && target.endsWith('.md') && !anchorsOf(readFileSync(target, 'utf8')).has(anchor)) {
        broken.push(`${file.slice(root.length + 1)}: ${href} (no such heading)`);
      }
    }
  }
  t.deepEqual(broken, []);
});
