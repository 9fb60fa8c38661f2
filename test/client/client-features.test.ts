/**
 * The client against Pipit's broker: listeners set before CONNECT see a resumed session's
 * queued messages, failures named by their reason codes, local checks of topics, filters
 * and the server's Maximum Packet Size, Unix sockets, a bound local address, the in-flight
 * cap, the packet trace, and ReconnectingClient across a broker restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ConnectRefusedError,
  connect,
  type MqttClient,
  ReconnectingClient,
  ServerDisconnectError,
} from '../../src/client/index.js';
import type { Packet } from '../../src/protocol/index.js';
import { isMqttError } from '../../src/protocol/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { forwardUnixToTcp } from '../helpers/unix-forwarder.js';
import { nextEvent } from './brokers.js';

/** Resolves once `condition` holds; fails after `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let tb: TestBroker;
before(async () => {
  tb = await startBroker({ maximumPacketSize: 1024 });
  tb.broker.addHook({
    name: 'test-auth',
    authenticate: ({ client, password }) =>
      client.username === undefined || password?.toString() === 'secret' ? 'allow' : 'deny',
    authorizePublish: (_client, publish) => (publish.topic.startsWith('ro/') ? 'deny' : 'allow'),
  });
});
after(() => tb.close());

for (const version of [4, 5] as const) {
  test(`MQTT ${version}: a listener added in setup gets every queued message of a resumed session`, {
    timeout: 15_000,
  }, async () => {
    const clientId = `resume-${version}`;
    const persistent = {
      port: tb.port,
      protocolVersion: version,
      clientId,
      clean: false,
      properties: version === 5 ? { sessionExpiryInterval: 600 } : undefined,
    };
    const first = await connect(persistent);
    await first.subscribe('resume/#', { qos: 1 });
    await first.end();
    const publisher = await connect({ port: tb.port });
    for (const m of ['m1', 'm2', 'm3']) await publisher.publish('resume/x', m, { qos: 1 });
    await publisher.end();
    const seen: string[] = [];
    const resumed = await connect(persistent, (c) => {
      c.on('connack', (p) => seen.push(`connack present=${p.sessionPresent}`));
      c.on('message', (_t, payload) => seen.push(payload.toString()));
    });
    await until(() => seen.length === 4, 5000, 'three queued messages');
    assert.deepEqual(seen, ['connack present=true', 'm1', 'm2', 'm3']);
    await resumed.end();
  });
}

describe('failures are named by their reason codes', { timeout: 15_000 }, () => {
  test('a refused MQTT 3.1.1 CONNACK: ConnectRefusedError with the return code and its name', async () => {
    const err = await connect({ port: tb.port, username: 'alice', password: 'wrong' }).catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectRefusedError);
    assert.equal(err.reasonCode, 4);
    assert.equal(err.message, 'connection refused: bad user name or password (return code 4)');
  });

  test('a refused MQTT 5 CONNACK: the reason code and its name', async () => {
    const err = await connect({
      port: tb.port,
      protocolVersion: 5,
      username: 'alice',
      password: 'wrong',
    }).catch((e: unknown) => e);
    assert.ok(err instanceof ConnectRefusedError);
    assert.equal(err.reasonCode, 0x86);
    assert.match(err.message, /^connection refused: Bad User Name or Password \(0x86\)/);
  });

  test('a PUBACK failure names the reason', async () => {
    const c = await connect({ port: tb.port, protocolVersion: 5 });
    const err = await c.publish('ro/x', 'y', { qos: 1 }).catch((e: unknown) => e);
    assert.ok(isMqttError(err));
    assert.equal(err.reasonCode, 0x87);
    assert.match(err.message, /^publish refused \(PUBACK\): Not authorized \(0x87\)/);
    await c.end();
  });

  test('a server DISCONNECT names the reason', async () => {
    const other = await startBroker();
    const c = await connect({ port: other.port, protocolVersion: 5 });
    const closed = nextEvent<[Error | undefined]>(c, 'close');
    await other.close();
    const [err] = await closed;
    assert.ok(err instanceof ServerDisconnectError);
    assert.equal(err.message, 'server sent DISCONNECT: Server shutting down (0x8b)');
  });
});

describe('local checks: nothing invalid is sent', { timeout: 15_000 }, () => {
  let c: MqttClient;
  before(async () => {
    c = await connect({ port: tb.port, protocolVersion: 5 });
  });
  after(() => c.end());

  test('[MQTT-3.3.2-2] a topic name with a wildcard is refused with 0x90, and the connection stays', async () => {
    for (const topic of ['a/#', 'a/+/b', '']) {
      const err = await c.publish(topic, 'x').catch((e: unknown) => e);
      assert.ok(isMqttError(err), String(err));
      assert.equal(err.reasonCode, 0x90);
    }
    assert.equal(c.connected, true);
  });

  test('[MQTT-4.7.1-1] a malformed filter is refused with 0x8F', async () => {
    for (const filter of ['a/#/b', 'a+', '']) {
      const err = await c.subscribe(filter).catch((e: unknown) => e);
      assert.ok(isMqttError(err), String(err));
      assert.equal(err.reasonCode, 0x8f);
    }
    assert.deepEqual(await c.subscribe('fine/+'), [0]);
  });

  test('[MQTT-3.2.2-15] a PUBLISH over the server Maximum Packet Size is refused before sending', async () => {
    assert.equal(c.serverMaximumPacketSize, 1024);
    const err = await c.publish('big', Buffer.alloc(2000), { qos: 1 }).catch((e: unknown) => e);
    assert.ok(isMqttError(err));
    assert.equal(err.reasonCode, 0x95);
    assert.match(err.message, /would be 20\d\d bytes and the server accepts at most 1024/);
    assert.equal(c.connected, true);
    await c.publish('small', Buffer.alloc(900), { qos: 1 });
  });
});

describe('sockets and flow', { timeout: 15_000 }, () => {
  test('socketPath connects through a Unix domain socket', async () => {
    const fwd = await forwardUnixToTcp(tb.port);
    try {
      const c = await connect({ socketPath: fwd.path });
      assert.equal(c.connected, true);
      assert.equal(fwd.accepted, 1);
      await c.end();
    } finally {
      await fwd.close();
    }
  });

  test('localAddress binds the socket: the broker sees 127.0.0.2', async () => {
    const seen = new Promise<string | undefined>((resolve) =>
      tb.broker.once('clientConnected', (info) => resolve(info.remoteAddress)),
    );
    const c = await connect({ port: tb.port, localAddress: '127.0.0.2' });
    assert.match(String(await seen), /127\.0\.0\.2$/);
    await c.end();
  });

  test('maxInflight 1: one QoS 1 publish at a time, all acknowledged; the trace sees each packet', async () => {
    const trace: string[] = [];
    let inFlight = 0;
    let most = 0;
    const c = await connect({
      port: tb.port,
      maxInflight: 1,
      trace: (direction, packet: Packet) => {
        trace.push(`${direction} ${packet.type}`);
        if (direction === 'sending' && packet.type === 'publish') most = Math.max(most, ++inFlight);
        if (direction === 'received' && packet.type === 'puback') inFlight--;
      },
    });
    await Promise.all([1, 2, 3, 4, 5].map((i) => c.publish('flow/x', `m${i}`, { qos: 1 })));
    assert.equal(most, 1);
    assert.deepEqual(trace.slice(0, 2), ['sending connect', 'received connack']);
    assert.equal(trace.filter((t) => t === 'received puback').length, 5);
    await c.end();
  });
});

describe('ReconnectingClient', { timeout: 30_000 }, () => {
  test('connects again after the broker restarts, resubscribes in "connect", and receives', async () => {
    const first = await startBroker();
    const port = first.port;
    const rc = new ReconnectingClient({
      port,
      protocolVersion: 5,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    const events: string[] = [];
    rc.on('connect', () => {
      events.push('connect');
      // Rejected if this connection drops before the SUBACK; the next 'connect' retries.
      rc.subscribe('again/#', { qos: 1 }).catch(() => {});
    });
    rc.on('offline', (err) => events.push(`offline ${err?.message}`));
    const messages: string[] = [];
    rc.on('message', (_t, p) => messages.push(p.toString()));
    await rc.start();
    await first.close();
    await until(() => events.length >= 2, 5000, 'offline');
    const second = await startBroker();
    await second.broker.listen({ port, host: '127.0.0.1' });
    try {
      await until(() => events.filter((e) => e === 'connect').length === 2, 10_000, 'reconnect');
      const pub = await connect({ port });
      // The SUBSCRIBE sent in 'connect' may still be in flight: publish until it arrives.
      await until(
        () => {
          void pub.publish('again/x', 'after restart', { qos: 1 });
          return messages.length > 0;
        },
        5000,
        'a message after the restart',
      );
      await pub.end();
      assert.equal(messages[0], 'after restart');
      assert.deepEqual(events.slice(0, 2), [
        'connect',
        'offline server sent DISCONNECT: Server shutting down (0x8b)',
      ]);
    } finally {
      await rc.end();
      await second.close();
    }
  });

  test('gives up after DISCONNECT 0x8E Session taken over instead of taking it back', async () => {
    const rc = new ReconnectingClient({
      port: tb.port,
      protocolVersion: 5,
      clientId: 'taken',
      reconnect: { initialDelayMs: 20 },
    });
    let reconnects = 0;
    rc.on('reconnecting', () => reconnects++);
    await rc.start();
    const closed = nextEvent<[Error | undefined]>(rc, 'close');
    const thief = await connect({ port: tb.port, protocolVersion: 5, clientId: 'taken' });
    const [err] = await closed;
    assert.ok(err instanceof ServerDisconnectError);
    assert.equal(err.reasonCode, 0x8e);
    assert.equal(reconnects, 0);
    await thief.end();
  });

  test('start() rejects when the first connection is refused', async () => {
    const rc = new ReconnectingClient({ port: tb.port, username: 'alice', password: 'no' });
    await assert.rejects(rc.start(), ConnectRefusedError);
  });
});
