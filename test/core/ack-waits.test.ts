/**
 * Per-publish waits of acknowledgements (src/core/ack-waits.ts): a subscriber that is not a
 * session (here a target the test implements, as a cluster's stand-in for a session moving
 * in does) makes the PUBACK/PUBREC of the client's publish it gets wait for a promise of its
 * own. Only that acknowledgement waits, and those after it on the same connection (the order
 * of acknowledgements [MQTT-4.6.0-2] [MQTT-4.6.0-3]); another connection's do not, nor the
 * store's commits. A wait that rejects refuses the publish as a failed store write does: v5
 * 0x97, v3 a closed connection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BrokerCore,
  type Delivery,
  type Subscriber,
  subscriptionFromStored,
} from '../../src/core/index.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/index.js';
import { ReasonCode } from '../../src/protocol/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { FakeClient, flush, publish } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A subscriber that makes the acknowledgement of each publish it gets wait for `gate`. */
class HoldingTarget implements Subscriber {
  readonly subscriberId = '\u0000holding';
  readonly online = false;
  matchStamp = 0;
  matchQos = 0;
  matchRetainAsPublished = false;
  matchSubscriptionIds: number[] | undefined = undefined;
  /** What `hold` answered, per delivery. */
  readonly held: boolean[] = [];
  release!: () => void;
  fail!: (err: Error) => void;
  readonly gate = new Promise<void>((resolve, reject) => {
    this.release = resolve;
    this.fail = reject;
  });

  constructor(private readonly core: BrokerCore) {
    this.gate.catch(() => {});
  }

  deliver(_delivery: Delivery): void {
    this.held.push(this.core.pipeline.ackWaits.hold(this.gate));
  }
}

/** A memory store whose commits wait, while {@link hold} stands, until {@link release}. */
class GatedStore extends MemoryStore {
  private gate: Promise<void> | undefined;
  private opener: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise<void>((resolve) => {
      this.opener = resolve;
    });
  }

  release(): void {
    this.gate = undefined;
    this.opener?.();
  }

  override commit(): Promise<void> {
    const gate = this.gate;
    return gate === undefined ? super.commit() : gate.then(() => super.commit());
  }
}

async function setup(): Promise<{ core: BrokerCore; target: HoldingTarget }> {
  const core = new BrokerCore({ clock: new FakeClock(), store: new MemoryStore() });
  await core.start();
  const target = new HoldingTarget(core);
  core.router.add(
    subscriptionFromStored(target, {
      filter: 'held/#',
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    }),
  );
  return { core, target };
}

function client(core: BrokerCore, clientId: string, version: ProtocolVersion = 5): FakeClient {
  const c = new FakeClient(core, version);
  c.connect({ clientId });
  assert.equal(c.take()[0]?.type, 'connack');
  return c;
}

/** The acknowledgements among `packets`, as `type id code`. */
function acks(packets: Packet[]): string[] {
  return packets.flatMap((p) =>
    p.type === 'puback' || p.type === 'pubrec'
      ? [`${p.type} ${p.packetId} ${p.reasonCode ?? '-'}`]
      : [],
  );
}

describe('core: per-publish waits of acknowledgements', () => {
  it('[MQTT-4.6.0-2] holds the PUBACK of the publish the subscriber got, and the later ones of its connection only', async () => {
    const { core, target } = await setup();
    const held = client(core, 'held-pub');
    const other = client(core, 'other-pub');
    publish(held, { topic: 'held/a', qos: 1, packetId: 1 });
    publish(held, { topic: 'free', qos: 1, packetId: 2 }); // matches nothing: behind it
    publish(other, { topic: 'free', qos: 1, packetId: 1 });
    publish(other, { topic: 'free', qos: 2, packetId: 2 });
    await flush();
    assert.deepEqual(target.held, [true]);
    assert.deepEqual(acks(other.take()), ['puback 1 16', 'pubrec 2 16'], 'not held');
    assert.deepEqual(acks(held.take()), [], 'held until the subscriber says');
    target.release();
    await flush();
    assert.deepEqual(acks(held.take()), ['puback 1 0', 'puback 2 16'], 'in order');
  });

  it('holds it when an async hook routes the message after another publish was routed', async () => {
    const { core, target } = await setup();
    let allow!: () => void;
    const allowed = new Promise<void>((resolve) => {
      allow = resolve;
    });
    core.addHook({
      authorizePublish: async (): Promise<'allow'> => {
        await allowed;
        return 'allow';
      },
    });
    const held = client(core, 'held-pub');
    const other = client(core, 'other-pub');
    publish(held, { topic: 'held/a', qos: 1, packetId: 1 });
    publish(other, { topic: 'free', qos: 1, packetId: 1 });
    allow();
    await flush();
    assert.deepEqual(acks(other.take()), ['puback 1 16']);
    assert.deepEqual(acks(held.take()), []);
    target.release();
    await flush();
    assert.deepEqual(acks(held.take()), ['puback 1 0']);
  });

  it('refuses the publish when the wait fails: v5 PUBACK/PUBREC 0x97, and a QoS 2 resend is routed again', async () => {
    const { core, target } = await setup();
    const pub = client(core, 'pub');
    publish(pub, { topic: 'held/a', qos: 1, packetId: 1 });
    publish(pub, { topic: 'held/b', qos: 2, packetId: 2 });
    target.fail(new Error('the session moving in could not be read'));
    await flush();
    assert.deepEqual(acks(pub.take()), [
      `puback 1 ${ReasonCode.QuotaExceeded}`,
      `pubrec 2 ${ReasonCode.QuotaExceeded}`,
    ]);
    publish(pub, { topic: 'held/b', qos: 2, packetId: 2, dup: true });
    assert.equal(target.held.length, 3, '[MQTT-4.3.3-9] the refused id was not kept');
  });

  it('closes a 3.1.1 connection when the wait fails (no reason code to say it)', async () => {
    const { core, target } = await setup();
    const pub = client(core, 'pub', 4);
    publish(pub, { topic: 'held/a', qos: 1, packetId: 1 });
    target.fail(new Error('the session moving in could not be read'));
    await flush();
    assert.deepEqual(acks(pub.take()), []);
    assert.equal(pub.ended, true);
  });

  it('[MQTT-4.3.3-9] holds the PUBREC of a QoS 2 PUBLISH resent after a reconnect as long as the first one’s', async () => {
    const { core, target } = await setup();
    const persistent = { clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = new FakeClient(core, 5);
    first.connect({ clientId: 'pub', ...persistent });
    first.take();
    publish(first, { topic: 'held/b', qos: 2, packetId: 7 });
    await flush();
    assert.deepEqual(acks(first.take()), [], 'the first PUBREC waits');
    // The client gives up on the connection and comes back at once, resending (DUP).
    const again = new FakeClient(core, 5);
    again.connect({ clientId: 'pub', ...persistent });
    const [connack] = again.take();
    assert.ok(connack?.type === 'connack' && connack.sessionPresent, 'session resumed');
    publish(again, { topic: 'held/b', qos: 2, packetId: 7, dup: true });
    await flush();
    assert.equal(target.held.length, 1, 'not routed again');
    assert.deepEqual(
      acks(again.take()),
      [],
      'the resend’s PUBREC waits for what the first waits for',
    );
    target.release();
    await flush();
    assert.deepEqual(acks(again.take()), ['pubrec 7 0']);
  });

  it('[MQTT-4.3.3-9] sends the PUBREC of a resent QoS 2 PUBLISH only once the store committed the first one’s writes', async () => {
    const store = new GatedStore();
    const core = new BrokerCore({ clock: new FakeClock(), store });
    await core.start();
    const persistent = { clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = new FakeClient(core, 5);
    first.connect({ clientId: 'pub', ...persistent });
    await flush();
    first.take();
    store.hold();
    publish(first, { topic: 'nobody/listens', qos: 2, packetId: 9 });
    await flush();
    assert.deepEqual(acks(first.take()), [], 'the first PUBREC waits for the commit');
    publish(first, { topic: 'nobody/listens', qos: 2, packetId: 9, dup: true });
    await flush();
    assert.deepEqual(acks(first.take()), [], 'so does the resend’s, behind it');
    store.release();
    await flush();
    assert.deepEqual(acks(first.take()), ['pubrec 9 16', 'pubrec 9 0']);
  });

  it('[MQTT-4.3.3-9] fails the PUBREC of a QoS 2 resend with the first one’s when the wait fails (0x97 both)', async () => {
    const { core, target } = await setup();
    const pub = client(core, 'pub');
    publish(pub, { topic: 'held/b', qos: 2, packetId: 3 });
    publish(pub, { topic: 'held/b', qos: 2, packetId: 3, dup: true });
    await flush();
    assert.deepEqual(acks(pub.take()), [], 'both wait');
    target.fail(new Error('the session moving in could not be read'));
    await flush();
    const refused = `pubrec 3 ${ReasonCode.QuotaExceeded}`;
    assert.deepEqual(acks(pub.take()), [refused, refused], 'not a success for the resend');
    assert.equal(target.held.length, 1, 'routed once');
  });

  it('holds nothing for a message no client publish waits for (the host application’s)', async () => {
    const { core, target } = await setup();
    await core.publishFromHost({ topic: 'held/host', payload: 'h', qos: 1 });
    assert.deepEqual(target.held, [false]);
  });
});
