/**
 * What an operator reads in the log of `pipit broker` (a child process, its JSON lines
 * parsed): the version banner, connects and disconnects at info with who, where and how,
 * failed logins at warn with the reason (not "protocol error"), denied publishes and
 * subscriptions, failed TLS handshakes, the result of a SIGHUP reload.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { passwordFileText } from '../config/fixtures.js';
import { BrokerProcess, freePort, REPO_ROOT, tempDir } from '../durability/harness.js';
import { connectClient, endClient } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { cliEntry } from '../helpers/cli-entry.js';
import { connectBytes } from '../helpers/raw-client.js';

const VERSION = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;

/** The JSON log lines printed so far (other output is skipped). */
function logLines(proc: BrokerProcess): Record<string, unknown>[] {
  return proc.output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Waits for a line with message `msg` (and `match` fields), returns the last such line. */
async function lineWith(
  proc: BrokerProcess,
  msg: string,
  match: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const find = () =>
    logLines(proc)
      .reverse()
      .find((l) => l.msg === msg && Object.entries(match).every(([k, v]) => l[k] === v));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const line = find();
    if (line !== undefined) return line;
    if (Date.now() > deadline) {
      throw new Error(
        `no "${msg}" line with ${JSON.stringify(match)}:\n${proc.output.slice(-3000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves with the CONNACK reason code of a refused MQTT 5 connection. */
function refusedCode(url: string, options: IClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, protocolVersion: 5, ...options });
    client.once('connect', () => {
      client.end(true);
      reject(new Error('accepted'));
    });
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve(err.code ?? -1);
    });
  });
}

/** The SUBACK codes of a SUBSCRIBE (MQTT.js reports a v5 failure as an error carrying them). */
function subackCodes(client: MqttClient, filter: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, (err, grants) => {
      const suback = (err as (Error & { packet?: { granted?: number[] } }) | null)?.packet;
      if (suback?.granted) resolve(suback.granted);
      else if (err) reject(err);
      else resolve((grants ?? []).map((g) => g.qos));
    });
  });
}

describe('pipit broker: the log an operator reads', () => {
  let proc: BrokerProcess;
  let url: string;
  let port: number;

  before(async () => {
    const dir = tempDir('pipit-logs-');
    writeFileSync(join(dir, 'users.txt'), passwordFileText({ alice: 'alice-pw' }));
    writeFileSync(join(dir, 'rules.acl'), 'user alice\ntopic readwrite alice/#\n');
    const config = join(dir, 'pipit.yaml');
    writeFileSync(config, 'auth:\n  passwordFile: users.txt\n  aclFile: rules.acl\n');
    port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    proc = await BrokerProcess.start(port, dir, ['-c', config, '--memory']);
  });

  after(async () => {
    await proc.stop();
  });

  it('a version banner with Node, the listeners and the store', async () => {
    const banner = await lineWith(proc, `pipit ${VERSION} running`);
    assert.equal(banner.name, 'pipit');
    assert.equal(banner.version, VERSION);
    assert.equal(banner.node, process.version);
    assert.deepEqual(banner.listeners, [`mqtt://127.0.0.1:${port}`]);
    assert.match(String(banner.store), /^memory/);
    assert.equal(banner.sysInterval, 10);
  });

  it('connect and disconnect at info: client id, username, address, listener, protocol, keep alive, clean start, reason', async () => {
    const client = await connectClient(url, {
      clientId: 'alice-1',
      username: 'alice',
      password: 'alice-pw',
      protocolVersion: 5,
      keepalive: 30,
      clean: true,
    });
    const connected = await lineWith(proc, 'client connected', { clientId: 'alice-1' });
    assert.equal(connected.level, 30);
    assert.equal(connected.username, 'alice');
    assert.equal(connected.address, '127.0.0.1');
    assert.equal(typeof connected.listener, 'string');
    assert.equal(connected.protocolVersion, 5);
    assert.equal(connected.keepAlive, 30);
    assert.equal(connected.cleanStart, true);
    await endClient(client);
    const gone = await lineWith(proc, 'client disconnected', { clientId: 'alice-1' });
    assert.equal(gone.level, 30);
    assert.equal(gone.reason, 'client disconnected');
    assert.equal(gone.graceful, true);
    assert.equal(gone.address, '127.0.0.1');
  });

  it('failed logins at warn with username, address and the reason, never "protocol error"', async () => {
    assert.equal(await refusedCode(url, { username: 'alice', password: 'wrong' }), 0x86);
    const bad = await lineWith(proc, 'authentication failed', { reason: 'bad password' });
    assert.equal(bad.level, 40);
    assert.equal(bad.username, 'alice');
    assert.equal(bad.address, '127.0.0.1');
    assert.equal(bad.reasonCode, 0x86);
    assert.equal(await refusedCode(url, { username: 'eve', password: 'x' }), 0x86);
    const unknown = await lineWith(proc, 'authentication failed', { reason: 'unknown user' });
    assert.equal(unknown.username, 'eve');
    assert.equal(await refusedCode(url, {}), 0x87);
    await lineWith(proc, 'authentication failed', {
      reason: 'anonymous clients are not allowed on this listener',
    });
    assert.equal(proc.output.includes('protocol error'), false);
  });

  it('denied publish and subscribe at warn, with the topic or filter', async () => {
    const client = await connectClient(url, {
      clientId: 'alice-2',
      username: 'alice',
      password: 'alice-pw',
      protocolVersion: 5,
    });
    await assert.rejects(client.publishAsync('secret/x', 'no', { qos: 1 }));
    const publish = await lineWith(proc, 'publish denied', { topic: 'secret/x' });
    assert.equal(publish.level, 40);
    assert.equal(publish.clientId, 'alice-2');
    assert.equal(publish.username, 'alice');
    assert.equal(publish.reason, 'not authorized');
    assert.deepEqual(await subackCodes(client, 'secret/#'), [0x87]);
    const subscribe = await lineWith(proc, 'subscribe denied', { filter: 'secret/#' });
    assert.equal(subscribe.level, 40);
    assert.equal(subscribe.clientId, 'alice-2');
    await endClient(client);
  });

  it('SIGHUP: the reload is summed up in one line', async () => {
    proc.child.kill('SIGHUP');
    const done = await lineWith(proc, 'SIGHUP: reload finished');
    assert.equal(done.files, 2);
    assert.deepEqual(done.failed, []);
    assert.equal(done.tls, 'reloaded');
    assert.equal(done.clientsClosed, 0);
  });
});

describe('pipit broker: TLS handshake failures', () => {
  let certs: TestCerts;
  let proc: BrokerProcess;
  let tlsPort: number;

  before(async () => {
    certs = makeTestCerts();
    const dir = tempDir('pipit-logs-tls-');
    tlsPort = await freePort();
    const config = join(dir, 'pipit.yaml');
    writeFileSync(
      config,
      [
        'listeners:',
        '  - type: mqtt',
        '  - type: mqtts',
        `    port: ${tlsPort}`,
        `    tls: { cert: ${certs.server.cert}, key: ${certs.server.key} }`,
        '',
      ].join('\n'),
    );
    proc = await BrokerProcess.start(await freePort(), dir, ['-c', config, '--memory']);
    await lineWith(proc, `pipit ${VERSION} running`); // every listener is up
  });

  after(async () => {
    await proc.stop();
    certs.cleanup();
  });

  it('plain MQTT on the TLS port: a warn line with the address and the TLS error', async () => {
    const socket = netConnect(tlsPort, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(connectBytes(4, 'not-tls'));
    await once(socket, 'close');
    const line = await lineWith(proc, 'TLS handshake failed');
    assert.equal(line.level, 40);
    assert.equal(line.address, '127.0.0.1');
    assert.match(String(line.code), /^ERR_SSL_/);
    assert.equal(typeof line.err, 'string');
  });
});

describe('pipit broker: bad $SYS settings', () => {
  async function run(args: string[]): Promise<{ code: number | null; err: string }> {
    const child = spawn(process.execPath, [cliEntry(), 'broker', ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    return { code, err };
  }

  it('--sys-interval that is not a number of seconds: exit 1, naming the flag', async () => {
    const { code, err } = await run(['--sys-interval', 'often', '--memory']);
    assert.equal(code, 1);
    assert.match(err, /--sys-interval: "often" is not a number of seconds 0-86400/);
  });

  it('sysInterval out of range in the file: exit 1, naming the key', async () => {
    const dir = tempDir('pipit-logs-bad-');
    const config = join(dir, 'pipit.yaml');
    writeFileSync(config, 'sysInterval: -5\n');
    const { code, err } = await run(['-c', config, '--memory']);
    assert.equal(code, 1);
    assert.match(
      err,
      /sysInterval: expected a number of seconds 0-86400 \(0 = no \$SYS topics\), got -5/,
    );
  });
});
