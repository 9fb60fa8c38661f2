/**
 * Joins the statement lists with the scanned tags: per version and statement, the tests that
 * check it, the code that implements it and its status; and every problem CI fails on.
 */
import type { ScanResult } from './scan-files.js';
import type { Statement, StatementList, Version } from './statements.js';

/** A test that checks a statement: its file and its title as written. */
export interface TestRef {
  file: string;
  title: string;
}

/** What the matrix says of one statement. */
export type Status = 'tested' | 'deviation' | 'untested' | 'not-applicable' | 'client-only';

/** One statement of one version, with its evidence. */
export interface Row {
  statement: Statement;
  status: Status;
  tests: TestRef[];
  /** Files whose code is tagged with the statement. */
  code: string[];
}

/** The counts of one version, for the summary tables. */
export interface Counts {
  statements: number;
  tested: number;
  deviations: number;
  /** Server statements recorded as untested, and of those, the ones tagged in the code. */
  untested: number;
  implementedOnly: number;
  notApplicable: number;
  clientOnly: number;
}

/** The matrix of one version. */
export interface VersionMatrix {
  list: StatementList;
  rows: Row[];
  counts: Counts;
}

/** The whole matrix and what is wrong with the repository. */
export interface Matrix {
  versions: VersionMatrix[];
  problems: string[];
}

/** Tests of Pipit's MQTT client (src/client), which talk to other brokers. */
const CLIENT_TESTS = 'test/client/';

function roleOf(
  lists: StatementList[],
  version: Version,
  id: string,
): Statement['role'] | undefined {
  return lists.find((l) => l.version === version)?.statements.find((s) => s.id === id)?.role;
}

/** Versions whose list has `id`. */
function listing(lists: StatementList[], id: string): Version[] {
  return lists.filter((l) => l.statements.some((s) => s.id === id)).map((l) => l.version);
}

/** The versions a site counts for, or a problem when it names one without the id. */
function attribute(
  lists: StatementList[],
  id: string,
  named: Version[] | undefined,
): { versions: Version[]; problem?: string } {
  const known = listing(lists, id);
  if (known.length === 0) return { versions: [], problem: `[${id}] is not a statement id` };
  if (id.startsWith('MQTT31-') || named === undefined) return { versions: known };
  const versions = named.filter((v) => known.includes(v));
  if (versions.length > 0) return { versions };
  return {
    versions: [],
    problem: `[${id}] is attributed to MQTT ${named.join(', ')}, which has no such statement (it is ${known.map((v) => `MQTT ${v}`).join(', ')}'s)`,
  };
}

function statusOf(statement: Statement, tests: TestRef[]): Status {
  if (statement.status === 'deviation') return 'deviation';
  if (statement.status === 'not-applicable') return 'not-applicable';
  if (statement.role === 'client') return 'client-only';
  if (statement.status === 'untested') return 'untested';
  return tests.length > 0 ? 'tested' : 'untested';
}

/** The problem of one row, if any. */
function rowProblem(list: StatementList, row: Row): string | undefined {
  const s = row.statement;
  const where = `${s.id} (MQTT ${list.version})`;
  if (s.role === 'client' && s.status !== undefined) {
    return `${where} is client-only: it needs no recorded status`;
  }
  if (s.status === 'deviation' && row.tests.length === 0) {
    return `${where} is a deviation without a test showing Pipit's behaviour`;
  }
  if (s.status === 'untested' && row.tests.length > 0) {
    return `${where} has tests now: remove its "untested" status`;
  }
  if (s.role !== 'client' && s.status === undefined && row.tests.length === 0) {
    return `${where} is a server statement with neither a test nor a recorded status`;
  }
  return undefined;
}

function countRows(rows: Row[]): Counts {
  const is = (status: Status) => rows.filter((r) => r.status === status).length;
  return {
    statements: rows.length,
    tested: is('tested'),
    deviations: is('deviation'),
    untested: is('untested'),
    implementedOnly: rows.filter((r) => r.status === 'untested' && r.code.length > 0).length,
    notApplicable: is('not-applicable'),
    clientOnly: is('client-only'),
  };
}

function uniqueSorted<T>(items: T[], key: (item: T) => string): T[] {
  const byKey = new Map(items.map((item) => [key(item), item]));
  return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
}

/** Builds the matrix of every version from the lists and the scan. */
export function buildMatrix(lists: StatementList[], scan: ScanResult): Matrix {
  const problems: string[] = [];
  const tests = new Map<string, TestRef[]>();
  const code = new Map<string, string[]>();
  const add = <T>(map: Map<string, T[]>, version: Version, id: string, item: T): void => {
    const key = `${version} ${id}`;
    map.set(key, [...(map.get(key) ?? []), item]);
  };
  for (const site of scan.tests) {
    const { versions, problem } = attribute(lists, site.id, site.versions);
    if (problem) problems.push(`${site.file}:${site.line}: ${problem}`);
    for (const v of versions) {
      // Pipit's own client is tested against other brokers: evidence for client rules only.
      if (site.file.startsWith(CLIENT_TESTS) && roleOf(lists, v, site.id) !== 'client') continue;
      add(tests, v, site.id, { file: site.file, title: site.title });
    }
  }
  for (const site of scan.code) {
    // Code tags are loose prose: a version named by mistake falls back to every version.
    let { versions, problem } = attribute(lists, site.id, site.versions);
    if (problem && versions.length === 0) versions = attribute(lists, site.id, undefined).versions;
    if (versions.length === 0)
      problems.push(`${site.file}:${site.line}: [${site.id}] is not a statement id`);
    for (const v of versions) add(code, v, site.id, site.file);
  }
  for (const m of scan.mentions) {
    if (listing(lists, m.id).length === 0)
      problems.push(`${m.file}:${m.line}: [${m.id}] is not a statement id`);
  }
  for (const b of scan.bad) problems.push(`${b.file}:${b.line}: ${b.text} is not a statement id`);
  const versions = lists.map((list) => {
    const rows = list.statements.map((statement): Row => {
      const key = `${list.version} ${statement.id}`;
      const t = uniqueSorted(tests.get(key) ?? [], (r) => `${r.file}\u0000${r.title}`);
      const c = uniqueSorted(code.get(key) ?? [], (f) => f);
      return { statement, status: statusOf(statement, t), tests: t, code: c };
    });
    for (const row of rows) {
      const problem = rowProblem(list, row);
      if (problem) problems.push(problem);
    }
    return { list, rows, counts: countRows(rows) };
  });
  return { versions, problems: [...new Set(problems)] };
}
