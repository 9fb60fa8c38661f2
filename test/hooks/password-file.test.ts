import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileFormatError } from '../../src/hooks/file-error.js';
import { PasswordFile, usernameProblem } from '../../src/hooks/password-file.js';
import { passwordFileText } from '../config/fixtures.js';

// mosquitto_passwd 2.0.11 output for alice / 's3cret pass' and carol / 'hunter2' (-H sha512).
const ALICE =
  'alice:$7$101$6CuiQHa9fWmTLPha$JZ+iz9uowWQOcx/j/OeebtGW4dnR0SV81279k0Sl894cQHE9vc/wlRIZbNP0U1py468hG3a0HrlhjopLaXz5CQ==';
const CAROL =
  'carol:$6$NBDq6znm3sXn1SXb$Ua6OOIDW0D84RXl7xk5hBfQZzxp3VsBKPbYP2wXhoqMJAYj2B9LCCetmG5XUW9wFLHxcSbDw32n8ARSayYfMKw==';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipit-pwfile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PasswordFile.parse', () => {
  test('reads a mosquitto_passwd file, with comments, blank lines and CRLF', async () => {
    const file = PasswordFile.parse(`# users\r\n${ALICE}\r\n\r\n  ${CAROL}  \n`);
    assert.deepEqual(file.usernames(), ['alice', 'carol']);
    assert.equal(await file.verify('alice', 's3cret pass'), true);
    assert.equal(await file.verify('carol', 'hunter2'), true);
    assert.equal(await file.verify('carol', 's3cret pass'), false);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['no colon', 'alice', /users\.txt:2: expected 'username:hash'/],
    ['empty username', ':$6$abc$def', /users\.txt:2: the username is empty/],
    ['no hash', 'bob:', /users\.txt:2: no password hash for "bob"/],
    ['plain-text password', 'bob:hunter2', /users\.txt:2: unsupported or malformed password hash/],
    ['duplicate user', ALICE, /users\.txt:2: duplicate user "alice"/],
  ];
  for (const [name, line, message] of bad) {
    test(`a bad line is an error naming file and line: ${name}`, () => {
      assert.throws(
        () => PasswordFile.parse(`${ALICE}\n${line}\n`, 'users.txt'),
        (err: unknown) => {
          assert.ok(err instanceof FileFormatError);
          assert.equal(err.line, 2);
          assert.equal(err.source, 'users.txt');
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test('the error for a plain-text password does not echo it', () => {
    assert.throws(
      () => PasswordFile.parse('bob:hunter2\n', 'users.txt'),
      (err: Error) => !err.message.includes('hunter2'),
    );
  });
});

describe('PasswordFile set / delete / verify', () => {
  test('set adds and updates with a new Pipit hash; delete removes', async () => {
    const file = PasswordFile.parse(`${ALICE}\n`);
    await file.set('bob', 'pw1');
    assert.equal(file.has('bob'), true);
    assert.equal(await file.verify('bob', 'pw1'), true);
    await file.set('alice', 'changed');
    assert.equal(await file.verify('alice', 's3cret pass'), false);
    assert.equal(await file.verify('alice', 'changed'), true);
    assert.match(file.serialize(), /^alice:\$pbkdf2-sha512\$/m);
    assert.equal(file.delete('alice'), true);
    assert.equal(file.delete('alice'), false);
    assert.deepEqual(file.usernames(), ['bob']);
  });

  test('set refuses usernames that would corrupt the file', async () => {
    const file = PasswordFile.parse('');
    for (const name of ['', 'a:b', 'a\nb', 'tab\there', 'nul\u0000', ' padded']) {
      await assert.rejects(file.set(name, 'pw'), Error, JSON.stringify(name));
    }
    assert.deepEqual(file.usernames(), []);
  });

  test('usernameProblem accepts ordinary and non-ASCII names', () => {
    assert.equal(usernameProblem('sensor-01'), null);
    assert.equal(usernameProblem('josé@example.com'), null);
    assert.match(usernameProblem('a:b') ?? '', /':'/);
    assert.match(usernameProblem('x'.repeat(65_536)) ?? '', /too long/);
  });

  // A bare `return false` would resolve before any immediate callback; running one proves the
  // unknown user went through a real PBKDF2 on the thread pool (no enumeration by timing).
  test('an unknown user is refused after real hashing work (no enumeration by timing)', async () => {
    for (const file of [PasswordFile.parse(`${ALICE}\n`), PasswordFile.parse('')]) {
      let ranMeanwhile = false;
      setImmediate(() => {
        ranMeanwhile = true;
      });
      assert.equal(await file.verify('nobody', 'pw'), false);
      assert.equal(ranMeanwhile, true);
    }
  });
});

describe('PasswordFile.revokedIn', () => {
  test('names the users removed or whose hash changed, not the ones kept or added', async () => {
    const old = PasswordFile.parse(passwordFileText({ a: '1', b: '2', c: '3' }));
    const next = PasswordFile.parse(old.serialize());
    next.delete('a');
    await next.set('b', 'new');
    await next.set('d', '4');
    assert.deepEqual(old.revokedIn(next), ['a', 'b']);
    assert.deepEqual(next.revokedIn(next), []);
  });
});

describe('PasswordFile load / save', () => {
  test('save then load round-trips; the file is mode 0600', async () => {
    const path = join(dir, 'rt.txt');
    const file = PasswordFile.parse(`${CAROL}\n`);
    await file.set('dave', 'pw');
    await file.save(path);
    const mode = (await stat(path)).mode & 0o777;
    assert.equal(mode, 0o600);
    const loaded = await PasswordFile.load(path);
    assert.deepEqual(loaded.usernames(), ['carol', 'dave']);
    assert.equal(await loaded.verify('dave', 'pw'), true);
    assert.equal(await loaded.verify('carol', 'hunter2'), true);
  });

  test('save replaces an existing file atomically and leaves no temp file', async () => {
    const path = join(dir, 'replace.txt');
    await writeFile(path, `${ALICE}\n`, { mode: 0o644 });
    const file = await PasswordFile.load(path);
    file.delete('alice');
    await file.set('erin', 'pw');
    await file.save(path);
    assert.match(await readFile(path, 'utf8'), /^erin:\$pbkdf2-sha512\$[^\n]+\n$/);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const leftovers = (await readdir(dir)).filter((n) => n.endsWith('.tmp'));
    assert.deepEqual(leftovers, []);
  });

  test('save into a missing directory fails and leaves nothing behind', async () => {
    const file = PasswordFile.parse('');
    await assert.rejects(file.save(join(dir, 'no-such-dir', 'x.txt')), { code: 'ENOENT' });
  });

  test('load names the file in a format error', async () => {
    const path = join(dir, 'bad.txt');
    await writeFile(path, `${ALICE}\nnot a line\n`);
    await assert.rejects(PasswordFile.load(path), (err: Error) => {
      assert.equal(err.message, `${path}:2: expected 'username:hash'`);
      return true;
    });
  });

  test('load of a missing file rejects with ENOENT', async () => {
    await assert.rejects(PasswordFile.load(join(dir, 'missing.txt')), { code: 'ENOENT' });
  });
});
