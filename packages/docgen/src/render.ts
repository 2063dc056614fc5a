/**
 * Markdown of the API model: one page per entry point, each export under a heading of its own
 * name (so `page.md#name` links work), with its declaration, its JSDoc, and tables of members and
 * options (`@default` in a column of its own). `{@link X}` becomes a link to X's heading on
 * whichever page documents it.
 */
import type { DeclarationModel, Doc, DocTag, EntryModel, ExportModel, MemberModel } from './extract.js';

/** Where an export is documented: `core.md#streamproducer`. */
export type LinkIndex = Map<string, { page: string; anchor: string }>;

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Page file name of an entry: `@quiver/core` → `core.md`, `@quiver/a/b` → `a-b.md`. */
export function pageOf(specifier: string): string {
  return `${specifier.replace(/^@quiver\//, '').replace(/\//g, '-')}.md`;
}

/**
 * Section heading of a module path: `src/ipc/encoder` → `Module ipc/encoder` (the word keeps its
 * anchor apart from an export of the same name, such as `convert` in module `convert`).
 */
const sectionTitle = (module: string): string => `Module ${module.replace(/^src\//, '')}`;

/** Anchors of one page, deduplicated as GitHub does (`x`, `x-1`, ...). */
class Anchors {
  private readonly seen = new Map<string, number>();
  take(heading: string): string {
    const base = slug(heading);
    const n = this.seen.get(base) ?? 0;
    this.seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  }
}

/** Builds the link index over every page; the first page to document a name wins. */
export function linkIndex(models: Map<string, EntryModel[]>): LinkIndex {
  const index: LinkIndex = new Map();
  for (const entries of models.values()) {
    for (const e of entries) {
      const page = pageOf(e.specifier);
      const anchors = new Anchors();
      anchors.take(`${e.specifier} API reference`);
      anchors.take('Contents');
      for (const s of e.sections) {
        anchors.take(sectionTitle(s.module));
        for (const x of s.exports) {
          const anchor = anchors.take(x.name); // a re-export has a heading too
          if (!x.reexportOf && !index.has(x.name)) index.set(x.name, { page, anchor });
        }
      }
    }
  }
  return index;
}

/** Replaces `{@link X}`, `{@link X text}`, `{@link X.member}` with Markdown links (or code). */
function resolveLinks(text: string, page: string, index: LinkIndex): string {
  return text.replace(/\{@link(?:code|plain)?\s+([^\s}|]+)(?:\s*\|?\s*([^}]*))?\}/g, (_all, target: string, label?: string) => {
    const shown = label?.trim() || target;
    const hit = index.get(target.split(/[.#]/)[0]!);
    const code = `\`${shown}\``;
    if (!hit) return code;
    return `[${code}](${hit.page === page ? '' : hit.page}#${hit.anchor})`;
  });
}

/** One table cell: no newlines (lists become line breaks), pipes escaped. */
function cell(s: string): string {
  return s
    .replace(/\n\s*\n/g, '<br><br>')
    .replace(/\n\s*[-*]\s+/g, '<br>• ')
    .replace(/\n\s*(\d+)\.\s+/g, '<br>$1. ')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

/** A `@default` value: the literal in code, any explanation after it as text. */
function defaultValue(text: string): string {
  const m = /^(-?\d[\d_.e]*|0o[0-7]+|0x[0-9a-f]+|true|false|null|undefined|Infinity|'[^']*'|"[^"]*"|`[^`]*`)(.*)$/is.exec(text.trim());
  if (!m) return text.trim();
  const lit = m[1]!.startsWith('`') ? m[1]! : `\`${m[1]}\``;
  return `${lit}${m[2] ?? ''}`;
}

/** The non-`@default` tags of a doc, as Markdown lines. */
function tagLines(tags: readonly DocTag[], inline: boolean): string[] {
  const out: string[] = [];
  const params = tags.filter((t) => t.name === 'param');
  if (params.length > 0) {
    if (inline) out.push(`Parameters: ${params.map((p) => `\`${p.subject}\`: ${p.text}`).join('; ')}`);
    else out.push('Parameters:', '', ...params.map((p) => `- \`${p.subject}\`${p.text ? `: ${p.text.replace(/^-\s*/, '')}` : ''}`), '');
  }
  for (const t of tags) {
    if (t.name === 'param' || t.name === 'default' || t.name === 'internal' || t.name === 'packageDocumentation') continue;
    if (t.name === 'returns' || t.name === 'return') out.push(`Returns: ${t.text}`);
    else if (t.name === 'throws') out.push(`Throws${t.subject ? ` \`${t.subject}\`` : ''}: ${t.text}`);
    else if (t.name === 'example') out.push(inline ? `Example: ${t.text}` : `Example:\n\n${t.text}`);
    else if (t.name === 'deprecated') out.push(`**Deprecated.** ${t.text}`);
    else out.push(`@${t.name} ${t.text}`);
  }
  return out;
}

/** A doc as a paragraph (or, inline, one string for a table cell). */
function docText(doc: Doc, inline: boolean): string {
  const tags = tagLines(doc.tags, inline);
  if (inline) return [doc.text, ...tags].filter(Boolean).join(inline ? '\n\n' : '\n');
  return [doc.text, ...(tags.length ? ['', ...tags] : [])].join('\n').trim();
}

function membersTables(members: readonly MemberModel[], page: string, index: LinkIndex): string[] {
  const props = members.filter((m) => m.type !== undefined);
  const methods = members.filter((m) => m.type === undefined);
  const out: string[] = [];
  if (props.length > 0) {
    const withDefault = props.some((m) => m.doc.tags.some((t) => t.name === 'default'));
    out.push(withDefault ? '| Property | Type | Default | Description |' : '| Property | Type | Description |');
    out.push(withDefault ? '|---|---|---|---|' : '|---|---|---|');
    for (const m of props) {
      const readonly = /^(static\s+)?readonly\s/.test(m.signature) ? 'readonly ' : '';
      const isStatic = /^static\s/.test(m.signature) ? 'static ' : '';
      const name = `\`${isStatic}${readonly}${m.name}${m.optional ? '?' : ''}\``;
      const type = `\`${cell(m.type!)}\``;
      const desc = cell(resolveLinks(docText(m.doc, true), page, index));
      const dflt = m.doc.tags.find((t) => t.name === 'default');
      out.push(withDefault ? `| ${name} | ${type} | ${dflt ? cell(defaultValue(dflt.text)) : ''} | ${desc} |` : `| ${name} | ${type} | ${desc} |`);
    }
    out.push('');
  }
  if (methods.length > 0) {
    // A list rather than a table: method docs run to paragraphs, numbered steps and examples.
    out.push('Methods:', '');
    for (const m of methods) {
      out.push(`- \`${m.signature}\``);
      const doc = resolveLinks(docText(m.doc, false), page, index);
      if (doc) out.push('', ...doc.split('\n').map((l) => (l ? `  ${l}` : '')));
      out.push('');
    }
  }
  return out;
}

function renderExport(x: ExportModel, page: string, index: LinkIndex): string[] {
  const out = [`### ${x.name}`, ''];
  if (x.reexportOf) {
    const hit = index.get(x.name);
    const where = hit ? `[\`${x.reexportOf}\`](${hit.page}#${hit.anchor})` : `\`${x.reexportOf}\``;
    return [...out, `Re-exported from ${where}.`, ''];
  }
  const kinds = [...new Set(x.declarations.map((d) => d.kind))].join(', ');
  out.push(`*${kinds}*`, '', '```ts', ...x.declarations.map((d) => d.code), '```', '');
  // Overloads usually document only one signature: show each distinct doc once.
  const docs = [...new Set(x.declarations.map((d) => docText(d.doc, false)).filter(Boolean))];
  for (const d of docs) out.push(resolveLinks(d, page, index), '');
  const dflt = x.declarations.flatMap((d: DeclarationModel) => d.doc.tags.filter((t) => t.name === 'default'));
  if (dflt.length > 0) out.push(`Default: ${defaultValue(dflt[0]!.text)}`, '');
  for (const d of x.declarations) out.push(...membersTables(d.members, page, index));
  return out;
}

/** The Markdown of one entry point's page. */
export function renderEntry(e: EntryModel, pkg: { name: string; description: string; readme: string }, index: LinkIndex): string {
  const page = pageOf(e.specifier);
  const out = [
    '<!-- Generated by `npm run docs` (packages/docgen) from the emitted .d.ts files and their JSDoc. Do not edit: change the JSDoc and regenerate. -->',
    '',
    `# ${e.specifier} API reference`,
    '',
  ];
  if (pkg.description) out.push(pkg.description, '');
  if (e.intro) out.push(resolveLinks(e.intro, page, index), '');
  out.push(`The package's [README](${pkg.readme}) explains how to use it; the [guide](../GUIDE.md) how the packages fit together.`, '');
  const body = e.sections.flatMap((s) => s.exports.flatMap((x) => x.declarations.flatMap((d) => [d.code, ...d.members.map((m) => m.signature)])));
  if (body.some((c) => /\bA\.[A-Z]/.test(c))) out.push("In signatures, `A` is apache-arrow (`import * as A from 'apache-arrow'`).", '');
  out.push('## Contents', '');
  for (const s of e.sections) {
    const names = s.exports.map((x) => {
      const hit = index.get(x.name);
      return hit && hit.page === page ? `[${x.name}](#${hit.anchor})` : `\`${x.name}\``;
    });
    out.push(`- **${s.module.replace(/^src\//, '')}**: ${names.join(', ')}`);
  }
  out.push('');
  for (const s of e.sections) {
    out.push(`## ${sectionTitle(s.module)}`, '');
    if (s.intro) out.push(resolveLinks(s.intro, page, index), '');
    for (const x of s.exports) out.push(...renderExport(x, page, index));
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/** The index page: every package and entry point with its page. */
export function renderIndex(pages: Array<{ specifier: string; description: string }>): string {
  const out = [
    '<!-- Generated by `npm run docs` (packages/docgen). Do not edit. -->',
    '',
    '# Quiver API reference',
    '',
    "Generated from each package's public exports (its emitted `.d.ts` files) and their JSDoc by",
    '`npm run docs`; a test regenerates it and fails when this directory is out of date. For how',
    'to use the packages together, read the [guide](../GUIDE.md) first.',
    '',
    '| Import | Page | What |',
    '|---|---|---|',
  ];
  for (const p of pages) out.push(`| \`${p.specifier}\` | [${pageOf(p.specifier)}](${pageOf(p.specifier)}) | ${cell(p.description)} |`);
  return `${out.join('\n')}\n`;
}
