/**
 * Hostile load on the transports of the real `pipit broker` (a child process): sockets that
 * never finish their TLS handshake or WebSocket upgrade, opened at a steady rate from many
 * loopback sources, and one source opening sockets without end. Each case checks that the
 * broker stays alive, that no attack socket is held past the connect timeout (plus slack),
 * that the broker's RSS stays under a bound, and that a well-behaved client is served within
 * a second during the attack and after it.
 *
 * Before the handshake timeout, the unfixed broker never closed such sockets (none in 590 s
 * in the issue); 3000 idle or partial-ClientHello sockets on mqtts held 103 MiB more RSS
 * (108 -> 211 MiB) and every one stayed open (see the report).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeTestCerts, type TestCerts } from '../../helpers/certs.js';
import { connectBytes, RawClient } from '../../helpers/raw-client.js';
import { assertRssGrowthBelow, assertServed, freePort, LoadBroker, sleep } from './harness.js';

/** The connect timeout the brokers run with (seconds). */
const CONNECT_TIMEOUT_S = 2;
/** An attack socket open longer than this was held past its deadline. */
const HELD_BOUND_MS = CONNECT_TIMEOUT_S * 1000 + 2000;

let certs: TestCerts;
before(() => {
  certs = makeTestCerts();
});
after(() => certs.cleanup());

/** Attack sockets with the time each was opened and whether the broker closed it. */
class Held {
  private readonly open = new Map<Socket, number>();
  opened = 0;
  closed = 0;

  add(socket: Socket): void {
    this.opened++;
    this.open.set(socket, performance.now());
    // Read (and drop) what comes, so the broker's FIN is seen as a close on this side.
    socket.resume();
    socket.on('error', () => {});
    socket.once('close', () => {
      this.closed++;
      this.open.delete(socket);
    });
  }

  /** Sockets still open although opened longer than `ms` ago. */
  olderThan(ms: number): number {
    const limit = performance.now() - ms;
    let n = 0;
    for (const since of this.open.values()) if (since < limit) n++;
    return n;
  }

  destroyAll(): void {
    for (const socket of this.open.keys()) socket.destroy();
  }
}

/** A TLS record header and the start of a ClientHello, never finished. */
const PARTIAL_HELLO = Buffer.from('160301020001000001fc0303', 'hex');
/** The start of an upgrade request, never finished. */
const PARTIAL_UPGRADE = Buffer.from(
  'GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n',
);

/**
 * Opens `perSecond` sockets to `port` from 100 loopback sources for `seconds`, half of them
 * sending `partial` and then nothing; checks after every second that the broker serves and
 * holds nothing past the deadline.
 */
async function attack(
  broker: LoadBroker,
  port: number,
  perSecond: number,
  seconds: number,
  partial: Buffer,
  rssGrowthMiB: number,
): Promise<Held> {
  const held = new Held();
  for (let second = 0; second < seconds; second++) {
    const started = performance.now();
    for (let i = 0; i < perSecond; i++) {
      const n = held.opened;
      const socket = connect({ port, host: '127.0.0.1', localAddress: `127.0.1.${1 + (n % 100)}` });
      if (n % 2 === 1) socket.write(partial);
      held.add(socket);
      if (i % 50 === 49) await sleep(5);
    }
    await assertServed(broker, `during-${second}`);
    assertRssGrowthBelow(broker, rssGrowthMiB, `second ${second}`);
    assert.equal(
      held.olderThan(HELD_BOUND_MS),
      0,
      `second ${second}: sockets held past the deadline`,
    );
    await sleep(Math.max(0, 1000 - (performance.now() - started)));
  }
  return held;
}

/**
 * Waits until the broker has handled the closes of a source's sockets: a CONNECT from
 * `localAddress` is answered with CONNACK instead of the cap's close (the client side sees
 * its sockets closed before the broker has counted them out).
 */
async function waitUntilAdmitted(port: number, localAddress: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const client = await RawClient.openFrom(port, 4, localAddress);
    client.write(connectBytes(4, 'admitted-probe'));
    const answered = await client.until(() => client.received.length > 0, 5000, 'CONNACK');
    client.destroy();
    if (answered) return;
    if (performance.now() > deadline) throw new Error(`${localAddress} still refused after 10 s`);
    await sleep(100);
  }
}

/** Waits until the broker has closed every attack socket (bounded), then checks the rest. */
async function afterAttack(broker: LoadBroker, held: Held, rssGrowthMiB: number): Promise<void> {
  const deadline = performance.now() + HELD_BOUND_MS;
  while (held.closed < held.opened && performance.now() < deadline) await sleep(100);
  try {
    assert.equal(held.opened - held.closed, 0, 'attack sockets still open after the deadline');
    assert.ok(broker.alive);
    await assertServed(broker, 'after');
    assertRssGrowthBelow(broker, rssGrowthMiB, 'after the attack');
    assert.match(broker.proc.output, /"limit":"handshake-timeout"/);
  } finally {
    held.destroyAll();
  }
}

describe('hostile load: handshakes that never finish', () => {
  let broker: LoadBroker | undefined;
  after(async () => broker?.stop());

  it('mqtts: 400 idle or partial-ClientHello sockets a second for 12 s are closed at the connect timeout', async (t) => {
    const tlsPort = await freePort();
    broker = await LoadBroker.start({
      config: [
        'listeners:',
        '  - type: mqtt',
        '  - type: mqtts',
        `    port: ${tlsPort}`,
        `    tls: { cert: ${certs.server.cert}, key: ${certs.server.key} }`,
        'limits:',
        `  connectTimeout: ${CONNECT_TIMEOUT_S}`,
        '',
      ].join('\n'),
    });
    // Unfixed, 4800 sockets held would add ~165 MiB (35 KiB each) to a ~110 MiB broker.
    const bound = 135;
    const held = await attack(broker, tlsPort, 400, 12, PARTIAL_HELLO, bound);
    await afterAttack(broker, held, bound);
    t.diagnostic(`broker peak RSS ${broker.peakRssMiB().toFixed(0)} MiB`);
    await broker.stop();
    broker = undefined;
  });

  it('ws: 400 idle or half-sent upgrade requests a second for 10 s are closed at the connect timeout', async (t) => {
    const wsPort = await freePort();
    broker = await LoadBroker.start({
      config: [
        'listeners:',
        '  - type: mqtt',
        '  - type: ws',
        `    port: ${wsPort}`,
        'limits:',
        `  connectTimeout: ${CONNECT_TIMEOUT_S}`,
        '',
      ].join('\n'),
    });
    const bound = 95;
    const held = await attack(broker, wsPort, 400, 10, PARTIAL_UPGRADE, bound);
    await afterAttack(broker, held, bound);
    t.diagnostic(`broker peak RSS ${broker.peakRssMiB().toFixed(0)} MiB`);
    await broker.stop();
    broker = undefined;
  });

  it('one source opening 3000 sockets holds at most maxConnectionsPerAddress of them', async (t) => {
    broker = await LoadBroker.start({
      config:
        'limits:\n  maxConnectionsPerAddress: 200\n  addressLimitsOnLoopback: true\n  connectTimeout: 30\n',
    });
    const held = new Held();
    try {
      for (let i = 0; i < 3000; i++) {
        held.add(connect({ port: broker.port, host: '127.0.0.1', localAddress: '127.0.0.60' }));
        if (i % 100 === 99) await sleep(100);
        if (i % 1000 === 999)
          await assertServed(broker, `per-address-${i}`, { localAddress: '127.0.0.61' });
      }
      // Once every socket has been accepted or refused, only the cap's worth stays open.
      const deadline = performance.now() + 10_000;
      while (held.opened - held.closed > 200 && performance.now() < deadline) await sleep(50);
      assert.equal(held.opened - held.closed, 200, `${held.opened} opened, ${held.closed} closed`);
      assertRssGrowthBelow(broker, 95, 'holding the cap');
      assert.match(broker.proc.output, /"limit":"address-connections"/);
    } finally {
      held.destroyAll();
    }
    assert.ok(broker.alive);
    await waitUntilAdmitted(broker.port, '127.0.0.60');
    await assertServed(broker, 'per-address-after', { localAddress: '127.0.0.60' });
    t.diagnostic(`broker peak RSS ${broker.peakRssMiB().toFixed(0)} MiB`);
    await broker.stop();
    broker = undefined;
  });
});
