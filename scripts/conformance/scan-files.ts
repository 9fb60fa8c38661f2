/**
 * Walks src/ and test/ for statement tags: the code that implements a statement, the tests
 * that check one, and every tag that names no statement (a typo, a placeholder such as
 * `[MQTT-3.8.4-?]`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import {
  findBracketedTags,
  firstMention,
  mentionedVersion,
  qualifiers,
  type TagMatch,
} from './markers.js';
import { scanTestFile, type TestSite } from './scan-tests.js';
import { ID_PATTERN, type Version } from './statements.js';

/** A tag in source code: the file implements (part of) the statement. */
export interface CodeSite {
  file: string;
  line: number;
  id: string;
  /** Versions the source names for it; undefined: every version whose list has the id. */
  versions: Version[] | undefined;
}

/** A tag, in code or tests, that is not a well-formed statement id. */
export interface BadTag {
  file: string;
  line: number;
  text: string;
}

/** Everything the scan found. */
export interface ScanResult {
  code: CodeSite[];
  tests: TestSite[];
  /** Every well-formed id written anywhere, to check that each names a known statement. */
  mentions: { file: string; line: number; id: string }[];
  bad: BadTag[];
}

/** TypeScript files under `dir`, as repository-relative paths with '/' separators. */
export function listSourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const path = join(abs, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) out.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(join(root, dir));
  return out;
}

/** A quoted literal whose whole text is an id: `'MQTT-3.1.0-1'`. */
const QUOTED_ID = /(['"`])(MQTT-\d+\.\d+\.\d+-\d+|MQTT31-\d+)\1/g;
/** `version === 5 ? 'MQTT-a' : 'MQTT-b'`: the first id is MQTT 5's, the second 3.1.1's. */
const VERSION_TERNARY = /(?:\bv5|===\s*5)\s*\?\s*'(MQTT-[\d.]+-\d+)'\s*:\s*'(MQTT-[\d.]+-\d+)'/;

/** The tags of one line of source code, each with the versions the line names for it. */
function scanCodeLine(file: string, line: number, text: string): CodeSite[] {
  const ternary = VERSION_TERNARY.exec(text);
  if (ternary) {
    return [
      { file, line, id: ternary[1]!, versions: ['5.0'] },
      { file, line, id: ternary[2]!, versions: ['3.1.1'] },
    ];
  }
  const tags: TagMatch[] = [
    ...findBracketedTags(text),
    ...[...text.matchAll(QUOTED_ID)].map((m) => ({
      id: m[2]!,
      index: m.index,
      end: m.index + m[0].length,
    })),
  ].sort((a, b) => a.index - b.index);
  const qualified = qualifiers(text, tags);
  const own = mentionedVersion(text);
  return tags.map((tag, i) => ({
    file,
    line,
    id: tag.id,
    versions: firstMention([qualified[i], own]),
  }));
}

/** Scans every TypeScript file of src/ (code) and test/ (tests). */
export function scanRepository(root: string): ScanResult {
  const result: ScanResult = { code: [], tests: [], mentions: [], bad: [] };
  const check = (file: string, text: string): void => {
    text.split('\n').forEach((lineText, i) => {
      for (const tag of findBracketedTags(lineText)) {
        if (ID_PATTERN.test(tag.id)) result.mentions.push({ file, line: i + 1, id: tag.id });
        else result.bad.push({ file, line: i + 1, text: `[${tag.id}]` });
      }
    });
  };
  for (const file of listSourceFiles(root, 'src')) {
    const text = readFileSync(join(root, file), 'utf8');
    check(file, text);
    text.split('\n').forEach((lineText, i) => {
      result.code.push(...scanCodeLine(file, i + 1, lineText));
    });
  }
  for (const file of listSourceFiles(root, 'test')) {
    const text = readFileSync(join(root, file), 'utf8');
    check(file, text);
    result.tests.push(...scanTestFile(file, text));
  }
  return result;
}
