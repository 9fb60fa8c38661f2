import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../bench/harness/brokers.js';
import {
  type PasswdOptions,
  readHiddenLines,
  readPipedLines,
  runPasswd,
} from '../../src/cli/passwd-command.js';
import { PasswordFile } from '../../src/hooks/password-file.js';
import { cliEntry } from '../helpers/cli-entry.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI entry, compiled: `node dist/cli/main.js passwd ...`. */
function pipitPasswd(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry(), 'passwd', ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipit-passwd-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Each case spawns a CLI process (and hashes with scrypt): run them side by side.
describe('pipit passwd through the CLI entry', { concurrency: 4 }, () => {
  test('-c -b creates the file (mode 0600) with a verifiable hash', async () => {
    const file = join(dir, 'create.txt');
    const run = await pipitPasswd(['-c', '-b', file, 'alice', 'pw-alice']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const pw = await PasswordFile.load(file);
    assert.deepEqual(pw.usernames(), ['alice']);
    assert.equal(await pw.verify('alice', 'pw-alice'), true);
  });

  test('adds a user from piped stdin, updates one, deletes one; never prints a password', async () => {
    const file = join(dir, 'lifecycle.txt');
    assert.equal((await pipitPasswd(['-c', '-b', file, 'alice', 'pw-alice'])).code, 0);
    const add = await pipitPasswd([file, 'bob'], 'pw-bob\n');
    assert.equal(add.code, 0, add.stderr);
    const update = await pipitPasswd([file, 'alice'], 'new-alice\nnew-alice\n');
    assert.equal(update.code, 0, update.stderr);
    for (const run of [add, update]) {
      assert.ok(!`${run.stdout}${run.stderr}`.includes('pw-bob'));
      assert.ok(!`${run.stdout}${run.stderr}`.includes('new-alice'));
    }
    let pw = await PasswordFile.load(file);
    assert.deepEqual(pw.usernames(), ['alice', 'bob']);
    assert.equal(await pw.verify('alice', 'new-alice'), true);
    assert.equal(await pw.verify('bob', 'pw-bob'), true);
    const del = await pipitPasswd(['-D', file, 'alice']);
    assert.equal(del.code, 0, del.stderr);
    pw = await PasswordFile.load(file);
    assert.deepEqual(pw.usernames(), ['bob']);
  });

  test('keeps the mosquitto_passwd users of an existing file verifiable', async () => {
    const file = join(dir, 'mosq.txt');
    execFileSync('mosquitto_passwd', ['-c', '-b', file, 'mq', 'mq-pw'], { timeout: 10_000 });
    const run = await pipitPasswd(['-b', file, 'pipit', 'pipit-pw']);
    assert.equal(run.code, 0, run.stderr);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^mq:\$7\$/m);
    const pw = await PasswordFile.load(file);
    assert.equal(await pw.verify('mq', 'mq-pw'), true);
    assert.equal(await pw.verify('pipit', 'pipit-pw'), true);
  });

  const errors: Array<[string, (file: string) => string[], string | undefined, RegExp]> = [
    ['a missing file without -c', (f) => [`${f}.missing`, 'u'], 'pw\n', /no such file \(use -c/],
    ['an unknown user on delete', (f) => ['-D', f, 'nobody'], undefined, /user "nobody" not found/],
    ['mismatched passwords', (f) => [f, 'carol'], 'one\ntwo\n', /passwords do not match/],
    [
      'a username with a colon',
      (f) => ['-b', f, 'a:b', 'pw'],
      undefined,
      /invalid username: .*':'/,
    ],
  ];
  for (const [name, args, stdin, message] of errors) {
    test(`exit code 1 and a clear error for ${name}; the file is unchanged`, async () => {
      const file = join(dir, `err-${name.replace(/\W+/g, '-')}.txt`);
      const setup = PasswordFile.parse('');
      await setup.set('keep', 'keep-pw');
      await setup.save(file);
      const before = await readFile(file, 'utf8');
      const run = await pipitPasswd(args(file), stdin);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^pipit passwd: /);
      assert.match(run.stderr, message);
      assert.equal(await readFile(file, 'utf8'), before);
    });
  }

  test('a broken password file is reported with its line', async () => {
    const file = join(dir, 'broken.txt');
    await writeFile(file, 'ok-line-missing-colon\n');
    const run = await pipitPasswd(['-b', file, 'u', 'pw']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /broken\.txt:1: expected 'username:hash'/);
  });
});

describe('-H and -U', { concurrency: 2 }, () => {
  test('-H sha512-pbkdf2 ($7$) and -H sha512 ($6$) lines let a real Mosquitto in', async () => {
    const file = join(dir, 'mosquitto.txt');
    const made = [
      await pipitPasswd(['-c', '-b', '-H', 'sha512-pbkdf2', file, 'alice', 'pw one']),
      await pipitPasswd(['-b', '-H', 'sha512', file, 'bob', 'pw two']),
    ];
    for (const run of made) assert.equal(run.code, 0, run.stderr);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^alice:\$7\$210000\$[A-Za-z0-9+/]{16}\$/m);
    assert.match(text, /^bob:\$6\$[A-Za-z0-9+/]{16}\$/m);
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    // As root, Mosquitto drops to its own user and could not read the 0600 file.
    const user = process.getuid?.() === 0 ? 'user root\n' : '';
    await writeFile(
      conf,
      `${user}listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${file}\n`,
    );
    const broker = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    try {
      const pub = (u: string, pw: string) =>
        spawnSync('mosquitto_pub', ['-p', String(port), '-u', u, '-P', pw, '-t', 't', '-m', 'm'])
          .status;
      for (let i = 0; i < 50 && pub('alice', 'pw one') !== 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.equal(pub('alice', 'pw one'), 0);
      assert.equal(pub('bob', 'pw two'), 0);
      assert.equal(pub('alice', 'pw two'), 5); // MQTT 3.1.1 CONNACK 5: not authorised
    } finally {
      broker.kill();
    }
  });

  test('-U hashes the plain-text passwords in place; hashed lines are kept; twice is harmless', async () => {
    const file = join(dir, 'plain.txt');
    // A Mosquitto $7$ line (12-byte salt, 64-byte key): -U must leave it as it is.
    const kept = `keep:$7$101$q0r8k1o2S8cY0t4w$${'A'.repeat(86)}==`;
    await writeFile(file, `dave:plain one\n# a comment\neve:with:colons\n${kept}\n`);
    const first = await pipitPasswd(['-U', file]);
    assert.equal(first.code, 0, first.stderr);
    const upgraded = await readFile(file, 'utf8');
    assert.ok(!upgraded.includes('plain one') && !upgraded.includes('with:colons'));
    assert.ok(upgraded.includes(kept));
    const pw = await PasswordFile.load(file);
    assert.deepEqual(pw.usernames(), ['dave', 'eve', 'keep']);
    assert.equal(await pw.verify('dave', 'plain one'), true);
    assert.equal(await pw.verify('eve', 'with:colons'), true);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await pipitPasswd(['-U', file])).code, 0);
    assert.equal(await readFile(file, 'utf8'), upgraded);
  });

  test('-U names the line of a bad entry and leaves the file as it was', async () => {
    const file = join(dir, 'bad-plain.txt');
    await writeFile(file, 'ok:pw\nno colon here\n');
    const run = await pipitPasswd(['-U', file]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `pipit passwd: ${file}:2: expected 'username:password'\n`);
    assert.equal(await readFile(file, 'utf8'), 'ok:pw\nno colon here\n');
  });
});

describe('runPasswd argument and input errors (in process)', () => {
  const cases: Array<
    [string, string | undefined, string | undefined, PasswdOptions, string, RegExp]
  > = [
    ['a username with a control char', 'a\tb', 'pw', { batch: true }, '', /control character/],
    ['an empty password', 'dave', undefined, {}, '\n', /^empty password$/],
    ['no password on stdin', 'dave', undefined, {}, '', /^no password given on stdin$/],
    ['a password without -b', 'dave', 'pw', {}, '', /needs -b/],
    ['-b without a password', 'dave', undefined, { batch: true }, '', /-b needs the password/],
    ['-c with -D', 'dave', undefined, { create: true, delete: true }, '', /-c and -D cannot/],
    ['-D with a password', 'dave', 'pw', { delete: true, batch: true }, '', /-D takes no password/],
    [
      'an unknown -H',
      'dave',
      'pw',
      { batch: true, hash: 'md5' },
      '',
      /-H must be one of pbkdf2-sha512, sha512-pbkdf2, sha512, got "md5"/,
    ],
    [
      '-U with a username',
      'dave',
      undefined,
      { upgrade: true },
      '',
      /-U takes only the file, no username/,
    ],
    [
      '-U with -c',
      undefined,
      undefined,
      { upgrade: true, create: true },
      '',
      /-U takes only the file/,
    ],
  ];
  for (const [name, username, password, opts, stdin, message] of cases) {
    test(`${name} is refused and the file is unchanged`, async () => {
      const file = join(dir, `inproc-${name.replace(/\W+/g, '-')}.txt`);
      const setup = PasswordFile.parse('');
      await setup.set('keep', 'keep-pw');
      await setup.save(file);
      const before = await readFile(file, 'utf8');
      const input = new PassThrough();
      input.end(stdin);
      await assert.rejects(runPasswd(file, username, password, opts, { input, output: sink() }), {
        name: 'PasswdError',
        message,
      });
      assert.equal(await readFile(file, 'utf8'), before);
    });
  }
});

/** A fake terminal: a stream with isTTY and a raw-mode switch that records its calls. */
function fakeTty(): PassThrough & {
  isTTY: boolean;
  rawModes: boolean[];
  setRawMode(m: boolean): void;
} {
  const stream = new PassThrough() as PassThrough & {
    isTTY: boolean;
    rawModes: boolean[];
    setRawMode(m: boolean): void;
  };
  stream.isTTY = true;
  stream.rawModes = [];
  stream.setRawMode = (m: boolean) => {
    stream.rawModes.push(m);
  };
  return stream;
}

function sink(): PassThrough & { text: () => string } {
  const out = new PassThrough() as PassThrough & { text: () => string };
  let text = '';
  out.on('data', (c: Buffer) => {
    text += c.toString();
  });
  out.text = () => text;
  return out;
}

describe('password prompts', () => {
  test('on a terminal: raw mode (no echo), two prompts, backspace, and nothing echoed', async () => {
    const tty = fakeTty();
    const out = sink();
    const pending = readHiddenLines(tty, out, ['Password: ', 'Reenter password: ']);
    tty.write('secrex\u007ft\r');
    tty.write(Buffer.from('secr'));
    tty.write(Buffer.from('et\n'));
    const lines = await pending;
    assert.deepEqual(lines, ['secret', 'secret']);
    assert.deepEqual(tty.rawModes, [true, false]);
    assert.equal(out.text(), 'Password: \nReenter password: \n');
  });

  test('on a terminal: a multi-byte character split across chunks survives', async () => {
    const tty = fakeTty();
    const bytes = Buffer.from('é\r', 'utf8');
    const pending = readHiddenLines(tty, sink(), ['P: ']);
    tty.write(bytes.subarray(0, 1));
    tty.write(bytes.subarray(1));
    assert.deepEqual(await pending, ['é']);
  });

  test('on a terminal: Ctrl-C aborts and restores the terminal', async () => {
    const tty = fakeTty();
    const pending = readHiddenLines(tty, sink(), ['Password: ', 'Again: ']);
    tty.write('abc\u0003');
    await assert.rejects(pending, /interrupted/);
    assert.deepEqual(tty.rawModes, [true, false]);
  });

  test('from a pipe: one line, two lines, CRLF, and a missing trailing newline', async () => {
    const cases: Array<[string, string[]]> = [
      ['pw\n', ['pw']],
      ['pw', ['pw']],
      ['pw\r\npw\r\n', ['pw', 'pw']],
      ['a\nb\nc\n', ['a', 'b']],
      ['', []],
    ];
    for (const [input, expected] of cases) {
      const pipe = new PassThrough();
      const pending = readPipedLines(pipe);
      pipe.end(input);
      assert.deepEqual(await pending, expected, JSON.stringify(input));
    }
  });
});
