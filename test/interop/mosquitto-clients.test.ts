/**
 * Interoperability with an independent implementation: Debian's mosquitto_sub and
 * mosquitto_pub publish and subscribe through Pipit with MQTT 3.1.1 and 5 at QoS 0, 1, 2.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  connectClient,
  endClient,
  nextMessages,
  startBroker,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';

const SUB = '/usr/bin/mosquitto_sub';
const PUB = '/usr/bin/mosquitto_pub';

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command, killing it after `timeoutMs` (the result then has code null). */
function run(command: string, args: string[], timeoutMs = 10_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** True once the broker holds a subscription of `clientId` on `filter`. */
async function subscribed(b: TestBroker, clientId: string, filter: string): Promise<boolean> {
  return (await b.broker.admin.subscriptions({ clientId, filter })).items.length === 1;
}

describe('interop: mosquitto_sub / mosquitto_pub through Pipit', { timeout: 60_000 }, () => {
  let b: TestBroker;
  before(async () => {
    assert.ok(existsSync(SUB) && existsSync(PUB), 'mosquitto-clients must be installed');
    b = await startBroker();
  });
  after(() => b.close());

  for (const version of ['mqttv311', 'mqttv5'] as const) {
    for (const qos of [0, 1, 2] as const) {
      it(`[MQTT-7.0.0-2] mosquitto_pub -> mosquitto_sub, ${version}, QoS ${qos}`, async () => {
        const topic = `interop/${version}/${qos}`;
        const id = `msub-${version}-${qos}`;
        const common = ['-h', '127.0.0.1', '-p', String(b.port), '-V', version, '-q', String(qos)];
        const received = run(SUB, [...common, '-i', id, '-t', topic, '-C', '1', '-v']);
        await waitFor(() => subscribed(b, id, topic), 5000, 'mosquitto_sub subscribed');
        const sent = await run(PUB, [...common, '-t', topic, '-m', `hello ${qos}`]);
        assert.equal(sent.code, 0, sent.stderr);
        const result = await received;
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout.trim(), `${topic} hello ${qos}`);
      });
    }
  }

  it('mosquitto_pub -r stores a retained message that mosquitto_sub receives later (v5)', async () => {
    const common = ['-h', '127.0.0.1', '-p', String(b.port), '-V', 'mqttv5', '-q', '1'];
    const sent = await run(PUB, [...common, '-t', 'interop/ret', '-m', 'kept', '-r']);
    assert.equal(sent.code, 0, sent.stderr);
    const result = await run(SUB, [...common, '-t', 'interop/+', '-C', '1', '-v']);
    assert.equal(result.stdout.trim(), 'interop/ret kept');
  });

  it('MQTT.js (v5) receives what mosquitto_pub (3.1.1) publishes, at the granted QoS', async () => {
    const client = await connectClient(b.url, { protocolVersion: 5, clientId: 'mqttjs-interop' });
    await client.subscribeAsync('interop/js', { qos: 1 });
    const got = nextMessages(client, 1);
    const sent = await run(PUB, [
      '-h',
      '127.0.0.1',
      '-p',
      String(b.port),
      '-V',
      'mqttv311',
      '-q',
      '2',
      '-t',
      'interop/js',
      '-m',
      'from mosquitto',
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    const [msg] = await got;
    assert.equal(msg?.payload.toString(), 'from mosquitto');
    assert.equal(msg?.packet.qos, 1);
    await endClient(client);
  });

  it('mosquitto_sub (v5, QoS 2) receives what MQTT.js (3.1.1) publishes', async () => {
    const id = 'msub-from-js';
    const received = run(SUB, [
      '-h',
      '127.0.0.1',
      '-p',
      String(b.port),
      '-V',
      'mqttv5',
      '-q',
      '2',
      '-i',
      id,
      '-t',
      'interop/fromjs',
      '-C',
      '1',
    ]);
    await waitFor(() => subscribed(b, id, 'interop/fromjs'), 5000, 'mosquitto_sub subscribed');
    const client = await connectClient(b.url, { protocolVersion: 4, clientId: 'mqttjs-pub' });
    await client.publishAsync('interop/fromjs', 'from mqtt.js', { qos: 2 });
    const result = await received;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'from mqtt.js');
    await endClient(client);
  });
});
