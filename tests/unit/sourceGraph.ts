/**
 * The program's sources as syntax trees and the imports between them, so a house rule is decided
 * by what the code does (which module it loads, which export it constructs or calls) and not by
 * how its text happens to be spelled. Syntax only: no type checker, so it stays fast and each rule
 * can be shown on a few lines of source held in memory.
 */
import * as path from "path";
import * as ts from "typescript";

/**
 * One module a file loads. `file`: a repo-relative source file; `package`: a package name (its
 * scope kept, its subpath dropped); `unresolved`: a relative specifier that names no file (`to`
 * is where it pointed); `computed`: a require()/import() of a name no reader of the source can know.
 */
export interface Edge {
  readonly kind: "file" | "package" | "unresolved" | "computed";
  readonly to: string;
  readonly line: number;
}

export interface SourceGraph {
  /** Every file reached from the entries by relative imports, parsed. */
  readonly files: ReadonlyMap<string, ts.SourceFile>;
  readonly edges: ReadonlyMap<string, readonly Edge[]>;
}

/** A place in a source file, for a failure message that says where to look. */
export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly code: string;
}

export function finding(sf: ts.SourceFile, node: ts.Node): Finding {
  const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const code = node.getText(sf).replace(/\s+/g, " ");
  return { file: sf.fileName, line, code: code.length > 80 ? `${code.slice(0, 77)}...` : code };
}

export const show = (f: Finding) => `${f.file}:${f.line}: ${f.code}`;

export function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
}

export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return parts.slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
}

/** Parentheses, `await`, `!` and type assertions change nothing about which value is meant. */
export function unwrap(expr: ts.Expression): ts.Expression {
  let e = expr;
  while (
    ts.isParenthesizedExpression(e) ||
    ts.isAwaitExpression(e) ||
    ts.isNonNullExpression(e) ||
    ts.isAsExpression(e) ||
    ts.isSatisfiesExpression(e) ||
    ts.isTypeAssertionExpression(e)
  ) {
    e = e.expression;
  }
  return e;
}

/** `require(x)` or `import(x)`: its specifier, null when computed; undefined for any other node. */
function loadedBy(node: ts.Node): string | null | undefined {
  if (!ts.isCallExpression(node)) return undefined;
  const callee = node.expression;
  const loads =
    callee.kind === ts.SyntaxKind.ImportKeyword ||
    (ts.isIdentifier(callee) && callee.text === "require");
  if (!loads) return undefined;
  const arg = node.arguments.at(0);
  return arg !== undefined && ts.isStringLiteralLike(arg) ? arg.text : null;
}

/** The specifier of a static import, re-export, `import x = require()` or `import("x").T` type. */
function staticSpecifier(node: ts.Node): ts.Expression | undefined {
  if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return node.moduleSpecifier;
  if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
    return node.moduleReference.expression;
  }
  if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
    return node.argument.literal;
  }
  return undefined;
}

/** Every module the file names, in source order; null for a name computed at run time. */
function moduleReferences(sf: ts.SourceFile): { specifier: string | null; node: ts.Node }[] {
  const out: { specifier: string | null; node: ts.Node }[] = [];
  const visit = (node: ts.Node): void => {
    const spec = staticSpecifier(node);
    const specifier =
      spec === undefined ? loadedBy(node) : ts.isStringLiteralLike(spec) ? spec.text : null;
    if (specifier !== undefined) out.push({ specifier, node });
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const isRelative = (s: string) => s === "." || s === ".." || /^\.\.?\//.test(s);

/** The file a relative specifier names, tried the way TypeScript's node resolution tries them. */
function resolve(from: string, specifier: string, exists: (file: string) => boolean) {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const candidates = [
    `${base}.ts`,
    `${base}.tsx`,
    `${base}.d.ts`,
    path.posix.join(base, "index.ts"),
    path.posix.join(base, "index.tsx"),
    base.replace(/\.js$/, ".ts"),
    base,
  ];
  return { base, file: candidates.find(exists) };
}

/**
 * Parses the entries and every file they reach by relative imports. `read` gives a repo-relative
 * file's text, or undefined when there is no such file.
 */
export function buildGraph(
  entries: readonly string[],
  read: (file: string) => string | undefined,
): SourceGraph {
  const texts = new Map<string, string | undefined>();
  const text = (file: string) => {
    if (!texts.has(file)) texts.set(file, read(file));
    return texts.get(file);
  };
  const files = new Map<string, ts.SourceFile>();
  const edges = new Map<string, Edge[]>();
  const queue = [...entries];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (files.has(file)) continue;
    const source = text(file);
    if (source === undefined) throw new Error(`${file}: no such file`);
    const sf = parse(file, source);
    const out = moduleReferences(sf).map(({ specifier, node }): Edge => {
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      if (specifier === null) return { kind: "computed", to: node.getText(sf), line };
      if (!isRelative(specifier)) return { kind: "package", to: packageName(specifier), line };
      const { base, file: target } = resolve(file, specifier, (f) => text(f) !== undefined);
      return target === undefined
        ? { kind: "unresolved", to: base, line }
        : { kind: "file", to: target, line };
    });
    files.set(file, sf);
    edges.set(file, out);
    queue.push(...out.filter((e) => e.kind === "file").map((e) => e.to));
  }
  return { files, edges };
}

/**
 * The shortest chain of imports from `start` to a module `wanted` accepts, as the files it passes
 * through and the module it ends at; undefined when `start` never gets there.
 */
export function importChain(
  graph: SourceGraph,
  start: string,
  wanted: (edge: Edge) => boolean,
): string[] | undefined {
  const cameFrom = new Map<string, string | undefined>([[start, undefined]]);
  const chainTo = (file: string | undefined): string[] =>
    file === undefined ? [] : [...chainTo(cameFrom.get(file)), file];
  const queue = [start];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const edge of graph.edges.get(file) ?? []) {
      if (wanted(edge)) return [...chainTo(file), edge.to];
      if (edge.kind === "file" && !cameFrom.has(edge.to)) {
        cameFrom.set(edge.to, file);
        queue.push(edge.to);
      }
    }
  }
  return undefined;
}

/** The names a file gives a package: the whole module (`* as x`, `x = require()`) or one export. */
interface Bindings {
  readonly pkg: string;
  readonly modules: Set<string>;
  /** Local name -> the export it is (`{ Container as C }`: C -> Container). */
  readonly exports: Map<string, string>;
}

function bindings(sf: ts.SourceFile, pkg: string): Bindings {
  const b: Bindings = { pkg, modules: new Set(), exports: new Map() };
  const from = (spec: ts.Expression | undefined) =>
    spec !== undefined && ts.isStringLiteralLike(spec) && packageName(spec.text) === pkg;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && from(node.moduleSpecifier)) {
      const named = node.importClause?.namedBindings;
      if (named !== undefined && ts.isNamespaceImport(named)) b.modules.add(named.name.text);
      if (named !== undefined && ts.isNamedImports(named)) {
        for (const el of named.elements)
          b.exports.set(el.name.text, (el.propertyName ?? el.name).text);
      }
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      from(node.moduleReference.expression)
    ) {
      b.modules.add(node.name.text);
    } else if (ts.isVariableDeclaration(node) && node.initializer !== undefined) {
      const loaded = loadedBy(unwrap(node.initializer));
      if (typeof loaded === "string" && packageName(loaded) === pkg) {
        if (ts.isIdentifier(node.name)) b.modules.add(node.name.text);
        if (ts.isObjectBindingPattern(node.name)) {
          for (const el of node.name.elements) {
            const exported = el.propertyName ?? el.name;
            if (
              ts.isIdentifier(el.name) &&
              (ts.isIdentifier(exported) || ts.isStringLiteral(exported))
            )
              b.exports.set(el.name.text, exported.text);
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return b;
}

/** The package itself, or a namespace of it: `pulumi`, `pulumi.runtime`, `require("@pulumi/pulumi")`. */
function isPackage(expr: ts.Expression, b: Bindings): boolean {
  const e = unwrap(expr);
  if (ts.isIdentifier(e)) return b.modules.has(e.text) || b.exports.has(e.text);
  const loaded = loadedBy(e);
  if (typeof loaded === "string") return packageName(loaded) === b.pkg;
  return ts.isPropertyAccessExpression(e) && isPackage(e.expression, b);
}

/** Whether `expr` names one of `names` exported by the package, under whatever local name. */
function isExport(expr: ts.Expression, b: Bindings, names: ReadonlySet<string>): boolean {
  const e = unwrap(expr);
  if (ts.isIdentifier(e)) {
    const exported = b.exports.get(e.text);
    return exported !== undefined && names.has(exported);
  }
  return ts.isPropertyAccessExpression(e) && names.has(e.name.text) && isPackage(e.expression, b);
}

/**
 * Where the file constructs (`new`) or calls one of `names` exported by `pkg`, found through the
 * bindings its imports create, so `new d.Container()` and `new C()` count and a local `Container`
 * class, a type annotation, a comment or a string do not.
 */
export function usesOf(
  sf: ts.SourceFile,
  pkg: string,
  use: "new" | "call",
  names: readonly string[],
): Finding[] {
  const b = bindings(sf, pkg);
  const wanted = new Set(names);
  const out: Finding[] = [];
  const visit = (node: ts.Node): void => {
    const hit =
      use === "new"
        ? ts.isNewExpression(node) && isExport(node.expression, b, wanted)
        : ts.isCallExpression(node) && isExport(node.expression, b, wanted);
    if (hit) out.push(finding(sf, node));
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}
