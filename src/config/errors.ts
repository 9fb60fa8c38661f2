/**
 * Configuration errors: every problem is one line that names the key path, what was expected
 * and the value found, e.g. `listeners[1].port: expected an integer 0-65535, got "abc"`.
 */
import type { z } from 'zod';

/** A key path: object keys and list indexes. */
export type KeyPath = readonly PropertyKey[];

/** One problem before formatting. */
export interface ConfigProblem {
  readonly path: KeyPath;
  readonly message: string;
}

/** Thrown when a configuration cannot be used; `problems` holds one line per problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** `['listeners', 1, 'port']` -> `listeners[1].port`. */
export function formatPath(path: KeyPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** A short rendering of the value found. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}..."` : json;
}

type AnySchema = z.core.$ZodType;

/** The schema of the value at `path`, walking objects, lists and wrappers. */
function schemaAt(schema: AnySchema, path: KeyPath): AnySchema | undefined {
  let current: AnySchema | undefined = schema;
  for (let i = 0; current !== undefined && i <= path.length; ) {
    const def = current._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable') {
      current = def.innerType as AnySchema;
    } else if (def.type === 'pipe') {
      current = def.in as AnySchema;
    } else if (i === path.length) {
      return current;
    } else if (def.type === 'object') {
      current = (def.shape as Record<string, AnySchema>)[String(path[i++])];
    } else if (def.type === 'array') {
      current = def.element as AnySchema;
      i++;
    } else {
      return undefined;
    }
  }
  return current;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      const cost = a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1;
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length];
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const close = known
    .map((k) => ({ k, d: distance(key, k) }))
    .filter(({ d }) => d <= (key.length <= 3 ? 1 : 2))
    .sort((x, y) => x.d - y.d);
  if (close.length > 0) return `unknown key (did you mean "${close[0].k}"?)`;
  return `unknown key (expected one of ${known.join(', ')})`;
}

/** Turns zod issues into problems; an unknown-keys issue becomes one problem per key. */
export function issuesToProblems(
  issues: readonly z.core.$ZodIssue[],
  schema: AnySchema,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const target = schemaAt(schema, issue.path);
      const shape = (target?._zod.def as { shape?: Record<string, unknown> } | undefined)?.shape;
      const known = Object.keys(shape ?? {});
      for (const key of issue.keys) {
        problems.push({ path: [...issue.path, key], message: unknownKeyMessage(key, known) });
      }
      continue;
    }
    const input = (issue as { input?: unknown }).input;
    problems.push({ path: issue.path, message: `${issue.message}, got ${describeValue(input)}` });
  }
  return problems;
}
