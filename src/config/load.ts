/**
 * Reading a configuration file: YAML syntax (errors with line and column), the schema, the
 * cross-key checks. Every problem is reported, not only the first, each with the line of the
 * key it is about.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { checkConfig } from './checks.js';
import {
  ConfigError,
  type ConfigProblem,
  formatPath,
  issuesToProblems,
  type KeyPath,
} from './errors.js';
import { configSchema, type PipitConfig } from './schema.js';

/** The source range of the key (last element of `path`) or of the value at `path`. */
function locate(root: unknown, path: KeyPath): [number, number, number] | undefined {
  let node: unknown = root;
  let range: [number, number, number] | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
      if (pair === undefined) return range;
      range = (pair.key as Node).range ?? range;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      range = (node as Node | undefined)?.range ?? range;
    } else {
      return range;
    }
  }
  return range;
}

function formatProblems(problems: readonly ConfigProblem[], where: (p: KeyPath) => string) {
  return problems.map((p) => `${formatPath(p.path)}: ${p.message}${where(p.path)}`);
}

/**
 * Parses and validates configuration text. `source` names the file in messages.
 * @throws ConfigError with one line per problem: YAML syntax (`<source>:<line>:<col>: ...`),
 *   or `<key path>: <expected>, got <value> (line <n>)`.
 */
export function parseConfig(text: string, source = '<config>'): PipitConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const reason = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
        return pos
          ? `${source}:${pos.line}:${pos.col}: YAML syntax error: ${reason}`
          : `${source}: YAML syntax error: ${reason}`;
      }),
    );
  }
  const where = (path: KeyPath): string => {
    const range = locate(doc.contents, path);
    return range === undefined ? '' : ` (line ${lineCounter.linePos(range[0]).line})`;
  };
  const data = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    throw new ConfigError(
      formatProblems(issuesToProblems(parsed.error.issues, configSchema), where),
    );
  }
  const problems = checkConfig(parsed.data);
  if (problems.length > 0) throw new ConfigError(formatProblems(problems, where));
  return parsed.data;
}

/**
 * Reads and validates a configuration file.
 * @throws ConfigError when the file cannot be read or is not a valid configuration.
 */
export async function loadConfigFile(path: string): Promise<PipitConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `${path}: cannot read the configuration file (${(err as Error).message})`,
    ]);
  }
  return parseConfig(text, path);
}
