/**
 * The generator's reading of tags: which strings of a test file count as checks, and which
 * version a tag is attributed to. Fixture tags are built at run time so that the repository
 * scan does not take them for real ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../scripts/conformance/main.js';
import { fileVersion, mentionedVersion } from '../../scripts/conformance/markers.js';
import { buildMatrix } from '../../scripts/conformance/matrix.js';
import { scanTestFile } from '../../scripts/conformance/scan-tests.js';
import { loadAllStatements } from '../../scripts/conformance/statements.js';

/** The statement tag of `id`, assembled so that this file's source holds no tag. */
const tag = (id: string) => `[${'MQTT'}-${id}]`;

function sites(file: string, source: string) {
  return scanTestFile(file, source).map((s) => [s.id, s.title, s.versions?.join('+') ?? 'all']);
}

describe('conformance generator: tags', () => {
  it('counts tags in test titles, assertion messages, suite titles and table rows, not in comments', () => {
    const source = [
      `// ${tag('3.1.0-1')} a comment`,
      `describe('suite ${tag('3.1.0-2')}', () => {`,
      `  it('${tag('3.12.4-1')} pings', () => { assert.ok(true, '${tag('3.8.4-1')} message'); });`,
      '});',
      `const rows = [{ name: '${tag('3.3.1-4')} a row', version: 5 }];`,
      `const tuples = [['${tag('3.6.1-1')} a tuple (5.0)', 1]];`,
      `function helper() { return '${tag('4.7.0-1')}'; }`,
    ].join('\n');
    assert.deepEqual(sites('test/x/a.test.ts', source), [
      ['MQTT-3.1.0-2', `suite ${tag('3.1.0-2')}`, 'all'],
      ['MQTT-3.12.4-1', `${tag('3.12.4-1')} pings`, 'all'],
      ['MQTT-3.8.4-1', `${tag('3.12.4-1')} pings`, 'all'],
      ['MQTT-3.3.1-4', `${tag('3.3.1-4')} a row`, '5.0'],
      ['MQTT-3.6.1-1', `${tag('3.6.1-1')} a tuple (5.0)`, '5.0'],
    ]);
  });

  it('attributes a tag by the first source that names a version: qualifier, title, suite, file', () => {
    const source = [
      "describe('v5 things', () => {",
      `  it('${tag('3.3.1-10')} ${tag('3.3.1-11')} (3.1.1 ids) qualified', () => {});`,
      `  it('${tag('3.1.2-4')} (v5) ${tag('3.1.2-6')} (3.1.1) both qualified', () => {});`,
      `  it('${tag('3.12.4-1')} by the suite', () => {});`,
      `  it('${tag('3.12.4-1')} v3.1.1 and v5 alike', () => {});`,
      '});',
      `it('${tag('3.12.4-1')} by the file name', () => {});`,
      `it.skip('${tag('3.12.4-1')} skipped tests count for nothing', () => {});`,
    ].join('\n');
    const got = sites('test/x/v311-a.test.ts', source).map(
      ([id, , versions]) => `${id} ${versions}`,
    );
    assert.deepEqual(got, [
      'MQTT-3.3.1-10 3.1.1',
      'MQTT-3.3.1-11 3.1.1',
      'MQTT-3.1.2-4 5.0',
      'MQTT-3.1.2-6 3.1.1',
      'MQTT-3.12.4-1 5.0',
      'MQTT-3.12.4-1 all',
      'MQTT-3.12.4-1 3.1.1',
    ]);
  });

  it('reads version markers, ignoring tags and their qualifiers', () => {
    assert.equal(mentionedVersion('PUBACK 0x87 (v5)'), '5.0');
    assert.equal(mentionedVersion('an MQTT 3.1 client (MQIsdp)'), '3.1.1');
    assert.equal(mentionedVersion(`${tag('3.1.2-4')} (5.0) a test`), undefined);
    assert.equal(mentionedVersion('v5 CONNACK 0x86, v3.1.1 return code 0x04'), 'both');
    assert.equal(fileVersion('test/integration/v5-core-connect.test.ts'), '5.0');
    assert.equal(fileVersion('test/integration/v311-pubsub.test.ts'), '3.1.1');
    assert.equal(fileVersion('test/core/qos.test.ts'), undefined);
  });

  it('reports a test tag for a version without that id, an unknown id and a malformed tag', () => {
    const lists = loadAllStatements(REPO_ROOT);
    const scan = {
      code: [],
      tests: [
        { file: 't.ts', line: 1, id: 'MQTT-3.3.5-2', title: 't', versions: ['5.0' as const] },
        { file: 't.ts', line: 2, id: 'MQTT-9.9.9-9', title: 't', versions: undefined },
      ],
      mentions: [],
      bad: [{ file: 't.ts', line: 3, text: tag('3.8.4-?') }],
    };
    const problems = buildMatrix(lists, scan).problems.filter((p) => p.startsWith('t.ts'));
    assert.deepEqual(problems, [
      `t.ts:1: ${tag('3.3.5-2')} is attributed to MQTT 5.0, which has no such statement (it is MQTT 3.1.1's)`,
      `t.ts:2: ${tag('9.9.9-9')} is not a statement id`,
      `t.ts:3: ${tag('3.8.4-?')} is not a statement id`,
    ]);
  });
});
