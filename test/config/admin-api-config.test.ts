/**
 * The `adminApi` section of the configuration: tokens with their hashes and scopes, the body
 * limit; a token pasted where its hash belongs is refused without being echoed; duplicate
 * names and unknown keys are named.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configToPlan, parseConfig } from '../../src/config/index.js';
import { configProblems as problems } from './config-problems.js';
import { fastHash } from './fixtures.js';

const ctx = { baseDir: '/tmp', cwd: '/tmp' };

describe('configuration: adminApi', () => {
  it('tokens (scope full by default) and the body limit reach the plan', () => {
    const [a, b] = [fastHash('token-a'), fastHash('token-b')];
    const text = [
      'adminApi:',
      '  maxBodySize: 64KiB',
      '  tokens:',
      `    - { name: ops, hash: '${a}' }`,
      `    - { name: grafana, hash: '${b}', scope: read }`,
    ].join('\n');
    const plan = configToPlan(parseConfig(text), ctx);
    assert.deepEqual(plan.adminApi, {
      tokens: [
        { name: 'ops', hash: a, scope: 'full' },
        { name: 'grafana', hash: b, scope: 'read' },
      ],
      maxBodyBytes: 65536,
    });
  });

  it('without the section: no token (every request is refused)', () => {
    assert.deepEqual(configToPlan(parseConfig(''), ctx).adminApi, { tokens: [] });
  });

  it('a token where its hash belongs is refused, and not echoed', () => {
    const found = problems('adminApi:\n  tokens:\n    - { name: ops, hash: pipit_s3cr3t-value }\n');
    assert.equal(found.length, 1);
    assert.match(
      found[0]!,
      /adminApi\.tokens\[0\]\.hash: expected a token hash as `pipit token` prints it/,
    );
    assert.doesNotMatch(found[0]!, /s3cr3t/);
  });

  it('duplicate names, a bad scope, a missing name and unknown keys are named', () => {
    const hash = fastHash('x');
    const found = problems(
      [
        'adminApi:',
        '  token: []',
        '  tokens:',
        `    - { name: ops, hash: '${hash}' }`,
        `    - { name: ops, hash: '${hash}', scope: write }`,
        `    - { hash: '${hash}' }`,
      ].join('\n'),
    );
    const text = found.join('\n');
    assert.match(text, /adminApi\.token: unknown key \(did you mean "tokens"\?\)/);
    assert.match(text, /adminApi\.tokens\[1\]\.scope: expected one of read, full/);
    assert.match(text, /adminApi\.tokens\[2\]\.name: /);
  });

  it('duplicate names alone are named at the second one', () => {
    const hash = fastHash('x');
    const found = problems(
      [
        'adminApi:',
        '  tokens:',
        `    - { name: ops, hash: '${hash}' }`,
        `    - { name: ops, hash: '${hash}' }`,
      ].join('\n'),
    );
    assert.equal(found.length, 1);
    assert.match(
      found[0]!,
      /adminApi\.tokens\[1\]\.name: expected a name no other token has, got "ops"/,
    );
  });

  it('dashboard and the live tap caps reach the plan; bad values are named', () => {
    const text = 'adminApi:\n  dashboard: false\n  tap: { maxTaps: 2, maxRate: 10 }\n';
    assert.deepEqual(configToPlan(parseConfig(text), ctx).adminApi, {
      tokens: [],
      dashboard: false,
      tap: { maxTaps: 2, maxRate: 10 },
    });
    const found = problems(
      'adminApi:\n  dashboard: yes please\n  tap: { maxTaps: -1, maxRate: 0, rate: 5 }\n',
    ).join('\n');
    assert.match(found, /adminApi\.dashboard: expected true or false/);
    assert.match(found, /adminApi\.tap\.maxTaps: expected an integer 0-1000/);
    assert.match(found, /adminApi\.tap\.maxRate: expected an integer 1-100000/);
    assert.match(found, /adminApi\.tap\.rate: unknown key/);
  });
});
