/**
 * Quiver's API reference, generated: every published package of the workspace (`packages/*`
 * whose package.json is not private), every entry point in its `exports` that has types (except
 * benchmark support under `./bench/`), read from the emitted .d.ts files, rendered as Markdown
 * under `docs/api/`. {@link generateApiDocs} returns the files; the CLI (main.ts) writes them or
 * checks them; a test compares them with the committed ones so the reference cannot go stale.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extract, undocumented, type PackageInput } from './extract.js';
import { linkIndex, pageOf, renderEntry, renderIndex } from './render.js';

/** Where the reference lives, relative to the repository root. */
export const API_DIR = 'docs/api';

interface PackageJson {
  name: string;
  private?: boolean;
  description?: string;
  types?: string;
  exports?: Record<string, string | { types?: string }>;
}

/** Published packages and their typed entry points, in a stable order (core first, then by name). */
export function publishedPackages(root: string): Array<PackageInput & { description: string }> {
  const dirs = readdirSync(join(root, 'packages')).sort();
  const out: Array<PackageInput & { description: string }> = [];
  for (const d of dirs) {
    const dir = join(root, 'packages', d);
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
    if (pkg.private) continue;
    const entries: PackageInput['entries'] = [];
    const exports = pkg.exports ?? (pkg.types ? { '.': { types: pkg.types } } : {});
    for (const [subpath, target] of Object.entries(exports)) {
      const types = typeof target === 'string' ? undefined : target.types;
      if (!types || subpath.startsWith('./bench/')) continue;
      const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`;
      entries.push({ specifier, file: join(dir, types) });
    }
    if (entries.length > 0) out.push({ name: pkg.name, dir, entries, description: pkg.description ?? '' });
  }
  // Core first: its names win when a link could go to either (re-exports point back to it).
  return out.sort((a, b) => Number(b.name === '@quiver/core') - Number(a.name === '@quiver/core'));
}

export interface GeneratedDocs {
  /** File name under docs/api → content. */
  files: Map<string, string>;
  /** Exports without any JSDoc, as `package: name`. */
  undocumentedExports: string[];
  /** Public members without JSDoc, as `package: Export.member`. */
  undocumentedMembers: string[];
}

/** Generates the reference from the built packages under `root` (run `tsc -b` first). */
export function generateApiDocs(root: string): GeneratedDocs {
  const packages = publishedPackages(root);
  const models = extract(packages);
  const index = linkIndex(models);
  const files = new Map<string, string>();
  const pages: Array<{ specifier: string; description: string }> = [];
  for (const pkg of packages) {
    const readme = `../../packages/${pkg.dir.split('/').pop()}/README.md`;
    for (const e of models.get(pkg.name) ?? []) {
      const description = e.specifier === pkg.name ? pkg.description : firstSentence(e.intro);
      files.set(pageOf(e.specifier), renderEntry(e, { name: pkg.name, description, readme }, index));
      pages.push({ specifier: e.specifier, description });
    }
  }
  files.set('README.md', renderIndex(pages));
  const missing = undocumented(models);
  return { files, undocumentedExports: missing.exports, undocumentedMembers: missing.members };
}

function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const m = /^(.+?[.:])(\s|$)/.exec(flat);
  return m ? m[1]!.replace(/:$/, '.') : flat;
}

/** Differences between generated files and a directory: missing, changed, and extra file names. */
export function compareWith(files: Map<string, string>, dir: string): { missing: string[]; changed: string[]; extra: string[] } {
  const present = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.md')) : [];
  const missing: string[] = [];
  const changed: string[] = [];
  for (const [name, content] of files) {
    if (!present.includes(name)) missing.push(name);
    else if (readFileSync(join(dir, name), 'utf8') !== content) changed.push(name);
  }
  const extra = present.filter((f) => !files.has(f));
  return { missing, changed, extra };
}
