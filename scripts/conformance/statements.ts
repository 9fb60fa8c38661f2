/**
 * The normative statement lists in conformance/*.yaml: loading and validation. Each file is
 * one protocol version; a statement is keyed by (version, id), since MQTT 3.1.1 and 5.0 reuse
 * many id strings with different meanings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

/** The versions the matrix covers, in the order the report shows them. */
export const VERSIONS = ['3.1.1', '5.0', '3.1'] as const;
/** One protocol version of the matrix. */
export type Version = (typeof VERSIONS)[number];

/** Who carries a statement's obligation. */
export type Role = 'server' | 'client' | 'both';
/** A recorded status; absent means a test must check the statement. */
export type RecordedStatus = 'untested' | 'not-applicable' | 'deviation';

/** One normative statement of one version. */
export interface Statement {
  version: Version;
  id: string;
  role: Role;
  summary: string;
  status?: RecordedStatus;
  note?: string;
  option?: string;
}

/** The statements of one version and where the list came from. */
export interface StatementList {
  version: Version;
  title: string;
  source: string;
  statements: Statement[];
}

/** An MQTT 3.1.1 / 5.0 statement id, or one of Pipit's own MQTT 3.1 ids. */
export const ID_PATTERN = /^(MQTT-\d+\.\d+\.\d+-\d+|MQTT31-\d+)$/;

const statementSchema = z
  .object({
    id: z.string().regex(ID_PATTERN),
    role: z.enum(['server', 'client', 'both']),
    summary: z.string().min(10),
    status: z.enum(['untested', 'not-applicable', 'deviation']).optional(),
    note: z.string().min(10).optional(),
    option: z.string().min(1).optional(),
  })
  .strict()
  .refine((s) => s.status === undefined || s.note !== undefined, {
    message: 'a recorded status needs a note',
  })
  .refine((s) => s.option === undefined || s.status === 'deviation', {
    message: 'only a deviation names an option',
  });

const listSchema = z
  .object({
    version: z.enum(VERSIONS),
    title: z.string(),
    source: z.string(),
    statements: z.array(statementSchema).min(1),
  })
  .strict();

/** The data file of `version`, relative to the repository root. */
export function statementFile(version: Version): string {
  return `conformance/mqtt-${version}.yaml`;
}

/** Reads and validates one version's list; throws with the file name on any problem. */
export function loadStatementList(root: string, version: Version): StatementList {
  const file = statementFile(version);
  const parsed = listSchema.safeParse(parse(readFileSync(join(root, file), 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
  const data = parsed.data;
  if (data.version !== version) throw new Error(`${file}: says version ${data.version}`);
  const seen = new Set<string>();
  for (const s of data.statements) {
    if (seen.has(s.id)) throw new Error(`${file}: ${s.id} is listed twice`);
    seen.add(s.id);
  }
  return {
    version,
    title: data.title,
    source: data.source,
    statements: data.statements.map((s) => ({ ...s, version })),
  };
}

/** Every version's list. */
export function loadAllStatements(root: string): StatementList[] {
  return VERSIONS.map((v) => loadStatementList(root, v));
}
