/**
 * `pipit sub` and `pipit pub` where Pipit does more than mosquitto's clients, or tells more:
 * reconnecting (mosquitto_sub reconnects over MQTT 3.1.1 only, and is run alongside for that
 * case), exit codes for failures mosquitto reports with exit 0, and precise messages for
 * flags that do not go together.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Broker, createBroker } from '../../src/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { makeTestCerts } from '../helpers/certs.js';
import { Observer, run, sleep, start, type Tool } from './parity/harness.js';

let tb: TestBroker;
let observer: Observer;

before(async () => {
  tb = await startBroker({ maximumPacketSize: 1024 });
  tb.broker.addHook({
    name: 'behaviour-acl',
    authorizeSubscribe: (_client, sub) => (sub.filter.startsWith('secret/') ? 'deny' : 'allow'),
    authorizePublish: (_client, publish) => (publish.topic.startsWith('ro/') ? 'deny' : 'allow'),
  });
  observer = await Observer.open(tb.url, '#');
});
after(async () => {
  await observer.close();
  await tb.close();
});

const p = (): string[] => ['-p', String(tb.port)];

describe('sub reconnects when the broker restarts', { timeout: 60_000 }, () => {
  async function restartDuring(tool: Tool, version: string): Promise<string> {
    const first = await startBroker();
    const port = first.port;
    let second: Broker | undefined;
    const sub = start(tool, 'sub', [
      '-p',
      String(port),
      '-t',
      'rs/#',
      '-v',
      '-V',
      version,
      '-C',
      '2',
    ]);
    const pub = (m: string) => run('mosquitto', 'pub', ['-p', String(port), '-t', 'rs/x', '-m', m]);
    try {
      // Publish until the subscriber has the first message (it may not be subscribed yet).
      while (sub.stdout().length === 0) {
        await pub('before');
        await sleep(100);
      }
      await first.close();
      await sleep(200);
      second = createBroker();
      await second.listen({ port, host: '127.0.0.1' });
      let ended = false;
      void sub.done.then(() => (ended = true));
      while (!ended) {
        await pub('after');
        await sleep(200);
      }
      const r = await sub.done;
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.toString();
    } finally {
      sub.child.kill();
      await second?.close();
    }
  }

  test('MQTT 3.1.1: pipit sub and mosquitto_sub both reconnect and go on printing', async () => {
    for (const tool of ['mosquitto', 'pipit'] as const) {
      assert.equal(await restartDuring(tool, '311'), 'rs/x before\nrs/x after\n', tool);
    }
  });

  test('MQTT 5: pipit sub reconnects after DISCONNECT 0x8B (mosquitto_sub exits there)', async () => {
    assert.equal(await restartDuring('pipit', '5'), 'rs/x before\nrs/x after\n');
  });
});

describe('failures mosquitto reports with exit code 0 exit 1 in Pipit', { timeout: 60_000 }, () => {
  test('sub: every subscription refused: exit 1, each filter named with its reason', async () => {
    const r = await run('pipit', 'sub', [...p(), '-t', 'secret/a', '-V', '5', '-W', '5']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'Error: every subscription was refused: secret/a (Not authorized (0x87))\n',
    );
  });

  test('sub: some subscriptions refused: a warning for each, and the others work', async () => {
    await observer.client.publishAsync('open/x', 'kept', { retain: true, qos: 1 });
    const r = await run('pipit', 'sub', [...p(), '-t', 'secret/a', '-t', 'open/x', '-C', '1']);
    await observer.client.publishAsync('open/x', '', { retain: true, qos: 1 });
    assert.equal(r.code, 0);
    assert.equal(r.stdout.toString(), 'kept\n');
    // MQTT 3.1.1 has one failure code, 0x80, and no reason to give.
    assert.equal(r.stderr, 'Warning: subscription refused: secret/a (failure, 0x80)\n');
  });

  test('pub: a publish the broker refuses (MQTT 5 PUBACK 0x87): exit 1 and the reason', async () => {
    const r = await run('pipit', 'pub', [...p(), '-t', 'ro/x', '-m', 'x', '-q', '1', '-V', '5']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: publish refused (PUBACK): Not authorized (0x87)\n');
  });

  test('pub -V 5: a message over the broker Maximum Packet Size is refused before sending', async () => {
    const args = [...p(), '-t', 'big/x', '-m', 'x'.repeat(2000), '-q', '1', '-V', '5'];
    const r = await run('pipit', 'pub', args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /would be 20\d\d bytes and the server accepts at most 1024/);
    assert.equal(observer.under('big/').length, 0);
  });
});

describe('other exit codes', { timeout: 60_000 }, () => {
  test('pub -V 311 over the broker limit: the broker closes the connection: exit 7', async () => {
    const r = await run('pipit', 'pub', [...p(), '-t', 'big/y', '-m', 'x'.repeat(2000), '-q', '1']);
    assert.equal(r.code, 7);
    assert.equal(r.stderr, 'Error: connection lost: the broker closed the connection\n');
  });

  test('a failed TLS handshake always exits 8 and says what to check', async () => {
    const certs = makeTestCerts();
    try {
      const tlsPort = (
        await tb.broker.listen({
          type: 'mqtts',
          port: 0,
          host: '127.0.0.2',
          tls: { cert: certs.server.cert, key: certs.server.key },
        })
      ).port;
      const args = ['-h', '127.0.0.2', '-p', String(tlsPort), '--cafile', certs.ca.cert];
      const r = await run('pipit', 'pub', [...args, '-t', 'x', '-m', 'x']);
      assert.equal(r.code, 8);
      assert.match(r.stderr, /^Error: TLS: the server certificate is not for 127\.0\.0\.2 /);
      assert.match(r.stderr, /--insecure/);
      const untrusted = await run('pipit', 'pub', [
        ...args,
        '--insecure',
        '--cafile',
        certs.otherCa.cert,
      ]);
      assert.ok(untrusted.code !== 0);
    } finally {
      certs.cleanup();
    }
  });
});

describe('flags that do not go together are named, exit 1, before connecting', () => {
  const cases: [string, string[], RegExp][] = [
    [
      '-x without -V 5',
      ['-t', 'a', '-x', '60', '-i', 'x'],
      /-x \(session expiry interval\) needs MQTT 5/,
    ],
    ['-c without a client id', ['-t', 'a', '-c'], /-c needs a client id \(-i or -I\)/],
    ['-i with -I', ['-t', 'a', '-i', 'a', '-I', 'b'], /-i and -I cannot be used together/],
    [
      '-R with --retained-only',
      ['-t', 'a', '-R', '--retained-only'],
      /-R .* and --retained-only contradict/,
    ],
    [
      '--cert without --key',
      ['-t', 'a', '--cafile', '/dev/null', '--cert', 'c'],
      /--cert and --key go together/,
    ],
    ['--cert without TLS', ['-t', 'a', '--cert', 'c', '--key', 'k'], /--cert needs TLS/],
    [
      '--will-qos without --will-topic',
      ['-t', 'a', '--will-qos', '1'],
      /--will-qos needs --will-topic/,
    ],
    ['a bad -F specifier', ['-t', 'a', '-F', '%z'], /-F: unknown format specifier "%z"/],
    [
      'a bad -L scheme',
      ['-L', 'http://127.0.0.1/a'],
      /-L: .* must start with mqtt:\/\/ or mqtts:\/\//,
    ],
    ['a malformed filter', ['-t', 'a/#/b'], /-t: invalid topic filter "a\/#\/b"/],
    ['-k below 5', ['-t', 'a', '-k', '2'], /keepalive \(-k\) must be an integer from 5 to 65535/],
    [
      '-D with -V 311',
      ['-t', 'a', '-V', '311', '-D', 'connect', 'receive-maximum', '5'],
      /-D \(properties\) needs MQTT 5/,
    ],
    [
      'a -D value out of range',
      ['-t', 'a', '-D', 'connect', 'receive-maximum', '0'],
      /receive-maximum: "0" is not an integer from 1 to 65535/,
    ],
  ];
  for (const [name, args, message] of cases) {
    test(`sub: ${name}`, async () => {
      // Port 1: nothing listens there, so reaching the network would fail differently.
      const r = await run('pipit', 'sub', ['-p', '1', ...args]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /cannot connect/);
    });
  }

  test('pub: --repeat with -l, and no message at all', async () => {
    const repeat = await run('pipit', 'pub', ['-p', '1', '-t', 'a', '-l', '--repeat', '2'], {
      stdin: 'x',
    });
    assert.equal(repeat.code, 1);
    assert.match(repeat.stderr, /--repeat works with -m, -f, -s or -n, not with -l/);
    const none = await run('pipit', 'pub', ['-p', '1', '-t', 'a']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no message: give one of -m, -f, -s, -l or -n/);
  });

  test('--quiet does not hide a mistake on the command line', async () => {
    const r = await run('pipit', 'pub', ['-p', '1', '-t', 'a/#', '-m', 'x', '--quiet']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /-t: invalid topic "a\/#": topic name contains a wildcard/);
  });
});
