/**
 * Client ids bound to their owner (bindClientIdToUser, default on): a session belongs to the
 * verified username, or to "anonymous", of the client that created it. Another identity
 * gets CONNACK 0x85 (v3 0x02) [MQTT-3.1.3-8] and the owner's live connection, stored
 * session and queued messages stay untouched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdminApi } from '../../src/admin/index.js';
import type { AuthenticateRequest, BrokerCore, CoreOptions } from '../../src/core/index.js';
import { BrokerCore as Core } from '../../src/core/index.js';
import type { ConnectPacket, ProtocolVersion } from '../../src/protocol/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { createTestCore, FakeClient, flush, publishes } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A core whose users are alice and bob, each with the password `<name>-pw`. */
function coreWithUsers(options: Partial<CoreOptions> = {}, core?: BrokerCore): BrokerCore {
  const broker = core ?? createTestCore(options).core;
  broker.addHook({
    name: 'users',
    authenticate: ({ client, password }: AuthenticateRequest) => {
      if (client.username === undefined) return { result: 'allow' };
      const known = client.username === 'alice' || client.username === 'bob';
      return known && password?.toString() === `${client.username}-pw`
        ? 'allow'
        : { result: 'allow', anonymous: true }; // claimed, not verified
    },
  });
  return broker;
}

/** Connects and returns the client with its CONNACK. */
async function connectAs(
  core: BrokerCore,
  clientId: string,
  username: string | undefined,
  fields: Partial<ConnectPacket> & { version?: ProtocolVersion; verified?: boolean } = {},
) {
  const { version = 5, verified = true, ...rest } = fields;
  const client = new FakeClient(core, version);
  client.connect({
    clientId,
    username,
    password: username !== undefined && verified ? Buffer.from(`${username}-pw`) : undefined,
    ...rest,
  });
  await flush();
  const connack = client.received.shift();
  assert.ok(connack?.type === 'connack', 'a CONNACK');
  return { client, connack };
}

const persistent = { clean: false, properties: { sessionExpiryInterval: 3600 } };

describe('client ids bound to their owner', () => {
  it("[MQTT-3.1.3-8] bob cannot take over alice's live connection: CONNACK 0x85, alice stays", async () => {
    const core = coreWithUsers();
    const alice = await connectAs(core, 'alice-dev', 'alice');
    assert.equal(alice.connack.reasonCode, 0);
    const bob = await connectAs(core, 'alice-dev', 'bob');
    assert.equal(bob.connack.reasonCode, 0x85);
    assert.equal(bob.client.ended, true);
    assert.equal(alice.client.ended, false, 'no DISCONNECT 0x8E for alice');
    assert.deepEqual(alice.client.take(), []);
    assert.equal(core.metrics.refused['client-id-owner'], 1);
  });

  it('[MQTT-3.1.3-8] MQTT 3.1.1 gets return code 0x02 (identifier rejected)', async () => {
    const core = coreWithUsers();
    await connectAs(core, 'alice-dev', 'alice', { version: 4 });
    const bob = await connectAs(core, 'alice-dev', 'bob', { version: 4 });
    assert.equal(bob.connack.reasonCode, 0x02);
  });

  it("bob can neither resume nor discard alice's stored session; alice resumes it with her queue", async () => {
    const core = coreWithUsers();
    const alice = await connectAs(core, 'alice-dev', 'alice', persistent);
    alice.client.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        {
          filter: 'inbox/alice',
          qos: 1,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
        },
      ],
    });
    alice.client.send({ type: 'disconnect', reasonCode: 0 });
    await core.publishFromHost({ topic: 'inbox/alice', payload: 'for alice', qos: 1 });
    for (const clean of [false, true]) {
      const bob = await connectAs(core, 'alice-dev', 'bob', { ...persistent, clean });
      assert.equal(bob.connack.reasonCode, 0x85, `clean start ${clean}`);
      assert.deepEqual(publishes(bob.client.received), []);
    }
    const back = await connectAs(core, 'alice-dev', 'alice', persistent);
    assert.equal(back.connack.reasonCode, 0);
    assert.equal(back.connack.sessionPresent, true);
    assert.deepEqual(
      publishes(back.client.received).map((p) => p.payload.toString()),
      ['for alice'],
    );
  });

  it('[MQTT-3.1.4-3] alice takes over her own session: DISCONNECT 0x8E to the old connection', async () => {
    const core = coreWithUsers();
    const first = await connectAs(core, 'alice-dev', 'alice');
    const second = await connectAs(core, 'alice-dev', 'alice');
    assert.equal(second.connack.reasonCode, 0);
    const [disconnect] = first.client.take();
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x8e);
  });

  it('an unverified "alice" is anonymous: refused for alice\'s session, and alice for an anonymous one', async () => {
    const core = coreWithUsers();
    await connectAs(core, 'alice-dev', 'alice');
    const claimed = await connectAs(core, 'alice-dev', 'alice', { verified: false });
    assert.equal(claimed.connack.reasonCode, 0x85);
    const anonymous = await connectAs(core, 'sensor-1', undefined);
    assert.equal(anonymous.connack.reasonCode, 0);
    const alice = await connectAs(core, 'sensor-1', 'alice');
    assert.equal(alice.connack.reasonCode, 0x85);
    // Clients without a verified username share the anonymous identity.
    const other = await connectAs(core, 'sensor-1', 'mallory', { verified: false });
    assert.equal(other.connack.reasonCode, 0);
  });

  it("bindClientIdToUser: false lets bob take over, and the session is bob's from then on", async () => {
    const core = coreWithUsers({ bindClientIdToUser: false });
    const alice = await connectAs(core, 'alice-dev', 'alice', persistent);
    const bob = await connectAs(core, 'alice-dev', 'bob', persistent);
    assert.equal(bob.connack.reasonCode, 0);
    assert.equal(bob.connack.sessionPresent, true);
    const [disconnect] = alice.client.take();
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x8e);
    assert.deepEqual((await new AdminApi(core).session('alice-dev'))?.owner, { username: 'bob' });
    assert.equal(core.metrics.refused['client-id-owner'], 0);
  });

  it('the owner survives a restart on the same store', async () => {
    const store = new MemoryStore();
    const first = coreWithUsers({}, new Core({ clock: new FakeClock(), store }));
    await first.start();
    const alice = await connectAs(first, 'alice-dev', 'alice', persistent);
    alice.client.send({ type: 'disconnect', reasonCode: 0 });
    await first.persistence!.commit();
    first.close();
    const second = coreWithUsers({}, new Core({ clock: new FakeClock(), store }));
    await second.start();
    assert.deepEqual((await new AdminApi(second).session('alice-dev'))?.owner, {
      username: 'alice',
    });
    const bob = await connectAs(second, 'alice-dev', 'bob', persistent);
    assert.equal(bob.connack.reasonCode, 0x85);
    const back = await connectAs(second, 'alice-dev', 'alice', persistent);
    assert.equal(back.connack.sessionPresent, true);
  });

  it('a stored session without an owner (older store) is bound by the first client to resume it', async () => {
    const store = new MemoryStore();
    await store.open();
    store.putSession('legacy', 3600, Date.now() + 3_600_000);
    await store.commit();
    const core = coreWithUsers({}, new Core({ clock: new FakeClock(), store }));
    await core.start();
    assert.equal((await new AdminApi(core).session('legacy'))?.owner, null, 'not bound');
    const bob = await connectAs(core, 'legacy', 'bob', persistent);
    assert.equal(bob.connack.sessionPresent, true);
    assert.deepEqual((await store.load()).sessions[0].owner, { username: 'bob' });
    bob.client.send({ type: 'disconnect', reasonCode: 0 });
    assert.equal((await connectAs(core, 'legacy', 'alice', persistent)).connack.reasonCode, 0x85);
  });
});
