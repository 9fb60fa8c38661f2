/**
 * Reads the statement tags of a test file with the TypeScript parser. A tag counts as a check
 * when it is in a string of a test: its title, its body (an assertion message), the
 * title of a `describe`, or a row of a test table (an object literal with a `name`). Tags in
 * comments and in helper code outside tests are not checks.
 */
import ts from 'typescript';
import {
  fileVersion,
  findBracketedTags,
  firstMention,
  mentionedVersion,
  qualifiers,
  type VersionMention,
} from './markers.js';
import type { Version } from './statements.js';

/** One tag that a test checks. */
export interface TestSite {
  file: string;
  line: number;
  id: string;
  /** The test, suite or table row it belongs to, as written in the source. */
  title: string;
  /** Versions the source names for it; undefined: every version whose list has the id. */
  versions: Version[] | undefined;
}

interface Context {
  /** Innermost test title, when inside a test. */
  test?: string;
  /** Suite titles, innermost first. */
  suites: string[];
  /** A test table row: its name and protocol level. */
  row?: { name: string; version: VersionMention };
  /** The version named by the comment above the enclosing declaration (a table's doc). */
  declaration?: VersionMention;
  /** Inside a skipped or todo test or suite: nothing counts. */
  skipped: boolean;
}

const TEST_NAMES = new Set(['it', 'test']);
const SUITE_NAMES = new Set(['describe', 'suite']);

/** 'test', 'suite' or undefined, and whether the call is skipped (`it.skip`, `test.todo`). */
function classify(call: ts.CallExpression): { kind?: 'test' | 'suite'; skipped: boolean } {
  let callee = call.expression;
  let modifier: string | undefined;
  if (ts.isPropertyAccessExpression(callee)) {
    const name = callee.name.text;
    if (name === 'skip' || name === 'todo' || name === 'only') {
      modifier = name;
      callee = callee.expression;
    } else if (name === 'test') {
      return { kind: 'test', skipped: false }; // a subtest: t.test(...)
    }
  }
  if (!ts.isIdentifier(callee)) return { skipped: false };
  const skipped = modifier === 'skip' || modifier === 'todo';
  if (TEST_NAMES.has(callee.text)) return { kind: 'test', skipped };
  if (SUITE_NAMES.has(callee.text)) return { kind: 'suite', skipped };
  return { skipped: false };
}

/** The source text of a title argument: the string itself, or the template as written. */
function titleText(node: ts.Node | undefined, source: ts.SourceFile): string {
  if (!node) return '';
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  const text = node.getText(source);
  return ts.isTemplateExpression(node) ? text.slice(1, -1) : text;
}

/** The `name` and `version` of a test table row, if `node` is one. */
function tableRow(node: ts.ObjectLiteralExpression, source: ts.SourceFile): Context['row'] {
  let name: string | undefined;
  let version: VersionMention;
  for (const p of node.properties) {
    if (!ts.isPropertyAssignment(p) || !ts.isIdentifier(p.name)) continue;
    if (p.name.text === 'name') name = titleText(p.initializer, source);
    if (p.name.text === 'version' && ts.isNumericLiteral(p.initializer)) {
      version = p.initializer.text === '5' ? '5.0' : '3.1.1';
    }
  }
  return name === undefined ? undefined : { name, version };
}

/** The string content of a literal node, or undefined for other nodes. */
function literalText(node: ts.Node, source: ts.SourceFile): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.getText(source).slice(1, -1);
  return undefined;
}

/** The context for `node`'s children: a test, a suite, a table row or a documented table. */
function enter(node: ts.Node, ctx: Context, source: ts.SourceFile): Context {
  if (ts.isCallExpression(node)) {
    const { kind, skipped } = classify(node);
    const title = titleText(node.arguments[0], source);
    if (kind === 'test') return { ...ctx, test: title, skipped: ctx.skipped || skipped };
    if (kind === 'suite') {
      return { ...ctx, suites: [title, ...ctx.suites], skipped: ctx.skipped || skipped };
    }
  } else if (ctx.test === undefined && ts.isObjectLiteralExpression(node)) {
    const row = tableRow(node, source);
    if (row) return { ...ctx, row };
  } else if (ctx.test === undefined && ts.isArrayLiteralExpression(node)) {
    // A tuple row, `['<tag> second CONNECT (5.0)', bytes, code]`: named by its first string.
    const first = node.elements[0];
    const name = first === undefined ? undefined : literalText(first, source);
    if (name?.includes('[MQTT')) return { ...ctx, row: { name, version: undefined } };
  } else if (ts.isVariableStatement(node)) {
    const text = source.text;
    const comments = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
    const doc = comments.map((c) => text.slice(c.pos, c.end)).join(' ');
    return { ...ctx, declaration: mentionedVersion(doc) };
  }
  return ctx;
}

/** The versions a tag counts for: the first level, innermost first, that names one. */
function versionsOf(
  ctx: Context,
  content: string,
  title: string,
  qualifier: VersionMention,
  fromFile: VersionMention,
): Version[] | undefined {
  return firstMention([
    qualifier,
    ctx.row?.version,
    content === title ? undefined : mentionedVersion(content),
    mentionedVersion(title),
    ctx.row ? ctx.declaration : undefined,
    ...ctx.suites.map(mentionedVersion),
    fromFile,
  ]);
}

/** Every tag a test in `file` checks. */
export function scanTestFile(file: string, text: string): TestSite[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const sites: TestSite[] = [];
  const fromFile = fileVersion(file);

  const record = (node: ts.Node, content: string, ctx: Context): void => {
    // Outside tests and rows only a suite's own title counts, not the rest of its body.
    const suiteTitle = content === ctx.suites[0] ? content : undefined;
    const title = ctx.test ?? ctx.row?.name ?? suiteTitle;
    if (title === undefined || ctx.skipped) return;
    // Only bracketed tags declare a check: a bare id (`specId: 'MQTT-4.7.0-1'`) is data the
    // test compares with the codec's error, named in whatever numbering the codec uses.
    const tags = findBracketedTags(content);
    const qualified = qualifiers(content, tags);
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    tags.forEach((tag, i) => {
      const versions = versionsOf(ctx, content, title, qualified[i], fromFile);
      sites.push({ file, line, id: tag.id, title, versions });
    });
  };

  const visit = (node: ts.Node, ctx: Context): void => {
    const inner = enter(node, ctx, source);
    const content = literalText(node, source);
    if (content !== undefined) record(node, content, inner);
    else ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(source, { suites: [], skipped: false });
  return sites;
}
