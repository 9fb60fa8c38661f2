/**
 * ReconnectingClient for `pipit pub -l`: QoS 1/2 publishes sent again after their connection
 * was lost before the acknowledgement (`resendOnLoss`), the first connection trying each
 * address of `servers` once, and an offline queue that fails when the client gives up. The
 * server is a raw socket that answers as each case needs, or Pipit's broker.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { ConnectRefusedError, ReconnectingClient } from '../../src/client/index.js';
import type { Packet } from '../../src/protocol/index.js';
import { Decoder, encode } from '../../src/protocol/index.js';
import { freePort } from '../durability/harness.js';
import { startBroker } from '../helpers/broker.js';

/** A raw MQTT 3.1.1 server; `answer` sees every packet with the connection's number (1, 2, ...). */
async function rawServer(
  answer: (socket: net.Socket, p: Packet, connection: number) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    const n = sockets.length;
    socket.on('error', () => {});
    const decoder = new Decoder();
    socket.on('data', (chunk) => decoder.push(chunk, (p) => answer(socket, p, n)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const CONNACK = encode({ type: 'connack', sessionPresent: false, reasonCode: 0 }, 4);
const fast = { initialDelayMs: 10, maxDelayMs: 50, jitter: 0.5 };

describe('ReconnectingClient: resend, first connection, give-up', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  test('[MQTT-4.3.2-1] resendOnLoss: a QoS 1 publish lost with its connection before PUBACK is sent again and settles on the next', async () => {
    const received: { connection: number; payload: string; packetId?: number }[] = [];
    const server = await rawServer((socket, p, connection) => {
      if (p.type === 'connect') socket.write(CONNACK);
      if (p.type !== 'publish') return;
      received.push({ connection, payload: p.payload.toString(), packetId: p.packetId });
      // The first connection dies before its PUBACK; the second acknowledges.
      if (connection === 1) socket.destroy();
      else socket.write(encode({ type: 'puback', packetId: p.packetId! }, 4));
    });
    closers.push(server.close);
    const client = new ReconnectingClient({
      port: server.port,
      offlineQueue: 10,
      resendOnLoss: true,
      reconnect: fast,
    });
    await client.start();
    await client.publish('t', 'once', { qos: 1 });
    assert.deepEqual(
      received.map((r) => [r.connection, r.payload]),
      [
        [1, 'once'],
        [2, 'once'],
      ],
    );
    assert.equal(client.resent, 1);
    assert.equal(client.queued, 0);
    await client.end();
  });

  test('without resendOnLoss the publish fails with the loss', async () => {
    const server = await rawServer((socket, p) => {
      if (p.type === 'connect') socket.write(CONNACK);
      if (p.type === 'publish') socket.destroy();
    });
    closers.push(server.close);
    const client = new ReconnectingClient({ port: server.port, offlineQueue: 10, reconnect: fast });
    await client.start();
    await assert.rejects(client.publish('t', 'x', { qos: 1 }), /connection closed/);
    assert.equal(client.resent, 0);
    await client.end();
  });

  test('start() tries each address of servers once, in order; rejects when none answers', async () => {
    const broker = await startBroker();
    closers.push(broker.close);
    const dead = await freePort();
    const client = new ReconnectingClient({
      servers: [
        { host: '127.0.0.1', port: dead },
        { host: '127.0.0.1', port: broker.port },
      ],
      reconnect: fast,
    });
    await client.start();
    assert.equal(client.server.port, broker.port);
    await client.end();
    const nowhere = new ReconnectingClient({
      servers: [
        { host: '127.0.0.1', port: dead },
        { host: '127.0.0.1', port: await freePort() },
      ],
    });
    await assert.rejects(nowhere.start(), /ECONNREFUSED/);
  });

  test('when the policy gives up (a refused CONNACK), what waits in the offline queue fails with it', async () => {
    const server = await rawServer((socket, p, connection) => {
      if (p.type !== 'connect') return;
      if (connection === 1) {
        socket.write(CONNACK);
        socket.destroy();
      } else socket.write(encode({ type: 'connack', sessionPresent: false, reasonCode: 5 }, 4));
    });
    closers.push(server.close);
    const client = new ReconnectingClient({ port: server.port, offlineQueue: 10, reconnect: fast });
    let closed: Error | undefined;
    client.on('close', (err) => {
      closed = err;
    });
    // Published as the loss is noticed: it waits in the queue for the next attempt.
    // (Wrapped: a promise resolved with a promise would wait for it.)
    const waiting = new Promise<{ sent: Promise<void> }>((resolve) =>
      client.once('offline', () => resolve({ sent: client.publish('t', 'never', { qos: 1 }) })),
    );
    await client.start();
    const { sent } = await waiting;
    await assert.rejects(sent, (err: unknown) => err instanceof ConnectRefusedError);
    assert.ok(closed instanceof ConnectRefusedError);
    // After the give-up a publish fails at once (a rejection, not a throw).
    await assert.rejects(client.publish('t', 'late'), /not connected/);
  });
});
