/**
 * Pipit bridged to Pipit (MQTT 5 and 3.1.1): each direction at QoS 0/1/2 with prefixes, No
 * Local keeping a `both` rule from looping, failover to a second address and back to the
 * first, TLS with a client certificate, the bounded queue while the remote is down, the ACL
 * seeing the bridge's identity, and the bridge's session out of clients' reach.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { BridgeOptions, ClientInfo } from '../../src/index.js';
import { createBroker } from '../../src/index.js';
import { connectClient, endClient, startBroker, type TestBroker } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { freePort, Inbox, tempDir, waitBridge, waitUntil } from './remotes.js';

function bridgeTo(
  ports: number[],
  name: string,
  extra: Partial<BridgeOptions> = {},
): BridgeOptions {
  return {
    name,
    addresses: ports.map((port) => ({ host: '127.0.0.1', port })),
    protocolVersion: 5,
    clientId: `bridge-${name}`,
    reconnectDelayMs: 50,
    maxReconnectDelayMs: 300,
    topics: [
      { pattern: 'up/#', direction: 'out', qos: 2, localPrefix: 'edge/', remotePrefix: 'site1/' },
      { pattern: 'down/#', direction: 'in', qos: 2, localPrefix: 'edge/', remotePrefix: 'site1/' },
      { pattern: 'chat/#', direction: 'both', qos: 1 },
    ],
    ...extra,
  };
}

describe('Pipit to Pipit over MQTT 5', () => {
  let remote: TestBroker;
  let local: TestBroker;
  let here: MqttClient;
  let there: MqttClient;

  before(async () => {
    remote = await startBroker();
    local = await startBroker({ bridges: [bridgeTo([remote.port], 'p1')] });
    await waitBridge(local.broker, 'p1');
    here = await connectClient(local.url, { clientId: 'here', protocolVersion: 5 });
    there = await connectClient(remote.url, { clientId: 'there', protocolVersion: 5 });
  });

  after(async () => {
    await endClient(here, true);
    await endClient(there, true);
    await local.close();
    await remote.close();
  });

  it('out and in at QoS 0, 1 and 2, with the prefixes swapped', async () => {
    await there.subscribeAsync('site1/up/#', { qos: 2 });
    await here.subscribeAsync('edge/down/#', { qos: 2 });
    const thereInbox = new Inbox(there);
    const hereInbox = new Inbox(here);
    for (const qos of [0, 1, 2] as const) {
      await here.publishAsync(`edge/up/q${qos}`, `out-${qos}`, { qos });
      await there.publishAsync(`site1/down/q${qos}`, `in-${qos}`, { qos });
    }
    for (const qos of [0, 1, 2]) {
      await thereInbox.waitFor(`site1/up/q${qos}`);
      await hereInbox.waitFor(`edge/down/q${qos}`);
      assert.equal(thereInbox.on(`site1/up/q${qos}`)[0]?.qos, qos);
      assert.equal(hereInbox.on(`edge/down/q${qos}`)[0]?.payload, `in-${qos}`);
    }
    const status = local.broker.bridges()[0]!;
    assert.ok(status.messagesOut >= 3 && status.messagesIn >= 3, JSON.stringify(status));
    assert.equal(status.queued + status.inflight, 0, 'nothing left once the remote acknowledged');
  });

  it('[MQTT-3.8.3-3] a both rule does not loop: No Local on both sides of the bridge', async () => {
    await here.subscribeAsync('chat/#', { qos: 1 });
    await there.subscribeAsync('chat/#', { qos: 1 });
    const hereInbox = new Inbox(here);
    const thereInbox = new Inbox(there);
    await here.publishAsync('chat/a', 'a', { qos: 1 });
    await thereInbox.waitFor('chat/a');
    await there.publishAsync('chat/b', 'b', { qos: 1 });
    await hereInbox.waitFor('chat/b');
    // Markers after everything: an echo would arrive before them on the same connection.
    await there.publishAsync('chat/marker-there', 'm', { qos: 1 });
    await hereInbox.waitFor('chat/marker-there');
    await here.publishAsync('chat/marker-here', 'm', { qos: 1 });
    await thereInbox.waitFor('chat/marker-here');
    const topics = (inbox: Inbox) =>
      inbox.got
        .map((m) => m.topic)
        .filter((t) => !t.startsWith('chat/marker'))
        .sort();
    assert.deepEqual(topics(hereInbox), ['chat/a', 'chat/b']);
    assert.deepEqual(topics(thereInbox), ['chat/a', 'chat/b']);
  });

  it('a client cannot take the bridge session: client ids under $bridge/ are refused (0x85)', async () => {
    await assert.rejects(
      connectClient(local.url, { clientId: '$bridge/p1', protocolVersion: 5 }),
      (err: Error & { code?: number }) => err.code === 0x85,
    );
    await waitBridge(local.broker, 'p1');
  });
});

describe('Pipit to Pipit over MQTT 3.1.1', () => {
  it('a remote that refuses the bridge flag (CONNACK 0x01) is connected to without it', async () => {
    const remote = await startBroker();
    const local = await startBroker({
      bridges: [bridgeTo([remote.port], 'v4', { protocolVersion: 4 })],
    });
    try {
      await waitBridge(local.broker, 'v4');
      const status = local.broker.bridges()[0]!;
      assert.equal(status.connectFailures, 1, JSON.stringify(status));
      const there = await connectClient(remote.url, { clientId: 'v4-there' });
      await there.subscribeAsync('site1/up/#', { qos: 2 });
      const inbox = new Inbox(there);
      const here = await connectClient(local.url, { clientId: 'v4-here' });
      for (const qos of [0, 1, 2] as const) {
        await here.publishAsync(`edge/up/q${qos}`, `v4-${qos}`, { qos });
      }
      for (const qos of [0, 1, 2]) await inbox.waitFor(`site1/up/q${qos}`);
      assert.deepEqual(
        [0, 1, 2].map((qos) => inbox.on(`site1/up/q${qos}`)[0]?.qos),
        [0, 1, 2],
      );
      await endClient(here, true);
      await endClient(there, true);
    } finally {
      await local.close();
      await remote.close();
    }
  });
});

describe('bridge failover', () => {
  it('goes to the second address while the first is down, and back to the first once it is up', async () => {
    const firstPort = await freePort();
    const second = await startBroker();
    const local = await startBroker({
      bridges: [bridgeTo([firstPort, second.port], 'fo', { primaryProbeMs: 100 })],
    });
    let first: TestBroker | undefined;
    try {
      await waitBridge(local.broker, 'fo');
      assert.equal(local.broker.bridges()[0]!.address, `127.0.0.1:${second.port}`);
      const firstBroker = createBroker();
      await firstBroker.listen({ port: firstPort, host: '127.0.0.1' });
      first = { broker: firstBroker, port: firstPort, url: '', close: () => firstBroker.close() };
      await waitUntil(
        () => {
          const s = local.broker.bridges()[0]!;
          return s.connected && s.address === `127.0.0.1:${firstPort}`;
        },
        10_000,
        () => JSON.stringify(local.broker.bridges()),
      );
      // Messages now flow through the first address.
      const sub = await connectClient(`mqtt://127.0.0.1:${firstPort}`, { clientId: 'fo-sub' });
      await sub.subscribeAsync('site1/up/#', { qos: 1 });
      const inbox = new Inbox(sub);
      const pub = await connectClient(local.url, { clientId: 'fo-pub' });
      await pub.publishAsync('edge/up/x', 'via-first', { qos: 1 });
      await inbox.waitFor('site1/up/x');
      await endClient(pub, true);
      await endClient(sub, true);
    } finally {
      await local.close();
      await first?.close();
      await second.close();
    }
  });
});

describe('bridge TLS with a client certificate', () => {
  let certs: TestCerts;
  before(() => {
    certs = makeTestCerts();
  });
  after(() => certs.cleanup());

  it('connects to an mqtts remote that requires a certificate, as the certificate identity', async () => {
    const remote = createBroker();
    const seen: ClientInfo[] = [];
    remote.on('clientConnected', (client) => seen.push(client));
    const { port } = await remote.listen({
      type: 'mqtts',
      port: 0,
      host: '127.0.0.1',
      tls: {
        cert: certs.server.cert,
        key: certs.server.key,
        ca: certs.ca.cert,
        requireCertificate: true,
        useIdentityAsUsername: true,
      },
    });
    const tls = { ca: certs.ca.certPem, cert: certs.client.certPem, key: certs.client.keyPem };
    const local = await startBroker({ bridges: [bridgeTo([port], 'tls', { tls })] });
    try {
      await waitBridge(local.broker, 'tls');
      assert.equal(seen.find((c) => c.clientId === 'bridge-tls')?.username, 'alice');
      const sub = await connectClient(`mqtts://127.0.0.1:${port}`, {
        clientId: 'tls-sub',
        ca: certs.ca.certPem,
        cert: certs.client.certPem,
        key: certs.client.keyPem,
      });
      await sub.subscribeAsync('site1/up/#', { qos: 1 });
      const inbox = new Inbox(sub);
      const pub = await connectClient(local.url, { clientId: 'tls-pub' });
      await pub.publishAsync('edge/up/secure', 'over-tls', { qos: 1 });
      await inbox.waitFor('site1/up/secure');
      await endClient(pub, true);
      await endClient(sub, true);
    } finally {
      await local.close();
      await remote.close();
    }
  });
});

describe('bridge queue while the remote is down', () => {
  it('is bounded by maxQueuedMessages: past it messages are dropped and counted', async () => {
    const deadPort = await freePort();
    const local = await startBroker({
      maxQueuedMessages: 5,
      bridges: [bridgeTo([deadPort], 'bounded')],
    });
    try {
      const pub = await connectClient(local.url, { clientId: 'bounded-pub' });
      for (let i = 0; i < 8; i++) await pub.publishAsync(`edge/up/${i}`, String(i), { qos: 1 });
      await endClient(pub, true);
      const status = local.broker.bridges()[0]!;
      assert.equal(status.connected, false);
      assert.equal(status.queued, 5);
      assert.equal(status.drops, 3);
      assert.ok(status.connectFailures >= 1, JSON.stringify(status));
    } finally {
      await local.close();
    }
  });

  it('sends what it queued (QoS 2, SQLite store), in order, once the remote comes up', async () => {
    const port = await freePort();
    const local = await startBroker({
      persistence: { kind: 'sqlite', dataDir: tempDir('pipit-bridge-later-') },
      bridges: [bridgeTo([port], 'later')],
    });
    let remote: ReturnType<typeof createBroker> | undefined;
    try {
      const pub = await connectClient(local.url, { clientId: 'later-pub' });
      for (let i = 0; i < 20; i++) await pub.publishAsync('edge/up/seq', String(i), { qos: 2 });
      await endClient(pub, true);
      assert.equal(local.broker.bridges()[0]!.queued, 20);
      remote = createBroker();
      // The subscriber subscribes on another listener before the bridge's port opens.
      const side = await remote.listen({ port: 0, host: '127.0.0.1' });
      const sub = await connectClient(side.url, { clientId: 'later-sub' });
      const inbox = new Inbox(sub);
      await sub.subscribeAsync('site1/up/seq', { qos: 2 });
      await remote.listen({ port, host: '127.0.0.1' });
      await waitBridge(local.broker, 'later');
      await waitUntil(
        () => inbox.got.length >= 20,
        10_000,
        () => `${inbox.got.length} of 20`,
      );
      assert.deepEqual(
        inbox.got.map((m) => m.payload),
        [...Array(20).keys()].map(String),
      );
      assert.ok(inbox.got.every((m) => m.qos === 2));
      await waitUntil(
        () => local.broker.bridges()[0]!.inflight === 0,
        5000,
        () => JSON.stringify(local.broker.bridges()),
      );
      await endClient(sub, true);
    } finally {
      await local.close();
      await remote?.close();
    }
  });
});

describe('incoming messages and the local ACL', () => {
  it('are authorized as the bridge ($bridge/<name>, localUsername): a denied topic is not published', async () => {
    const remote = await startBroker();
    const asked: string[] = [];
    const local = await startBroker({
      bridges: [bridgeTo([remote.port], 'acl', { localUsername: 'bridge-user' })],
    });
    local.broker.addHook({
      authorizePublish(client, publish) {
        if (client.clientId !== '$bridge/acl') return 'allow';
        asked.push(`${client.username}:${publish.topic}`);
        return publish.topic.endsWith('/secret') ? 'deny' : 'allow';
      },
    });
    try {
      await waitBridge(local.broker, 'acl');
      const here = await connectClient(local.url, { clientId: 'acl-here' });
      await here.subscribeAsync('edge/down/#', { qos: 1 });
      const inbox = new Inbox(here);
      const there = await connectClient(remote.url, { clientId: 'acl-there' });
      await there.publishAsync('site1/down/secret', 's', { qos: 1 });
      await there.publishAsync('site1/down/open', 'o', { qos: 1 });
      await inbox.waitFor('edge/down/open');
      assert.deepEqual(
        inbox.got.map((m) => m.topic),
        ['edge/down/open'],
      );
      assert.deepEqual(asked, ['bridge-user:edge/down/secret', 'bridge-user:edge/down/open']);
      assert.equal(local.broker.bridges()[0]!.refusedIn, 1);
      await endClient(here, true);
      await endClient(there, true);
    } finally {
      await local.close();
      await remote.close();
    }
  });
});
