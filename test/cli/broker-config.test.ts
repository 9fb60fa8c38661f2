/**
 * `pipit broker -c` through the real entry point: --test-config, refusing a bad file,
 * a password file in force, and SIGHUP reloading it in the running process.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { passwordFileText, type TempDir, tempDir } from '../config/fixtures.js';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { cliEntry } from '../helpers/cli-entry.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';

/** Runs `pipit broker ...args` to completion (bounded); resolves with code and output. */
async function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [cliEntry(), 'broker', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number, stdout, stderr };
}

/** Starts a broker and resolves with its port once it logs that it listens. */
async function start(
  args: string[],
): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  const child = spawn(process.execPath, [cliEntry(), 'broker', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${out}`)), 20000);
    child.stdout!.on('data', () => {
      const match = /"address":"mqtt:\/\/127\.0\.0\.1:(\d+)"/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', () => reject(new Error(`broker exited:\n${out}`)));
  });
  return { child, port, log: () => out };
}

function refusal(url: string, options: mqtt.IClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.once('connect', () => {
      client.end(true);
      reject(new Error('connection was accepted'));
    });
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve(err.code ?? -1);
    });
  });
}

describe('pipit broker -c', () => {
  let tmp: TempDir;
  let good: string;

  before(async () => {
    tmp = await tempDir();
    await tmp.write('users.txt', passwordFileText({ alice: 'first' }));
    await tmp.write('rules.acl', 'user alice\ntopic readwrite alice/#\n');
    good = await tmp.write(
      'good.yaml',
      'listeners:\n  - port: 0\nauth:\n  passwordFile: users.txt\n  aclFile: rules.acl\nstorage:\n  type: memory\n',
    );
  });

  after(() => tmp.remove());

  it('--test-config accepts a good file: exit 0 and "configuration OK"', async () => {
    const result = await run(['--test-config', '-c', good]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'configuration OK\n');
  });

  it('--test-config warns about an ACL file that no authentication backs (and still says OK)', async () => {
    await tmp.write('identity.acl', 'user admin\ntopic readwrite #\npattern read clients/%c/#\n');
    const unauthenticated = await tmp.write(
      'acl-only.yaml',
      'listeners:\n  - port: 0\n    name: plain\nauth:\n  aclFile: identity.acl\nstorage:\n  type: memory\n',
    );
    const result = await run(['--test-config', '-c', unauthenticated]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'configuration OK\n');
    assert.equal(
      result.stderr,
      'warning: listener plain: auth.aclFile has 1 user block, 1 %c pattern, but no password file ' +
        'or certificate identity authenticates clients there: a username a client claims is not ' +
        'trusted (user blocks and %u never apply, every client gets the anonymous rules) and any ' +
        'client may pick a client id (%c grants go to whoever does); set auth.passwordFile\n',
    );
    const backed = await run(['--test-config', '-c', good]);
    assert.equal(backed.stderr, '', 'no warning with a password file');
  });

  it('--test-config refuses a bad file: exit 1, each problem named by key on stderr', async () => {
    const bad = await tmp.write(
      'bad.yaml',
      'listeners:\n  - port: abc\nlimits:\n  maxInflihgt: 5\n',
    );
    const result = await run(['--test-config', '-c', bad]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      `pipit broker: invalid configuration in ${bad}:\n` +
        '  listeners[0].port: expected an integer 0-65535, got "abc" (line 2)\n' +
        '  limits.maxInflihgt: unknown key (did you mean "maxInflight"?) (line 4)\n',
    );
  });

  it('a missing password file is named by its key, and the broker does not start', async () => {
    const missing = await tmp.write('missing.yaml', 'auth:\n  passwordFile: nope.txt\n');
    const checked = await run(['--test-config', '-c', missing]);
    assert.equal(checked.code, 1);
    assert.match(
      checked.stderr,
      /\n {2}auth\.passwordFile: cannot read ".*nope\.txt" \(no such file\)\n$/,
    );
    const started = await run(['-c', missing, '--memory']);
    assert.equal(started.code, 1);
    assert.doesNotMatch(started.stdout, /listening/);
  });

  it('a bad environment variable stops the broker too', async () => {
    const result = await run(['--test-config', '-c', good], { PIPIT_PORT: 'abc' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /PIPIT_PORT: expected an integer 0-65535, got "abc"/);
  });

  it('refuses a bad password, and SIGHUP reloads the password file in the running process', async () => {
    const { child, port, log } = await start(['-c', good]);
    const url = `mqtt://127.0.0.1:${port}`;
    try {
      assert.equal(
        await refusal(url, { username: 'alice', password: 'wrong', protocolVersion: 5 }),
        0x86,
      );
      const alice = await connectClient(url, {
        username: 'alice',
        password: 'first',
        protocolVersion: 4,
      });
      await endClient(alice);

      await writeFile(`${tmp.dir}/users.txt`, passwordFileText({ alice: 'second' }));
      child.kill('SIGHUP');
      await waitFor(() => /reloaded the password file/.test(log()), 10000, 'the reload');
      assert.equal(
        await refusal(url, { username: 'alice', password: 'first', protocolVersion: 4 }),
        0x04,
      );
      const again = await connectClient(url, {
        username: 'alice',
        password: 'second',
        protocolVersion: 5,
      });
      await endClient(again);

      await writeFile(`${tmp.dir}/users.txt`, 'not a password file\n');
      child.kill('SIGHUP');
      await waitFor(() => /keeping the previous one/.test(log()), 10000, 'the failed reload');
      const still = await connectClient(url, {
        username: 'alice',
        password: 'second',
        protocolVersion: 5,
      });
      await endClient(still);
      assert.equal(child.exitCode, null, 'a bad file on SIGHUP does not stop the broker');
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('SIGHUP closes the connection of a user removed from the password file: DISCONNECT 0x98', async () => {
    await tmp.write('hup-users.txt', passwordFileText({ alice: 'a-pw', bob: 'b-pw' }));
    const config = await tmp.write(
      'hup.yaml',
      'listeners:\n  - port: 0\nauth:\n  passwordFile: hup-users.txt\nstorage:\n  type: memory\n',
    );
    const { child, port, log } = await start(['-c', config]);
    try {
      const login = async (username: string, password: string) => {
        const client = await RawClient.open(port, 5);
        client.write(connectBytes(5, username, { username, password: Buffer.from(password) }));
        assert.equal((await client.next('connack')).reasonCode, 0);
        return client;
      };
      const alice = await login('alice', 'a-pw');
      const bob = await login('bob', 'b-pw');
      const lines = (await readFile(`${tmp.dir}/hup-users.txt`, 'utf8')).split('\n');
      await writeFile(
        `${tmp.dir}/hup-users.txt`,
        `${lines.filter((l) => l.startsWith('bob:'))[0]}\n`,
      );
      child.kill('SIGHUP');
      const disconnect = await alice.next('disconnect', 10_000);
      assert.equal(disconnect.reasonCode, 0x98);
      await alice.waitClose();
      await waitFor(() => /"closed":1,"users":\["alice"\]/.test(log()), 10000, 'the log line');
      bob.send({ type: 'pingreq' });
      await bob.next('pingresp');
      bob.destroy();
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });
});
