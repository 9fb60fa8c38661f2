/**
 * What the client gained for bridges: the jittered exponential backoff, the failover order
 * along a server list, deferred acknowledgements (PUBACK only when the application says the
 * message is its own), and PUBLISH packets under the caller's packet ids with their acks as
 * events. Against Pipit's broker over real sockets where a peer is needed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, connect, ReconnectingClient, ServerList } from '../../src/client/index.js';
import { createBroker } from '../../src/index.js';
import type { PublishPacket } from '../../src/protocol/index.js';
import { freePort, waitUntil } from '../durability/harness.js';
import { startBroker } from '../helpers/broker.js';

describe('backoff and failover', () => {
  test('the delay doubles up to the cap; the jitter takes up to its share off', () => {
    const policy = (r: number) => ({
      initialDelayMs: 100,
      maxDelayMs: 1000,
      jitter: 0.5,
      random: () => r,
    });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy(0), a)),
      [100, 200, 400, 800, 1000, 1000],
    );
    assert.equal(backoffDelay(policy(0.999999), 3), 200, 'at most half off');
    assert.equal(backoffDelay(policy(0.5), 3), 300);
  });

  test('a failed attempt moves to the next address, after the last to the first; rewind starts over', () => {
    const list = new ServerList([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
      { host: 'c', port: 3 },
    ]);
    const seen = [list.current.host];
    for (let i = 0; i < 3; i++) {
      list.failed();
      seen.push(list.current.host);
    }
    assert.deepEqual(seen, ['a', 'b', 'c', 'a']);
    list.failed();
    assert.equal(list.onFallback, true);
    list.rewind();
    assert.equal(list.current.host, 'a');
    assert.equal(list.onFallback, false);
  });

  test('run() keeps trying along the servers until one answers', async () => {
    const dead = await freePort();
    const broker = await startBroker();
    const client = new ReconnectingClient({
      servers: [
        { host: '127.0.0.1', port: dead },
        { host: '127.0.0.1', port: broker.port },
      ],
      reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0.5 },
    });
    const failures: string[] = [];
    client.on('reconnectFailed', (err) => failures.push(err.message));
    try {
      client.run();
      await waitUntil(
        () => client.connected,
        5000,
        () => `connected; failures ${failures}`,
      );
      assert.equal(client.server.port, broker.port);
      assert.ok(failures.length >= 1);
    } finally {
      await client.end();
      await broker.close();
    }
  });
});

describe('deferred acknowledgements', () => {
  test('[MQTT-4.3.2-2] with deferAcks the PUBACK goes out only on acknowledge()', async () => {
    const broker = await startBroker();
    const received: PublishPacket[] = [];
    const sub = await connect({ port: broker.port, clientId: 'deferring', deferAcks: true }, (c) =>
      c.on('message', (_t, _p, packet) => received.push(packet)),
    );
    const pub = await connect({ port: broker.port, clientId: 'pub' });
    try {
      await sub.subscribe('d/#', { qos: 1 });
      await pub.publish('d/1', 'x', { qos: 1 });
      await waitUntil(
        () => received.length === 1,
        5000,
        () => 'the message',
      );
      const session = broker.broker.core.sessions.get('deferring')!;
      // Still in flight at the broker: not acknowledged yet.
      assert.equal(session.inflightCount, 1);
      sub.acknowledge(received[0]!);
      await waitUntil(
        () => session.inflightCount === 0,
        5000,
        () => 'the PUBACK',
      );
    } finally {
      await sub.end();
      await pub.end();
      await broker.close();
    }
  });

  test("sendPacket writes a PUBLISH under the caller's packet id; its PUBACK comes as an ack event", async () => {
    const broker = await startBroker();
    const client = await connect({ port: broker.port, clientId: 'raw-ids' });
    try {
      const acks: number[] = [];
      client.on('ack', (ack) => acks.push(ack.packetId));
      client.sendPacket({
        type: 'publish',
        topic: 'raw/1',
        payload: Buffer.from('x'),
        qos: 1,
        retain: false,
        dup: false,
        packetId: 4242,
      });
      await waitUntil(
        () => acks.length === 1,
        5000,
        () => 'the PUBACK',
      );
      assert.deepEqual(acks, [4242]);
    } finally {
      await client.end();
      await broker.close();
    }
  });
});

describe('offline queue', () => {
  test('publishes made while disconnected wait (bounded) and go out in order on the next connection', async () => {
    const port = await freePort();
    let broker = createBroker();
    await broker.listen({ port, host: '127.0.0.1' });
    const client = new ReconnectingClient({
      port,
      clientId: 'queued-pub',
      offlineQueue: 3,
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    await client.start();
    await broker.close();
    await waitUntil(
      () => !client.connected,
      5000,
      () => 'the loss',
    );
    const sent = [1, 2, 3].map((i) => client.publish('q/x', String(i), { qos: 1 }));
    await assert.rejects(client.publish('q/x', '4', { qos: 1 }), /offline queue full \(3/);
    assert.equal(client.queued, 3);
    broker = createBroker();
    const got: string[] = [];
    broker.on('published', (_client, message) => {
      if (message.topic === 'q/x') got.push(message.payload.toString());
    });
    await broker.listen({ port, host: '127.0.0.1' });
    try {
      await Promise.all(sent);
      assert.deepEqual(got, ['1', '2', '3']);
      assert.equal(client.queued, 0);
    } finally {
      await client.end();
      await broker.close();
    }
  });
});
