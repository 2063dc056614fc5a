/**
 * Reads a package's public surface from its emitted declaration files (`dist/**.d.ts`) with the
 * TypeScript 5 compiler API. The repository compiles with TypeScript 7, whose native compiler
 * has no JS API; the .d.ts files it emits are plain TypeScript that version 5 parses, and they
 * keep every JSDoc comment. Only syntax and symbols are used (no type checking), so this is fast.
 *
 * The model is the export list of each entry point, grouped by the module that declares each
 * export, with the JSDoc of every declaration and of every public member.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript5';

/** A JSDoc block tag (`@default 50`, `@param url ...`, `@throws {X} ...`). */
export interface DocTag {
  name: string;
  /** The parameter name of `@param`, the type of `@throws {T}`. */
  subject?: string;
  text: string;
}

/** JSDoc of one declaration. `text` keeps `{@link X}` as written; the renderer resolves links. */
export interface Doc {
  text: string;
  tags: DocTag[];
}

export interface MemberModel {
  /** The member's name as written (`send`, `[Symbol.asyncDispose]`, `constructor`). */
  name: string;
  /** Property or method signature, printed without comments, on one line. */
  signature: string;
  /** Property type (properties and accessors), for option tables. */
  type?: string;
  optional: boolean;
  doc: Doc;
}

export type ExportKind = 'function' | 'class' | 'interface' | 'type' | 'const' | 'enum' | 'namespace' | 'other';

export interface DeclarationModel {
  kind: ExportKind;
  /** Printed declaration: a whole function or type signature, or a class/interface head. */
  code: string;
  doc: Doc;
  /** Class and interface members, and the properties of a const's object type. */
  members: MemberModel[];
}

export interface ExportModel {
  name: string;
  declarations: DeclarationModel[];
  /** Set when the export is declared in another package (a re-export). */
  reexportOf?: string;
}

export interface SectionModel {
  /** Module path relative to the package's dist directory, without `.d.ts` (`src/ipc/encoder`). */
  module: string;
  /** The module's own header comment, if it has one. */
  intro: string;
  exports: ExportModel[];
}

export interface EntryModel {
  /** Import specifier: `@quiver/core`, `@quiver/transport-socket/conformance`. */
  specifier: string;
  /** The package documentation comment of the entry file, if any. */
  intro: string;
  sections: SectionModel[];
}

export interface PackageInput {
  /** Package name. */
  name: string;
  /** Absolute package directory. */
  dir: string;
  /** Entry points: import specifier and absolute .d.ts path. */
  entries: Array<{ specifier: string; file: string }>;
}

const printer = ts.createPrinter({ removeComments: true, omitTrailingSemicolon: true });

/** One line of code: the printer's output with runs of whitespace collapsed. */
function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/;\s*}/g, ' }').trim();
}

function print(node: ts.Node, sf: ts.SourceFile): string {
  return printer.printNode(ts.EmitHint.Unspecified, node, sf).replace(/;\s*$/, '');
}

function tagText(t: ts.JSDocTag): DocTag {
  const text = (ts.getTextOfJSDocComment(t.comment) ?? '').trim();
  const name = t.tagName.text;
  if (ts.isJSDocParameterTag(t)) return { name, subject: t.name.getText(), text };
  if (ts.isJSDocThrowsTag(t) && t.typeExpression) return { name, subject: t.typeExpression.type.getText(), text };
  return { name, text };
}

/** The JSDoc closest to a node (the last block before it). */
export function docOf(node: ts.Node): Doc {
  const blocks = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const last = blocks[blocks.length - 1];
  if (!last) return { text: '', tags: [] };
  return { text: (ts.getTextOfJSDocComment(last.comment) ?? '').trim(), tags: (last.tags ?? []).map(tagText) };
}

const hasTag = (d: Doc, name: string): boolean => d.tags.some((t) => t.name === name);

/**
 * A member's own JSDoc or, when it has none, what it inherits: the compiler's documentation of
 * the member's symbol includes the doc of the member it implements or overrides (a
 * `SocketConnection.send` is documented by `Connection.send`).
 */
function memberDoc(m: ts.Node, checker: ts.TypeChecker): Doc {
  const own = docOf(m);
  const name = (m as { name?: ts.Node }).name;
  if (own.text || own.tags.length > 0 || !name) return own;
  // A computed name (`[Symbol.asyncDispose]`) has no symbol at its location; its node does.
  const sym = checker.getSymbolAtLocation(name) ?? (m as unknown as { symbol?: ts.Symbol }).symbol;
  if (!sym) return own;
  const text = ts.displayPartsToString(sym.getDocumentationComment(checker)).trim();
  const tags = sym.getJsDocTags(checker).map((t) => {
    const parts = t.text ?? [];
    const subject = t.name === 'param' ? parts.find((p) => p.kind === 'parameterName')?.text : undefined;
    const body = ts.displayPartsToString(parts.filter((p) => p.kind !== 'parameterName')).trim();
    return { name: t.name, ...(subject ? { subject } : {}), text: body };
  });
  return { text, tags };
}

function isHidden(node: ts.Node): boolean {
  const mods = ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []) : [];
  if (mods.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)) return true;
  const name = (node as { name?: ts.Node }).name;
  if (name && ts.isPrivateIdentifier(name)) return true;
  return hasTag(docOf(node), 'internal');
}

function memberName(m: ts.ClassElement | ts.TypeElement, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(m) || ts.isConstructSignatureDeclaration(m)) return 'constructor';
  if (ts.isCallSignatureDeclaration(m)) return '(call)';
  if (ts.isIndexSignatureDeclaration(m)) return '[index]';
  return m.name ? m.name.getText(sf) : '?';
}

function memberOf(m: ts.ClassElement | ts.TypeElement, sf: ts.SourceFile, checker: ts.TypeChecker): MemberModel {
  const optional = !!(m as { questionToken?: ts.Node }).questionToken;
  const typeNode = ts.isPropertySignature(m) || ts.isPropertyDeclaration(m) ? m.type : ts.isGetAccessorDeclaration(m) ? m.type : undefined;
  const out: MemberModel = { name: memberName(m, sf), signature: oneLine(print(m, sf)), optional, doc: memberDoc(m, checker) };
  if (typeNode) out.type = oneLine(print(typeNode, sf));
  return out;
}

/** Public members, in declaration order; a getter and its setter count once (the getter). */
function membersOf(list: ts.NodeArray<ts.ClassElement | ts.TypeElement>, sf: ts.SourceFile, checker: ts.TypeChecker): MemberModel[] {
  const out: MemberModel[] = [];
  const seenAccessors = new Set<string>();
  for (const m of list) {
    if (isHidden(m)) continue;
    if (ts.isConstructorDeclaration(m) && m.parameters.length === 0 && !docOf(m).text) continue;
    if (ts.isSemicolonClassElement(m) || ts.isClassStaticBlockDeclaration(m)) continue;
    if (ts.isGetAccessorDeclaration(m) || ts.isSetAccessorDeclaration(m)) {
      const key = memberName(m, sf);
      if (seenAccessors.has(key)) continue;
      seenAccessors.add(key);
      // The pair as one property: `get x(): T` (plus `set` if there is one) reads as `x: T`.
      const getter = list.find((o) => ts.isGetAccessorDeclaration(o) && memberName(o, sf) === key) as ts.GetAccessorDeclaration | undefined;
      const setter = list.some((o) => ts.isSetAccessorDeclaration(o) && memberName(o, sf) === key);
      const src = getter ?? m;
      const mods = (ts.getModifiers(src) ?? []).map((x) => x.getText(sf)).join(' ');
      const type = getter?.type ? oneLine(print(getter.type, sf)) : 'unknown';
      out.push({
        name: key,
        signature: `${mods ? `${mods} ` : ''}${setter ? '' : 'readonly '}${key}: ${type}`,
        type,
        optional: false,
        doc: memberDoc(getter ?? m, checker),
      });
      continue;
    }
    out.push(memberOf(m, sf, checker));
  }
  return out;
}

function head(node: ts.ClassDeclaration | ts.InterfaceDeclaration, keyword: string, sf: ts.SourceFile): string {
  const abstract = ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.AbstractKeyword) ? 'abstract ' : '';
  const tps = node.typeParameters ? `<${node.typeParameters.map((p) => print(p, sf)).join(', ')}>` : '';
  const heritage = (node.heritageClauses ?? []).map((h) => oneLine(h.getText(sf))).join(' ');
  return `${abstract}${keyword} ${node.name?.text ?? 'default'}${tps}${heritage ? ` ${heritage}` : ''}`;
}

/** Removes `export`, `declare` and `default` from a printed top-level declaration. */
function bare(code: string): string {
  return code.replace(/^(export\s+)?(default\s+)?(declare\s+)?/, '');
}

/**
 * Members an interface inherits from bases that no entry point exports (`FramerOptions extends
 * SchemaLimits`): a reader could not look those up, so they are listed with the interface.
 */
function hiddenBaseMembers(node: ts.InterfaceDeclaration, checker: ts.TypeChecker, exported: ReadonlySet<string>, program: ts.Program): MemberModel[] {
  const out: MemberModel[] = [];
  for (const clause of node.heritageClauses ?? []) {
    for (const t of clause.types) {
      let sym = checker.getSymbolAtLocation(t.expression);
      if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
      if (!sym || exported.has(sym.name)) continue;
      for (const d of sym.declarations ?? []) {
        // Only our own hidden bases: lib and dependency types (AsyncIterable...) are well known.
        if (!ts.isInterfaceDeclaration(d) || d.getSourceFile().fileName.includes('/node_modules/') || program.isSourceFileDefaultLibrary(d.getSourceFile())) continue;
        out.push(...membersOf(d.members, d.getSourceFile(), checker), ...hiddenBaseMembers(d, checker, exported, program));
      }
    }
  }
  return out;
}

function declarationOf(node: ts.Declaration, sf: ts.SourceFile, checker: ts.TypeChecker, exported: ReadonlySet<string>, program: ts.Program): DeclarationModel | null {
  if (ts.isFunctionDeclaration(node)) {
    return { kind: 'function', code: bare(print(node, sf)), doc: docOf(node), members: [] };
  }
  if (ts.isClassDeclaration(node)) {
    return { kind: 'class', code: head(node, 'class', sf), doc: docOf(node), members: membersOf(node.members, sf, checker) };
  }
  if (ts.isInterfaceDeclaration(node)) {
    const members = [...membersOf(node.members, sf, checker), ...hiddenBaseMembers(node, checker, exported, program)];
    return { kind: 'interface', code: head(node, 'interface', sf), doc: docOf(node), members };
  }
  if (ts.isTypeAliasDeclaration(node)) {
    return { kind: 'type', code: bare(print(node, sf)), doc: docOf(node), members: [] };
  }
  if (ts.isVariableDeclaration(node)) {
    const list = node.parent;
    const keyword = ts.isVariableDeclarationList(list) && list.flags & ts.NodeFlags.Const ? 'const' : 'let';
    const members = node.type && ts.isTypeLiteralNode(node.type) ? membersOf(node.type.members, sf, checker) : [];
    // An object type with documented members is shown as a table, not as one long line.
    const type = members.length > 0 ? '{ ... }' : node.type ? oneLine(print(node.type, sf)) : undefined;
    const init = !node.type && node.initializer ? ` = ${print(node.initializer, sf)}` : '';
    return { kind: 'const', code: `${keyword} ${node.name.getText(sf)}${type ? `: ${type}` : ''}${init}`, doc: docOf(node), members };
  }
  if (ts.isEnumDeclaration(node)) return { kind: 'enum', code: bare(print(node, sf)), doc: docOf(node), members: [] };
  if (ts.isModuleDeclaration(node)) return { kind: 'namespace', code: `namespace ${node.name.getText(sf)}`, doc: docOf(node), members: [] };
  return null;
}

/**
 * The header comment of a module: a JSDoc block at the very start of the file that does not
 * belong to the first statement (it is followed by another block, or the first statement is an
 * import or re-export, which is never documented).
 */
export function moduleIntro(sf: ts.SourceFile): string {
  const text = sf.getFullText();
  const ranges = ts.getLeadingCommentRanges(text, 0) ?? [];
  const blocks = ranges.filter((r) => text.startsWith('/**', r.pos));
  const first = blocks[0];
  if (!first || first.pos !== ranges[0]!.pos) return '';
  const firstStatement = sf.statements[0];
  const standalone =
    blocks.length > 1 || !firstStatement || ts.isImportDeclaration(firstStatement) || ts.isExportDeclaration(firstStatement);
  if (!standalone) return '';
  return cleanComment(text.slice(first.pos, first.end));
}

/**
 * The header comment of the source file a declaration file was emitted from (`dist/src/x.d.ts`
 * → `src/x.ts`): the compiler drops a header that sat on imports the .d.ts does not need, so
 * the source is the reliable place. Falls back to the .d.ts itself.
 */
function introOf(dts: ts.SourceFile, pkgDir: string): string {
  const src = join(pkgDir, relative(join(pkgDir, 'dist'), dts.fileName).replace(/\.d\.ts$/, '.ts'));
  if (existsSync(src)) return moduleIntro(ts.createSourceFile(src, readFileSync(src, 'utf8'), ts.ScriptTarget.ES2022, true));
  return moduleIntro(dts);
}

/** The text of a `/** ... *\/` block: margins and `@packageDocumentation` removed. */
function cleanComment(block: string): string {
  return block
    .replace(/^\/\*\*\s?/, '')
    .replace(/\s*\*\/$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .replace(/@packageDocumentation\s*/g, '')
    .trim();
}

/**
 * The position of each exported name in the entry file: the index of the statement that exports
 * it (`export * from`, `export { x } from`, or a local declaration). Sections then follow the
 * entry file's own order, which is the order its author chose (errors first, say), not the
 * compiler's (named re-exports before star re-exports).
 */
function exportRanks(sf: ts.SourceFile, checker: ts.TypeChecker): Map<string, number> {
  const rank = new Map<string, number>();
  const set = (name: string, i: number) => {
    if (!rank.has(name)) rank.set(name, i);
  };
  sf.statements.forEach((st, i) => {
    if (ts.isExportDeclaration(st)) {
      if (st.exportClause && ts.isNamedExports(st.exportClause)) {
        for (const el of st.exportClause.elements) set(el.name.text, i);
      } else if (st.moduleSpecifier) {
        const mod = checker.getSymbolAtLocation(st.moduleSpecifier);
        for (const x of mod ? checker.getExportsOfModule(mod) : []) set(x.name, i);
      }
    } else {
      const name = (st as { name?: ts.Node }).name;
      if (name && ts.isIdentifier(name)) set(name.text, i);
      if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) set(d.name.text, i);
    }
  });
  return rank;
}

/** Which package directory a file belongs to, from the list given. */
function ownerOf(file: string, packages: readonly PackageInput[]): PackageInput | undefined {
  return packages.find((p) => file.startsWith(`${p.dir}/`));
}

/** Reads every entry of every package. One program for all, so re-exports resolve across packages. */
export function extract(packages: readonly PackageInput[]): Map<string, EntryModel[]> {
  const files = packages.flatMap((p) => p.entries.map((e) => e.file));
  const program = ts.createProgram(files, {
    noEmit: true,
    skipLibCheck: true,
    types: [],
    // Nothing is type-checked, so the standard library's declarations are not needed (without
    // them a run needs about a sixth less CPU); lib types such as AsyncIterable stay unresolved.
    noLib: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  });
  const checker = program.getTypeChecker();
  // Every name some entry point exports: a base type outside this set has its members inlined.
  const exportedNames = new Set<string>();
  for (const f of files) {
    const sf = program.getSourceFile(f);
    const sym = sf && checker.getSymbolAtLocation(sf);
    for (const x of sym ? checker.getExportsOfModule(sym) : []) exportedNames.add(x.name);
  }
  const out = new Map<string, EntryModel[]>();
  for (const pkg of packages) {
    const entries: EntryModel[] = [];
    for (const entry of pkg.entries) {
      const sf = program.getSourceFile(entry.file);
      if (!sf) throw new Error(`docgen: cannot read ${entry.file} (was the package built?)`);
      const moduleSymbol = checker.getSymbolAtLocation(sf);
      const rank = exportRanks(sf, checker);
      const exportsInOrder = (moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [])
        .map((sym, i) => ({ sym, i, r: rank.get(sym.name) ?? Infinity }))
        .sort((a, b) => a.r - b.r || a.i - b.i)
        .map((x) => x.sym);
      const sections = new Map<string, SectionModel>();
      for (const exported of exportsInOrder) {
        const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        const decls = (target.declarations ?? []).filter((d) => d.getSourceFile().isDeclarationFile);
        if (decls.length === 0) continue;
        const declFile = decls[0]!.getSourceFile();
        const owner = ownerOf(declFile.fileName, packages);
        const model: ExportModel = { name: exported.name, declarations: [] };
        if (owner && owner !== pkg) model.reexportOf = owner.name;
        else {
          for (const d of decls) {
            const m = declarationOf(d, d.getSourceFile(), checker, exportedNames, program);
            if (m) model.declarations.push(m);
          }
        }
        const module = owner === pkg || !owner ? relative(`${pkg.dir}/dist`, declFile.fileName).replace(/\.d\.ts$/, '') : `(re-exported)`;
        let section = sections.get(module);
        if (!section) {
          section = { module, intro: owner === pkg ? introOf(declFile, pkg.dir) : '', exports: [] };
          sections.set(module, section);
        }
        section.exports.push(model);
      }
      const intro = introOf(sf, pkg.dir);
      // An entry point that is itself the only module: its header is the page's introduction.
      for (const sec of sections.values()) if (sec.intro === intro) sec.intro = '';
      entries.push({ specifier: entry.specifier, intro, sections: [...sections.values()] });
    }
    out.set(pkg.name, entries);
  }
  return out;
}

/** Exports (and public members) without any doc comment, as `package: name` lines. */
export function undocumented(models: Map<string, EntryModel[]>): { exports: string[]; members: string[] } {
  const exports: string[] = [];
  const members: string[] = [];
  for (const [pkg, entries] of models) {
    for (const e of entries) {
      for (const s of e.sections) {
        for (const x of s.exports) {
          if (x.reexportOf) continue;
          if (!x.declarations.some((d) => d.doc.text || d.doc.tags.length > 0)) exports.push(`${pkg}: ${x.name}`);
          for (const d of x.declarations) {
            for (const m of d.members) if (!m.doc.text && !m.doc.tags.length) members.push(`${pkg}: ${x.name}.${m.name}`);
          }
        }
      }
    }
  }
  return { exports, members };
}
