/**
 * The session registry's claim as an awaited step (src/core/session-registry.ts). On one
 * node a claim never waits: a local connection lets go synchronously, so CONNACK goes out in
 * the same call as the CONNECT. A session held elsewhere (a remote node: a SessionHolder the
 * test implements, as a cluster will) makes the claim wait, with the connection not read,
 * until the holder has let go; the holder may hand the session over first. A session loaded
 * on demand (a SessionLoader, as per-client loading from a store will be) makes it wait the
 * same way. [MQTT-3.1.4-3]
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore, SessionHolder } from '../../src/core/index.js';
import { Session } from '../../src/core/index.js';
import { ReasonCode } from '../../src/protocol/index.js';
import {
  connectV5,
  createTestCore,
  FakeClient,
  flush,
  publish,
  publishes,
} from '../helpers/core-harness.js';

/** A holder on another node: it lets go when the test says so (or fails to). */
class RemoteHolder implements SessionHolder {
  takeOvers = 0;
  private settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private readonly letGo: Promise<void>;

  constructor(private readonly handOver?: () => void) {
    this.letGo = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  takeOver(): Promise<void> {
    this.takeOvers++;
    return this.letGo; // the same promise while it is pending
  }

  release(): void {
    this.handOver?.();
    this.settle!.resolve();
  }

  fail(): void {
    this.settle!.reject(new Error('the other node did not answer'));
  }
}

/** A v5 client that sends CONNECT for `clientId` (no CONNACK expected yet). */
function connecting(core: BrokerCore, clientId: string, clean = true): FakeClient {
  const client = new FakeClient(core, 5);
  client.connect({
    clientId,
    clean,
    properties: clean ? undefined : { sessionExpiryInterval: 3600 },
  });
  return client;
}

function connack(client: FakeClient) {
  const packet = client.received.shift();
  assert.ok(packet?.type === 'connack', `a CONNACK, not ${packet?.type}`);
  return packet;
}

describe('core: claiming a session', () => {
  it('[MQTT-3.1.4-3] on one node a claim never waits: CONNACK in the same call, a takeover included', () => {
    const { core } = createTestCore();
    const first = connecting(core, 'local');
    assert.equal(connack(first).reasonCode, 0);
    const second = connecting(core, 'local');
    assert.equal(connack(second).reasonCode, 0, 'answered within the CONNECT call');
    assert.deepEqual(
      first.take().map((p) => (p.type === 'disconnect' ? p.reasonCode : p.type)),
      [ReasonCode.SessionTakenOver],
    );
    assert.equal(core.sessions.get('local')?.output, second.connection);
  });

  it('[MQTT-3.1.4-3] a session held elsewhere: the claim waits, unread, until the holder lets go; then CONNACK and the packets that waited', async () => {
    const { core } = createTestCore();
    const remote = new RemoteHolder();
    core.registry.heldElsewhere('roaming', remote);
    const client = connecting(core, 'roaming');
    client.send({
      type: 'subscribe',
      packetId: 5,
      subscriptions: [
        { filter: 'r/t', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await flush();
    assert.equal(remote.takeOvers, 1);
    assert.deepEqual(client.received, [], 'no CONNACK while the holder has not let go');
    assert.equal(client.paused, true, 'the connection is not read meanwhile');
    assert.equal(core.sessions.has('roaming'), false);
    remote.release();
    await flush();
    assert.equal(connack(client).reasonCode, 0);
    assert.equal(client.take()[0]?.type, 'suback', 'the SUBSCRIBE that waited, after CONNACK');
    assert.equal(client.paused, false);
    // The holder elsewhere is gone: the next claim is local and synchronous again.
    const again = connecting(core, 'roaming');
    assert.equal(connack(again).reasonCode, 0);
    assert.equal(remote.takeOvers, 1);
  });

  it('the holder elsewhere may hand the session over before it lets go: Session Present, subscriptions kept', async () => {
    const { core, clock } = createTestCore();
    const remote = new RemoteHolder(() => {
      // What a cluster node does with the state it received: adopt it here.
      const session = new Session('moved', core.registry.environment);
      session.expiryInterval = 3600;
      session.subscriptions.set('news', {
        subscriber: session,
        filter: 'news',
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        subscriptionId: undefined,
        shareGroup: undefined,
      });
      core.adoptSession(session, clock.now() + 3_600_000);
    });
    core.registry.heldElsewhere('moved', remote);
    const client = connecting(core, 'moved', false);
    await flush();
    remote.release();
    await flush();
    const ack = connack(client);
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.sessionPresent, true, '[MQTT-3.2.2-3] the handed-over session is resumed');
    const pub = connectV5(core, 'pub');
    publish(pub, { topic: 'news', qos: 1 });
    assert.deepEqual(
      publishes(client.take()).map((p) => [p.topic, p.qos]),
      [['news', 1]],
    );
  });

  it('two claims while the holder elsewhere lets go: both wait, and the last CONNECT wins', async () => {
    const { core } = createTestCore();
    const remote = new RemoteHolder();
    core.registry.heldElsewhere('twice', remote);
    const a = connecting(core, 'twice');
    const b = connecting(core, 'twice');
    await flush();
    assert.deepEqual([a.received, b.received], [[], []]);
    remote.release();
    await flush();
    assert.equal(connack(a).reasonCode, 0);
    assert.deepEqual(
      a.take().map((p) => (p.type === 'disconnect' ? p.reasonCode : p.type)),
      [ReasonCode.SessionTakenOver],
    );
    assert.equal(connack(b).reasonCode, 0);
    assert.equal(core.sessions.get('twice')?.output, b.connection);
    assert.equal(core.connections.size, 1);
  });

  it('a connection that ends while its claim waits gets nothing, and leaves no session', async () => {
    const { core } = createTestCore();
    const remote = new RemoteHolder();
    core.registry.heldElsewhere('gone', remote);
    const client = connecting(core, 'gone');
    await flush();
    client.connection.transportClosed();
    remote.release();
    await flush();
    assert.deepEqual(client.received, []);
    assert.equal(core.sessions.has('gone'), false);
    assert.equal(core.metrics.connectionsRejected, 1);
    assert.equal(core.metrics.connectionsCurrent, 0);
  });

  it('the connect timeout also bounds a claim that waits', async () => {
    const { core, clock } = createTestCore({ connectTimeoutMs: 5000 });
    const remote = new RemoteHolder();
    core.registry.heldElsewhere('slow', remote);
    const client = connecting(core, 'slow');
    await flush();
    clock.advance(5000);
    assert.equal(client.ended, true);
    remote.release();
    await flush();
    assert.deepEqual(client.received, []);
    assert.equal(core.sessions.has('slow'), false);
  });

  it('a session not in memory is asked of the loader first: the claim waits for it, then resumes what it loaded', async () => {
    const { core, clock } = createTestCore();
    const asked: string[] = [];
    core.registry.loadWith({
      load: (clientId) => {
        if (asked.includes(clientId)) return undefined; // checked already: nothing to wait for
        asked.push(clientId);
        if (clientId !== 'stored') return Promise.resolve();
        return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          const session = new Session('stored', core.registry.environment);
          session.expiryInterval = 3600;
          session.owner = { username: null };
          core.adoptSession(session, clock.now() + 3_600_000);
        });
      },
    });
    const stored = connecting(core, 'stored', false);
    assert.deepEqual(stored.received, [], 'waits for the load');
    await flush();
    assert.equal(connack(stored).sessionPresent, true, '[MQTT-3.2.2-3] the loaded session resumed');
    const fresh = connecting(core, 'fresh', false);
    await flush();
    assert.equal(connack(fresh).sessionPresent, false, 'nothing stored: a new session');
    assert.deepEqual(asked, ['stored', 'fresh']);
    const again = connecting(core, 'stored', false);
    assert.equal(connack(again).sessionPresent, true, 'in memory now: no load, no wait');
    assert.deepEqual(asked, ['stored', 'fresh']);
  });

  it('a holder elsewhere that fails to let go: CONNACK 0x83 and the connection closes', async () => {
    const { core } = createTestCore();
    const remote = new RemoteHolder();
    core.registry.heldElsewhere('stuck', remote);
    const client = connecting(core, 'stuck');
    await flush();
    remote.fail();
    await flush();
    assert.equal(connack(client).reasonCode, ReasonCode.ImplementationSpecificError);
    assert.equal(client.ended, true);
    assert.equal(core.sessions.has('stuck'), false);
  });
});
