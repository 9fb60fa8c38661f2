/**
 * Hostile load on the HTTP listener (metrics, health checks, the admin API) of the real
 * `pipit broker` (a child process), while MQTT clients publish: a flood of idle connections
 * from a few addresses and of many connections from one, slow requests (headers a byte per
 * second, bodies trickled), and a flood of wrong bearer tokens. Meanwhile and afterwards the
 * broker is alive, its RSS bounded, a fresh `/healthz` and an authenticated admin API call
 * answer within a second (assertHttpServed), an MQTT client is served within a second
 * (assertServed), and the MQTT publishers' messages keep arriving. Each refusal is counted.
 *
 * Before the caps and timeouts (headers had the whole 10 s request timeout, no per-address
 * cap, no listener cap by default), one address could hold every socket it opened for 10 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { makeToken } from '../../../src/cli/token-command.js';
import { assertRssGrowthBelow, assertServed, freePort, LoadBroker, sleep } from './harness.js';
import {
  allClosed,
  assertHttpServed,
  type Counters,
  openFrom,
  slowRequests,
  tokenGuessing,
} from './http-attacks.js';

/** The broker's resident set grows less than this during and after every attack. */
const RSS_GROWTH_MIB = 80;
const HEADERS_TIMEOUT_S = 2;
const REQUEST_TIMEOUT_S = 4;
const PER_ADDRESS = 32;

let broker: LoadBroker;
let base: string;
let token: string;
let httpPort: number;
let publishers: MqttClient[] = [];
let subscriber: MqttClient;
let received = 0;

before(async () => {
  const made = await makeToken({ name: 'ops', scope: 'full' });
  token = made.token;
  httpPort = await freePort();
  broker = await LoadBroker.start({
    config: [
      'listeners:',
      '  - type: mqtt',
      '  - type: http',
      `    port: ${httpPort}`,
      `    headersTimeout: ${HEADERS_TIMEOUT_S}`,
      `    requestTimeout: ${REQUEST_TIMEOUT_S}`,
      'adminApi:',
      '  tokens:',
      `    - { name: ops, scope: full, hash: '${made.hash}' }`,
      '',
    ].join('\n'),
  });
  base = `http://127.0.0.1:${httpPort}`;
  // The first call hashes the token once; later ones are answered from the guard's cache.
  await assertHttpServed(base, token, 'at start', 5000);
  subscriber = await mqttClient('load-sub');
  await subscriber.subscribeAsync('load/#', { qos: 1 });
  subscriber.on('message', () => received++);
  publishers = await Promise.all([mqttClient('load-pub-1'), mqttClient('load-pub-2')]);
});

after(async () => {
  for (const client of [...publishers, subscriber]) await client?.endAsync(true);
  await broker?.stop();
});

/** The HTTP refusal counters of `refused`. */
function pick(refused: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(refused).filter(([kind]) => kind.startsWith('http-')));
}

function peak(): string {
  return `${broker.peakRssMiB().toFixed(0)} MiB (start ${broker.baselineMiB.toFixed(0)} MiB)`;
}

function mqttClient(clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
    clientId,
    reconnectPeriod: 0,
    protocolVersion: 5,
  });
}

/**
 * Runs `attack` for `seconds` while the publishers publish (QoS 1, about 100 messages a
 * second), checking each second that MQTT and HTTP are served, RSS is bounded and messages
 * arrive; then checks the same once more after it. Resolves with the counters after.
 */
async function underAttack(what: string, seconds: number, attack: () => void): Promise<Counters> {
  let publishing = true;
  const publish = async (client: MqttClient, n: number): Promise<void> => {
    for (let i = 0; publishing; i++) {
      await client.publishAsync(`load/${n}`, `m${i}`, { qos: 1 });
      await sleep(20);
    }
  };
  const runs = publishers.map(publish);
  attack();
  try {
    for (let second = 0; second < seconds; second++) {
      const started = performance.now();
      const before = received;
      await assertServed(broker, `${what}-${second}`);
      await assertHttpServed(base, token, `${what}, second ${second}`);
      assertRssGrowthBelow(broker, RSS_GROWTH_MIB, `${what}, second ${second}`);
      await sleep(Math.max(0, 1000 - (performance.now() - started)));
      assert.ok(received > before, `${what}, second ${second}: messages keep arriving`);
    }
  } finally {
    publishing = false;
    await Promise.all(runs);
  }
  assert.ok(broker.alive, `${what}: the broker is alive`);
  await assertServed(broker, `after-${what}`);
  assertRssGrowthBelow(broker, RSS_GROWTH_MIB, `after ${what}`);
  return assertHttpServed(base, token, `after ${what}`);
}

describe('hostile load: the HTTP listener', () => {
  it('idle sockets from 4 addresses and 300 from one: each address capped at 32, the rest closed at the headers timeout; HTTP and MQTT served', async (t) => {
    const sockets: Awaited<ReturnType<typeof openFrom>>[] = [];
    let opening: Promise<void> = Promise.resolve();
    await underAttack('idle flood', HEADERS_TIMEOUT_S + 2, () => {
      opening = (async () => {
        for (let i = 0; i < 300; i++) sockets.push(await openFrom(httpPort, '127.0.0.2'));
        for (const source of ['127.0.0.3', '127.0.0.4', '127.0.0.5']) {
          for (let i = 0; i < 50; i++) sockets.push(await openFrom(httpPort, source));
        }
      })();
    });
    await opening;
    await allClosed(sockets, 30_000);
    const counters = await assertHttpServed(base, token, 'idle sockets closed');
    t.diagnostic(`refused ${JSON.stringify(pick(counters.refused))}; peak RSS ${peak()}`);
    // 300 + 3 x 50 opened; at most 32 per address were held, until the headers timeout.
    assert.ok(counters.refused['http-address-connections'] >= 300 - PER_ADDRESS + 3 * 18);
    assert.ok(counters.refused['http-timeout'] >= 4 * PER_ADDRESS - 4);
    assert.equal(counters.refused['http-connections'], 0, 'the listener cap was never reached');
    assert.match(broker.proc.output, /"limit":"http-address-connections"/);
  });

  it('headers a byte per second and trickled bodies from one address: 408 at the timeouts; HTTP and MQTT served', async (t) => {
    const before = (await assertHttpServed(base, token, 'before slow')).refused['http-timeout'];
    let attack: ReturnType<typeof slowRequests> | undefined;
    const counters = await underAttack('slow requests', REQUEST_TIMEOUT_S + 2, () => {
      attack = slowRequests(httpPort, '127.0.0.6', 15, 1000, token);
    });
    const answers = await attack!.stop();
    // 15 slow headers (408 at 2 s), 15 trickled bodies (408 at 4 s); none served.
    assert.equal(answers['408'], 30, `every slow request got 408: ${JSON.stringify(answers)}`);
    assert.ok(counters.refused['http-timeout'] - before >= 30);
    t.diagnostic(`answers ${JSON.stringify(answers)}; peak RSS ${peak()}`);
  });

  it('wrong bearer tokens from 8 parallel loops: refused (401/429/503), a known token answered within a second; MQTT publishers unaffected', async (t) => {
    let attack: ReturnType<typeof tokenGuessing> | undefined;
    const counters = await underAttack('token guessing', 6, () => {
      attack = tokenGuessing(httpPort, '127.0.0.7', 8);
    });
    const answers = await attack!.stop();
    const refused = (answers['401'] ?? 0) + (answers['429'] ?? 0) + (answers['503'] ?? 0);
    assert.ok(refused > 0, `guesses were refused: ${JSON.stringify(answers)}`);
    assert.equal(answers['200'], undefined, 'no guess got in');
    assert.ok(counters.connectionsCurrent >= 3, 'the MQTT clients stayed connected');
    t.diagnostic(`answers ${JSON.stringify(answers)}; peak RSS ${peak()}`);
  });
});
