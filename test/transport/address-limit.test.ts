/**
 * maxConnectionsPerAddress over real sockets from distinct loopback sources: the socket over
 * the cap is closed before anything is read and counted in refused['address-connections'];
 * other sources are not concerned; a closed socket gives its place back; loopback is exempt
 * unless addressLimitsOnLoopback. Plus the address keys the cap counts by (IPv6 per /64).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressKey, isLoopbackAddress } from '../../src/core/address-key.js';
import { type Broker, createBroker } from '../../src/index.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';

/** A CONNECT from `from`; resolves 'connack' or 'closed' (closed without a CONNACK). */
async function attempt(port: number, from: string, id: string): Promise<[string, RawClient]> {
  const client = await RawClient.openFrom(port, 4, from);
  client.write(connectBytes(4, id));
  const got = await client.until(() => client.received.length > 0, 5000, 'an answer');
  return [got ? 'connack' : 'closed', client];
}

async function withBroker(
  options: Parameters<typeof createBroker>[0],
  body: (broker: Broker, port: number) => Promise<void>,
): Promise<void> {
  const broker = createBroker(options);
  const { port } = await broker.listen({ port: 0 });
  try {
    await body(broker, port);
  } finally {
    await broker.close();
  }
}

describe('maxConnectionsPerAddress', () => {
  test('the socket over the cap is closed unread and counted; other sources are served', async () => {
    await withBroker(
      { maxConnectionsPerAddress: 3, addressLimitsOnLoopback: true },
      async (broker, port) => {
        const held: RawClient[] = [];
        for (let i = 0; i < 3; i++) {
          const [answer, client] = await attempt(port, '127.0.0.21', `held-${i}`);
          assert.equal(answer, 'connack');
          held.push(client);
        }
        const [over, overClient] = await attempt(port, '127.0.0.21', 'over');
        assert.equal(over, 'closed');
        assert.equal(broker.core.metrics.refused['address-connections'], 1);
        const [other, otherClient] = await attempt(port, '127.0.0.22', 'other');
        assert.equal(other, 'connack', 'another source has its own count');
        held[0]!.destroy();
        await held[0]!.closed;
        // The broker sees the close on its side soon after; retry until the place is free.
        let again = 'closed';
        for (let tries = 0; tries < 50 && again === 'closed'; tries++) {
          const [answer, client] = await attempt(port, '127.0.0.21', 'again');
          again = answer;
          held.push(client);
          if (again === 'closed') await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(again, 'connack', 'a closed socket gives its place back');
        for (const c of [...held, overClient, otherClient]) c.destroy();
      },
    );
  });

  test('loopback sources are exempt by default', async () => {
    await withBroker({ maxConnectionsPerAddress: 2 }, async (broker, port) => {
      const clients: RawClient[] = [];
      for (let i = 0; i < 5; i++) {
        const [answer, client] = await attempt(port, '127.0.0.23', `local-${i}`);
        assert.equal(answer, 'connack');
        clients.push(client);
      }
      assert.equal(broker.core.metrics.refused['address-connections'], 0);
      for (const c of clients) c.destroy();
    });
  });
});

describe('address keys', () => {
  test('IPv4 and IPv4-mapped addresses are their own key; IPv6 counts per /64', () => {
    assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8:0001:0002::9'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
  });

  test('loopback is 127.0.0.0/8 and ::1, also IPv4-mapped', () => {
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) {
      assert.equal(isLoopbackAddress(a), true, a);
    }
    for (const a of ['128.0.0.1', '::2', '::ffff:10.0.0.1', '2001:db8::1']) {
      assert.equal(isLoopbackAddress(a), false, a);
    }
  });
});
