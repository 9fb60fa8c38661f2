import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  filterCoversFilter,
  filterMatchesTopic,
  isValidFilter,
  isValidTopicName,
  splitLevels,
  substitutePattern,
} from '../../src/hooks/acl-match.js';

const matches = (filter: string, topic: string) =>
  filterMatchesTopic(splitLevels(filter), splitLevels(topic));
const covers = (acl: string, sub: string) => filterCoversFilter(splitLevels(acl), splitLevels(sub));

describe('filterMatchesTopic', () => {
  const yes: Array<[string, string]> = [
    ['foo/#', 'foo/'],
    ['foo/#', 'foo'],
    ['foo//bar', 'foo//bar'],
    ['foo//+', 'foo//bar'],
    ['foo/+/+/baz', 'foo///baz'],
    ['foo/bar/+', 'foo/bar/'],
    ['foo/+/baz', 'foo/bar/baz'],
    ['foo/+/#', 'foo/bar'],
    ['#', 'foo/bar/baz'],
    ['/#', '/foo/bar'],
    ['$SYS/#', '$SYS/broker/uptime'],
  ];
  const no: Array<[string, string]> = [
    ['test/6/#', 'test/3'],
    ['foo/bar', 'foo'],
    ['foo/+', 'foo/bar/baz'],
    ['foo/+/baz', 'foo/bar/bar'],
    ['/#', 'foo/bar'],
    ['$BOB/bar', '$SYS/bar'],
  ];
  for (const [f, t] of yes) test(`'${f}' matches '${t}'`, () => assert.equal(matches(f, t), true));
  for (const [f, t] of no)
    test(`'${f}' does not match '${t}'`, () => assert.equal(matches(f, t), false));

  test('a leading wildcard does not match a $ topic (as spec 4.7.2)', () => {
    assert.equal(matches('#', '$SYS/bar'), false);
    assert.equal(matches('+/bar', '$SYS/bar'), false);
  });
});

describe('filterCoversFilter (does the ACL cover the whole subscription?)', () => {
  const yes: Array<[string, string]> = [
    ['$SYS/#', '$SYS/broker/#'],
    ['$SYS/#', '$SYS/+/#'],
    ['$SYS/#', '$SYS'],
    ['a/#', 'a/+/b'],
    ['a/+', 'a/+'],
    ['a/+', 'a/b'],
    ['#', '#'],
    ['#', '+/x'],
    ['a/+/#', 'a/b'],
    ['a/b', 'a/b'],
  ];
  const no: Array<[string, string]> = [
    ['$SYS/+', '$SYS/#'],
    ['$SYS/+/a', '$SYS/a/+'],
    ['$SYS/+', '$SYS/+/a'],
    ['$SYS/broker/uptime', '$SYS/broker/#'],
    ['#', '$SYS/broker/#'],
    ['a/b', 'a/+'],
    ['a/+', 'a/#'],
    ['a/b', 'a/b/c'],
    ['a/b/c', 'a/b'],
    ['+', '+/+'],
  ];
  for (const [a, s] of yes) test(`'${a}' covers '${s}'`, () => assert.equal(covers(a, s), true));
  for (const [a, s] of no)
    test(`'${a}' does not cover '${s}'`, () => assert.equal(covers(a, s), false));
});

describe('topic and filter syntax', () => {
  test('filter validity (the topic filter rules of spec 4.7)', () => {
    for (const ok of ['a', '#', '+', 'a/+/b', 'a/#', '/', '+/+', '$SYS/#']) {
      assert.equal(isValidFilter(ok), true, ok);
    }
    for (const bad of ['', 'a/#/b', 'a#', 'a/b+', '+a', '#/a', 'nul\u0000']) {
      assert.equal(isValidFilter(bad), false, bad);
    }
  });

  test('topic names carry no wildcard (as spec 4.7.1)', () => {
    assert.equal(isValidTopicName('a/b'), true);
    for (const bad of ['', 'a/+', 'a/#', 'a+b', 'x\u0000'])
      assert.equal(isValidTopicName(bad), false, bad);
  });
});

describe('substitutePattern', () => {
  const levels = splitLevels('users/%u/%c/#');

  test('replaces whole-level %u and %c', () => {
    assert.deepEqual(substitutePattern(levels, { clientId: 'dev1', username: 'ann' }), {
      kind: 'exact',
      levels: ['users', 'ann', 'dev1', '#'],
    });
  });

  test('%u with no username: the rule does not apply', () => {
    assert.deepEqual(substitutePattern(levels, { clientId: 'dev1' }), { kind: 'absent' });
  });

  test("an empty value, '+', '#' or '/' is unsafe and reports the prefix before it", () => {
    for (const username of ['', '+', '#', 'a/b', 'x+y', 'all#']) {
      assert.deepEqual(substitutePattern(levels, { clientId: 'dev1', username }), {
        kind: 'unsafe',
        prefix: ['users'],
      });
    }
    assert.deepEqual(substitutePattern(levels, { clientId: '#', username: 'ann' }), {
      kind: 'unsafe',
      prefix: ['users', 'ann'],
    });
  });

  test('%c or %u inside a level is literal text', () => {
    assert.deepEqual(
      substitutePattern(splitLevels('test/a%u/%count'), { clientId: 'c', username: 'u' }),
      {
        kind: 'exact',
        levels: ['test', 'a%u', '%count'],
      },
    );
  });
});
