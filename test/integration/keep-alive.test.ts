/**
 * Keep alive over real TCP, with every connection's deadline behind the core's one timer
 * (src/core/keep-alive-deadlines.ts): idle clients of mixed keep alives and versions are
 * closed, a client that keeps sending is not, and closed connections leave the deadlines.
 * The exact 1.5x moment is checked with a fake clock in test/core/keep-alive-deadlines.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReasonCode } from '../../src/protocol/index.js';
import { startBroker, type TestBroker, waitFor } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

describe('keep alive over TCP, one timer for all connections', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(async () => {
    await b.close();
  });

  it('[MQTT-3.1.2-24] (3.1.1) [MQTT-3.1.2-22] (5.0) idle clients are closed (v5: DISCONNECT 0x8D); one that sends packets is kept', async () => {
    const keepAlives = b.broker.core.keepAlives;
    const active = await RawClient.connected(b.port, 4, 'ka-active', { keepAlive: 2 });
    const idleV5 = await RawClient.connected(b.port, 5, 'ka-idle-v5', { keepAlive: 1 });
    const idleV4 = await RawClient.connected(b.port, 4, 'ka-idle-v4', { keepAlive: 1 });
    const idleV3 = await RawClient.connected(b.port, 3, 'ka-idle-v3', { keepAlive: 1 });
    assert.equal(keepAlives.size, 4);
    // PINGREQ every 250 ms: far inside the active client's 3 s.
    const pinger = setInterval(() => active.send({ type: 'pingreq' }), 250);
    try {
      await Promise.all([
        idleV5.waitClose(10_000),
        idleV4.waitClose(10_000),
        idleV3.waitClose(10_000),
      ]);
      const disconnect = idleV5.received.find((p) => p.type === 'disconnect');
      assert.ok(disconnect?.type === 'disconnect', 'the v5 client got a DISCONNECT');
      assert.equal(disconnect.reasonCode, ReasonCode.KeepAliveTimeout);
      assert.equal(active.isOpen, true, 'the client that sends PINGREQs is kept');
      assert.ok(active.received.some((p) => p.type === 'pingresp'));
      await waitFor(
        () => keepAlives.size === 1,
        5000,
        'the closed connections to leave the deadlines',
      );
    } finally {
      clearInterval(pinger);
    }
    // Once it stops sending, the active client times out too.
    await active.waitClose(15_000);
    await waitFor(() => keepAlives.size === 0, 5000, 'no deadline left');
  });

  it('a client that disconnects before its deadline leaves the deadlines at once (nothing held)', async () => {
    const keepAlives = b.broker.core.keepAlives;
    const clients = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        RawClient.connected(b.port, i % 2 === 0 ? 4 : 5, `ka-leave-${i}`, {
          keepAlive: 60 + i,
        }),
      ),
    );
    assert.equal(keepAlives.size, 20);
    for (const c of clients.slice(0, 10)) c.send({ type: 'disconnect', reasonCode: 0 });
    for (const c of clients.slice(10)) c.destroy();
    await waitFor(() => keepAlives.size === 0, 5000, 'every deadline removed');
    await waitFor(() => b.broker.core.connections.size === 0, 5000, 'every connection gone');
  });
});
