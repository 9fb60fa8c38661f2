/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: it
 * throws, naming the line, on anything a Prometheus server would reject or that breaks the
 * format's rules (names, label syntax and escapes, values, one TYPE per family before its
 * samples, samples of a family together, no duplicate series, histogram buckets cumulative
 * with a +Inf bucket equal to `_count`).
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its HELP, TYPE and samples. */
export interface Family {
  name: string;
  help: string | undefined;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

/** A parsed exposition. */
export interface Exposition {
  families: Map<string, Family>;
  /** The value of the series `name` with exactly `labels`, or undefined. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count', ''],
};

function fail(lineNo: number, line: string, why: string): never {
  throw new Error(`exposition line ${lineNo}: ${why}: ${JSON.stringify(line)}`);
}

/**
 * A value as Go's ParseFloat reads it (what the format specifies): decimal or exponent
 * notation, and, in any letter case, NaN and (signed) Inf or Infinity. prom-client writes
 * NaN as `Nan`, which Prometheus reads.
 */
function parseValue(text: string, lineNo: number, line: string): number {
  const special = /^([-+]?)(inf|infinity)$/i.exec(text);
  if (special) return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail(lineNo, line, 'bad value');
  return Number(text);
}

/** Parses `{a="x",b="y"}` from `text` at `start`; returns the labels and the index after `}`. */
function parseLabels(
  text: string,
  start: number,
  lineNo: number,
): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (text[i] !== '}') {
    const eq = text.indexOf('=', i);
    if (eq < 0) fail(lineNo, text, 'label without =');
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) fail(lineNo, text, `bad label name ${name}`);
    if (name in labels) fail(lineNo, text, `label ${name} twice`);
    if (text[eq + 1] !== '"') fail(lineNo, text, 'label value not quoted');
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\n') fail(lineNo, text, 'raw newline in label value');
      if (text[j] !== '\\') {
        value += text[j];
        continue;
      }
      const next = text[++j];
      if (next === 'n') value += '\n';
      else if (next === '\\' || next === '"') value += next;
      else fail(lineNo, text, `bad escape \\${next}`);
    }
    if (j >= text.length) fail(lineNo, text, 'unterminated label value');
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail(lineNo, text, 'expected , or } after a label');
  }
  return [labels, i + 1];
}

function parseSample(line: string, lineNo: number): Sample {
  const nameEnd = line.search(/[{ ]/);
  if (nameEnd <= 0) fail(lineNo, line, 'no metric name');
  const name = line.slice(0, nameEnd);
  if (!METRIC_NAME.test(name)) fail(lineNo, line, `bad metric name ${name}`);
  let labels: Record<string, string> = {};
  let rest = nameEnd;
  if (line[nameEnd] === '{') [labels, rest] = parseLabels(line, nameEnd, lineNo);
  if (line[rest] !== ' ') fail(lineNo, line, 'expected a space before the value');
  const fields = line.slice(rest + 1).split(' ');
  if (fields.length > 2) fail(lineNo, line, 'too many fields');
  if (fields.length === 2 && !/^-?\d+$/.test(fields[1]!)) fail(lineNo, line, 'bad timestamp');
  return { name, labels, value: parseValue(fields[0]!, lineNo, line) };
}

/** The family a sample name belongs to, given the families declared so far. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const family = families.get(name.slice(0, -suffix.length));
    if (family && (SUFFIXES[family.type] ?? []).includes(suffix)) return family;
  }
  return undefined;
}

function seriesKey(sample: Sample): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(sample.labels[k])}`);
  return `${sample.name}{${labels.join(',')}}`;
}

/** Checks each histogram: cumulative buckets, a +Inf bucket equal to _count, a _sum. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of family.samples) {
    const { le: _le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const samples of groups.values()) {
    const buckets = samples.filter((s) => s.name === `${family.name}_bucket`);
    const count = samples.find((s) => s.name === `${family.name}_count`);
    const sum = samples.find((s) => s.name === `${family.name}_sum`);
    if (!count || !sum) throw new Error(`histogram ${family.name}: no _count or _sum`);
    let previous = Number.NEGATIVE_INFINITY;
    let last = -1;
    for (const b of buckets) {
      const le = b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le);
      if (!(le > previous)) throw new Error(`histogram ${family.name}: buckets out of order`);
      if (b.value < last) throw new Error(`histogram ${family.name}: buckets not cumulative`);
      previous = le;
      last = b.value;
    }
    if (previous !== Number.POSITIVE_INFINITY)
      throw new Error(`histogram ${family.name}: no +Inf bucket`);
    if (last !== count.value) throw new Error(`histogram ${family.name}: +Inf bucket != _count`);
  }
}

/** Parses `text` strictly; throws on the first problem. */
export function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const families = new Map<string, Family>();
  const series = new Set<string>();
  const closed = new Set<string>();
  let current: Family | undefined;
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, index) => {
      const lineNo = index + 1;
      if (line === '') return;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta) {
        const [, kind, name, rest] = meta as unknown as [string, string, string, string];
        if (!METRIC_NAME.test(name)) fail(lineNo, line, 'bad metric name');
        let family = families.get(name);
        if (family && family.samples.length > 0)
          fail(lineNo, line, `${kind} after samples of ${name}`);
        if (!family) {
          if (current) closed.add(current.name);
          family = { name, help: undefined, type: 'untyped', samples: [] };
          families.set(name, family);
        }
        if (kind === 'HELP') {
          if (family.help !== undefined) fail(lineNo, line, 'second HELP');
          family.help = rest;
        } else {
          if (!TYPES.has(rest)) fail(lineNo, line, 'unknown type');
          family.type = rest as Family['type'];
        }
        current = family;
        return;
      }
      if (line.startsWith('#')) return; // a comment
      const sample = parseSample(line, lineNo);
      const family = familyOf(sample.name, families);
      if (!family) fail(lineNo, line, 'sample of an undeclared family');
      if (family !== current || closed.has(family.name))
        fail(lineNo, line, 'samples of a family not together');
      const key = seriesKey(sample);
      if (series.has(key)) fail(lineNo, line, 'duplicate series');
      series.add(key);
      if (family.type === 'counter' && (sample.value < 0 || Number.isNaN(sample.value))) {
        fail(lineNo, line, 'counter below 0');
      }
      family.samples.push(sample);
    });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return {
    families,
    value(name, labels = {}) {
      const want = seriesKey({ name, labels, value: 0 });
      for (const family of families.values()) {
        for (const s of family.samples) if (seriesKey(s) === want) return s.value;
      }
      return undefined;
    },
  };
}
