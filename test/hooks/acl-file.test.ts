import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type AclAccess, AclFile } from '../../src/hooks/acl-file.js';
import type { AclClient } from '../../src/hooks/acl-match.js';
import { FileFormatError } from '../../src/hooks/file-error.js';

type Row = [AclAccess, AclClient, string, boolean];

function runTable(acl: AclFile, rows: Row[]): void {
  for (const [access, client, topic, expected] of rows) {
    const who = client.username === undefined ? `anonymous ${client.clientId}` : client.username;
    test(`${who} ${access} '${topic}' -> ${expected ? 'allow' : 'deny'}`, () => {
      assert.equal(acl.check(access, client, topic), expected);
    });
  }
}

const anon: AclClient = { clientId: 'anon-1' };
const roger: AclClient = { clientId: 'r1', username: 'roger' };
const sue: AclClient = { clientId: 's1', username: 'sue' };
const stranger: AclClient = { clientId: 'x1', username: 'stranger' };

describe('AclFile: anonymous, user and topic rules', () => {
  const acl = AclFile.parse(
    [
      '# This affects access control for clients with no username.',
      'topic read $SYS/#',
      'topic public/#',
      '',
      'user roger',
      'topic foo/bar',
      'topic read sensors/#',
      'topic write cmd/+/set',
      '',
      'user sue',
      'topic readwrite sue/#',
      'topic deny sue/private/#',
      'topic read spaced topic/with spaces',
    ].join('\n'),
  );
  runTable(acl, [
    // topic lines before the first `user` line apply to anonymous clients only
    ['read', anon, '$SYS/broker/uptime', true],
    ['write', anon, 'public/chat', true],
    ['read', anon, 'foo/bar', false],
    ['read', roger, 'public/chat', false],
    ['read', roger, '$SYS/broker/uptime', false],
    // default access is readwrite
    ['write', roger, 'foo/bar', true],
    ['read', roger, 'foo/bar', true],
    ['read', roger, 'foo/baz', false],
    // read-only and write-only
    ['read', roger, 'sensors/kitchen/temp', true],
    ['write', roger, 'sensors/kitchen/temp', false],
    ['write', roger, 'cmd/lamp/set', true],
    ['read', roger, 'cmd/lamp/set', false],
    ['write', roger, 'cmd/lamp/get', false],
    // deny wins over a broader grant
    ['write', sue, 'sue/notes', true],
    ['read', sue, 'sue/private/diary', false],
    ['write', sue, 'sue/private', false],
    // the topic is the rest of the line, spaces included, when access is given
    ['read', sue, 'spaced topic/with spaces', true],
    // a user without a block gets nothing (no patterns here)
    ['read', stranger, 'foo/bar', false],
    ['read', stranger, 'public/chat', false],
    // malformed topic names are refused
    ['write', roger, 'foo/+', false],
    ['write', roger, '', false],
  ]);
});

describe('AclFile: patterns with %c and %u', () => {
  const acl = AclFile.parse(
    [
      'pattern readwrite users/%u/#',
      'pattern write devices/%c/state',
      'pattern read shared/+/%u',
      'pattern deny users/%u/locked/#',
      'user roger',
      'topic read other/#',
    ].join('\n'),
  );
  runTable(acl, [
    // patterns apply to everyone, including users with a block of their own
    ['write', roger, 'users/roger/a/b', true],
    ['read', roger, 'other/x', true],
    ['write', roger, 'users/sue/a', false],
    ['write', sue, 'users/sue/a', true],
    ['write', anon, 'devices/anon-1/state', true],
    ['write', anon, 'devices/other/state', false],
    ['read', sue, 'shared/room1/sue', true],
    ['read', sue, 'shared/room1/roger', false],
    // %u patterns never apply to clients without a username
    ['write', anon, 'users/anon-1/x', false],
    // deny patterns win over grant patterns
    ['write', roger, 'users/roger/locked/door', false],
    ['read', roger, 'users/roger/locked', false],
  ]);
});

describe('AclFile: a wildcard or / in a username or client id never widens a pattern', () => {
  const acl = AclFile.parse(
    [
      'pattern readwrite users/%u/#',
      'pattern read feeds/%c',
      'user sue',
      'topic readwrite sue/#',
    ].join('\n'),
  );
  const plusUser: AclClient = { clientId: 'c', username: '+' };
  const hashUser: AclClient = { clientId: 'c', username: '#' };
  const slashUser: AclClient = { clientId: 'c', username: 'sue/..' };
  const hashClient: AclClient = { clientId: '#', username: 'ann' };
  const emptyUser: AclClient = { clientId: 'c', username: '' };
  runTable(acl, [
    ['read', plusUser, 'users/sue/secret', false],
    ['subscribe', plusUser, 'users/+/#', false],
    ['read', hashUser, 'users/sue/secret', false],
    ['subscribe', hashUser, 'users/#', false],
    ['write', slashUser, 'users/sue/x', false],
    ['read', hashClient, 'feeds/anything', false],
    ['subscribe', hashClient, 'feeds/#', false],
    ['write', emptyUser, 'users//x', false],
    // the client's other, literal grants still work
    ['read', hashClient, 'users/ann/x', true],
  ]);
});

describe('AclFile: a deny pattern with an unsafe value denies more, never less', () => {
  const acl = AclFile.parse(
    ['topic readwrite vault/#', 'pattern deny vault/%c/#', 'pattern readwrite %c/inbox'].join('\n'),
  );
  runTable(acl, [
    ['write', { clientId: 'ok' }, 'vault/other/x', true],
    ['write', { clientId: 'ok' }, 'vault/ok/x', false],
    // 'a/b' as client id: the deny widens to vault/#
    ['write', { clientId: 'a/b' }, 'vault/a/b/x', false],
    ['write', { clientId: 'a/b' }, 'vault/other/x', false],
    ['write', { clientId: '+' }, 'vault/z', false],
    // and the unsafe id never gets its %c grant
    ['write', { clientId: 'a/b' }, 'a/b/inbox', false],
  ]);
});

describe('AclFile: $SYS is read-only', () => {
  const acl = AclFile.parse(
    [
      'topic readwrite $SYS/#',
      'topic readwrite #',
      'pattern write $SYS/broker/connection/%c/state',
    ].join('\n'),
  );
  runTable(acl, [
    ['read', anon, '$SYS/broker/uptime', true],
    ['subscribe', anon, '$SYS/#', true],
    ['write', anon, '$SYS/broker/uptime', false],
    ['write', anon, '$SYS/broker/connection/anon-1/state', false],
    ['write', anon, '$SYS', false],
    // '#' does not reach $ topics; other $ topics are ordinary otherwise
    ['write', anon, 'plain/topic', true],
  ]);

  test('a write grant under $SYS loads with a warning', () => {
    assert.ok(acl.warnings.some((w) => w.includes('$SYS') && w.includes('read-only')));
  });
});

describe('AclFile: subscribe with wildcard filters', () => {
  const acl = AclFile.parse(
    [
      'user roger',
      'topic read sensors/#',
      'topic read rooms/+/temp',
      'topic write cmd/#',
      'topic deny sensors/secret/#',
      'topic read $SYS/broker/#',
    ].join('\n'),
  );
  runTable(acl, [
    ['subscribe', roger, 'sensors/#', true],
    ['subscribe', roger, 'sensors/+/temp', true],
    ['subscribe', roger, 'sensors', true],
    ['subscribe', roger, 'rooms/+/temp', true],
    ['subscribe', roger, 'rooms/kitchen/temp', true],
    ['subscribe', roger, 'rooms/#', false],
    ['subscribe', roger, 'rooms/+/+', false],
    ['subscribe', roger, '#', false],
    // write-only rules do not allow subscribing
    ['subscribe', roger, 'cmd/#', false],
    // a deny covering the filter refuses it; a partial overlap is left to per-message reads
    ['subscribe', roger, 'sensors/secret/#', false],
    ['subscribe', roger, 'sensors/secret/a', false],
    ['read', roger, 'sensors/secret/a', false],
    ['read', roger, 'sensors/public/a', true],
    // '$' filters are only covered by '$' rules
    ['subscribe', roger, '$SYS/broker/#', true],
    ['subscribe', roger, '$SYS/#', false],
    // shared subscriptions are checked on the filter after $share/<group>/
    ['subscribe', roger, '$share/g1/sensors/#', true],
    ['subscribe', roger, '$share/g1/rooms/#', false],
    ['subscribe', roger, '$share/g1', false],
    // invalid filters are refused
    ['subscribe', roger, 'sensors/#/x', false],
  ]);
});

describe('AclFile: a user with rules gets no anonymous rules, an anonymous client no user rules', () => {
  const acl = AclFile.parse('topic read a/#\nuser u\ntopic read b/#\n');
  runTable(acl, [
    ['read', { clientId: 'c' }, 'a/1', true],
    ['read', { clientId: 'c' }, 'b/1', false],
    ['read', { clientId: 'c', username: 'u' }, 'b/1', true],
    ['read', { clientId: 'c', username: 'u' }, 'a/1', false],
  ]);

  test('an empty file denies everything', () => {
    const empty = AclFile.parse('# nothing\n');
    assert.equal(empty.check('read', { clientId: 'c' }, 'a'), false);
    assert.equal(empty.check('subscribe', { clientId: 'c', username: 'u' }, '#'), false);
  });

  test('user blocks with the same name merge', () => {
    const merged = AclFile.parse(
      'user u\ntopic read a\nuser v\ntopic read b\nuser u\ntopic read c\n',
    );
    assert.equal(merged.check('read', { clientId: 'x', username: 'u' }, 'a'), true);
    assert.equal(merged.check('read', { clientId: 'x', username: 'u' }, 'c'), true);
    assert.equal(merged.check('read', { clientId: 'x', username: 'u' }, 'b'), false);
  });
});

describe('AclFile: parse errors and warnings', () => {
  const bad: Array<[string, string]> = [
    ['topic', 'missing topic'],
    ['topic readonly a/b', 'unknown access "readonly" (expected read, write, readwrite or deny)'],
    ['topic read a/#/b', 'invalid topic filter "a/#/b"'],
    ['pattern write a+/%u', 'invalid topic filter "a+/%u"'],
    ['user', 'missing username'],
    ['users roger', 'unknown keyword "users" (expected topic, pattern or user)'],
  ];
  for (const [line, problem] of bad) {
    test(`'${line}' -> ${problem}`, () => {
      assert.throws(
        () => AclFile.parse(`# header\n${line}\n`, 'acl.conf'),
        (err: unknown) => {
          assert.ok(err instanceof FileFormatError);
          assert.equal(err.message, `acl.conf:2: ${problem}`);
          return true;
        },
      );
    });
  }

  test('warnings for lines that probably do not do what was meant', () => {
    const acl = AclFile.parse(
      ['pattern read everyone/#', 'topic read users/%u', 'pattern read a/x%u'].join('\n'),
      'acl.conf',
    );
    assert.equal(acl.warnings.length, 4);
    assert.match(acl.warnings[0], /^acl\.conf:1: pattern "everyone\/#" has no %c or %u/);
    assert.match(acl.warnings[1], /^acl\.conf:2: topic "users\/%u" is matched literally/);
    assert.match(acl.warnings[2], /^acl\.conf:3: pattern "a\/x%u" has no %c or %u/);
    assert.match(acl.warnings[3], /^acl\.conf:3: .*whole level/);
  });

  test('load reads a file and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipit-acl-'));
    try {
      const good = join(dir, 'good.acl');
      await writeFile(good, 'user u\r\ntopic read a/#\r\n');
      const acl = await AclFile.load(good);
      assert.equal(acl.check('read', { clientId: 'c', username: 'u' }, 'a/b'), true);
      const bad = join(dir, 'bad.acl');
      await writeFile(bad, 'topic wrong a b\n');
      await assert.rejects(AclFile.load(bad), {
        message: `${bad}:1: unknown access "wrong" (expected read, write, readwrite or deny)`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
