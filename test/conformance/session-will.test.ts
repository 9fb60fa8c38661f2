/**
 * Conformance over TCP: sessions, wills and keep alive, in MQTT 3.1.1 and 5.0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConnectPacket, Will } from '../../src/protocol/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker } from '../helpers/broker.js';
import { hex, RawClient } from '../helpers/raw-client.js';
import { connectRaw, gone, publishesUntil, publishPacket, settle, sub, subscribe } from './wire.js';

const SENTINEL = 'sentinel/session-will';

function will(topic: string, fields: Partial<Will> = {}): Will {
  return { topic, payload: Buffer.from('gone'), qos: 0, retain: false, ...fields };
}

/** Fields that make a session outlive its connection in either version. */
function persistent(v: 4 | 5, expiry = 60): Partial<ConnectPacket> {
  return v === 5
    ? { clean: false, properties: { sessionExpiryInterval: expiry } }
    : { clean: false };
}

describe('conformance: sessions, wills and keep alive', () => {
  let tb: TestBroker;
  let sentinel: RawClient;
  before(async () => {
    tb = await startBroker();
    sentinel = await RawClient.connected(tb.port, 4, 'sentinel-publisher');
  });
  after(async () => {
    sentinel.destroy();
    await tb.close();
  });

  /** Everything `watcher` receives before a sentinel message published after now. */
  async function receivedBefore(watcher: RawClient) {
    sentinel.send(publishPacket(SENTINEL, 'end'));
    return publishesUntil(watcher, SENTINEL);
  }

  async function watcherOf(v: 4 | 5, id: string, filter: string): Promise<RawClient> {
    const watcher = await RawClient.connected(tb.port, v, id);
    await subscribe(watcher, [sub(filter, 1), sub(SENTINEL)]);
    await settle(watcher);
    watcher.received.length = 0; // retained messages of earlier tests
    return watcher;
  }

  it('[MQTT-3.1.2-4] [MQTT-3.1.4-3] [MQTT-3.2.2-3] [MQTT-3.1.3-2] (3.1.1) Clean Session 0 creates a session when there is none, keeps it after the disconnect and resumes it by client id', async () => {
    const first = await connectRaw(tb.port, 4, 'cs0-a', { clean: false });
    assert.equal(first.connack.sessionPresent, false, 'no session yet');
    await subscribe(first.client, [sub('cs0/t', 1)]);
    first.client.destroy();
    await gone(tb, 'cs0-a');
    const other = await connectRaw(tb.port, 4, 'cs0-b', { clean: false });
    assert.equal(other.connack.sessionPresent, false, 'another client id has its own state');
    other.client.destroy();
    const again = await connectRaw(tb.port, 4, 'cs0-a', { clean: false });
    assert.equal(again.connack.sessionPresent, true);
    sentinel.send(publishPacket('cs0/t', 'kept', 1));
    assert.equal((await again.client.next('publish')).payload.toString(), 'kept');
    again.client.destroy();
  });

  it('[MQTT-3.1.2-6] [MQTT-3.1.2-5] [MQTT-3.1.3-2] (5.0) Clean Start 0 without a session creates one; with it, resumes its subscriptions', async () => {
    const first = await connectRaw(tb.port, 5, 'cs0-5', persistent(5));
    assert.equal(first.connack.sessionPresent, false);
    await subscribe(first.client, [sub('cs0-5/t', 1)]);
    first.client.destroy();
    await gone(tb, 'cs0-5');
    const again = await connectRaw(tb.port, 5, 'cs0-5', persistent(5));
    assert.equal(again.connack.sessionPresent, true);
    sentinel.send(publishPacket('cs0-5/t', 'kept', 1));
    assert.equal((await again.client.next('publish')).payload.toString(), 'kept');
    again.client.destroy();
  });

  for (const v of [4, 5] as const) {
    it(`[MQTT-3.1.2-6] [MQTT-3.1.4-3] [MQTT-4.1.0-2] (3.1.1) [MQTT-3.1.2-4] [MQTT-3.1.4-4] (5.0) a clean start discards the stored session, and the new one ends with its connection (v${v})`, async () => {
      const id = `clean-${v}`;
      const stored = await RawClient.connected(tb.port, v, id, persistent(v));
      await subscribe(stored, [sub(`clean/${v}`, 1)]);
      stored.destroy();
      await gone(tb, id);
      const clean = await connectRaw(tb.port, v, id, { clean: true });
      assert.equal(clean.connack.sessionPresent, false);
      await subscribe(clean.client, [sub(SENTINEL)]);
      sentinel.send(publishPacket(`clean/${v}`, 'old subscription', 1));
      assert.deepEqual(await receivedBefore(clean.client), [], 'the old subscription is gone');
      clean.client.destroy();
      await gone(tb, id);
      const later = await connectRaw(tb.port, v, id, persistent(v));
      assert.equal(later.connack.sessionPresent, false, 'the clean session ended');
      later.client.destroy();
    });

    it(`[MQTT-3.1.2-16] (3.1.1) [MQTT-3.1.2-14] (5.0) a will with Will Retain 0 is published as a non-retained message (v${v})`, async () => {
      const watcher = await watcherOf(v, `w-plain-${v}`, `will-plain/${v}`);
      const dying = await RawClient.connected(tb.port, v, `dying-plain-${v}`, {
        will: will(`will-plain/${v}`, { qos: 1 }),
      });
      dying.destroy();
      const got = await watcher.next('publish');
      assert.equal(got.topic, `will-plain/${v}`);
      assert.equal(got.retain, false);
      const late = await RawClient.connected(tb.port, v, `late-plain-${v}`);
      await subscribe(late, [sub(`will-plain/${v}`)]);
      await settle(late);
      assert.deepEqual(late.received, [], 'nothing retained');
      late.destroy();
      watcher.destroy();
    });

    it(`[MQTT-3.1.2-10] the will is gone once published: the next connection of the session publishes none (v${v})`, async () => {
      const watcher = await watcherOf(v, `w-once-${v}`, `will-once/${v}`);
      const id = `dying-once-${v}`;
      const dying = await RawClient.connected(tb.port, v, id, {
        ...persistent(v),
        will: will(`will-once/${v}`),
      });
      dying.destroy();
      assert.equal((await watcher.next('publish')).topic, `will-once/${v}`);
      await gone(tb, id);
      const again = await RawClient.connected(tb.port, v, id, persistent(v));
      again.destroy();
      await gone(tb, id);
      assert.deepEqual(await receivedBefore(watcher), []);
      watcher.destroy();
    });

    it(`[MQTT-3.14.1-1] a DISCONNECT with a reserved flag set closes the connection as malformed, and the will is published (v${v})`, async () => {
      const watcher = await watcherOf(v, `w-badflags-${v}`, `will-badflags/${v}`);
      const client = await RawClient.connected(tb.port, v, `badflags-${v}`, {
        will: will(`will-badflags/${v}`),
      });
      client.write(hex('e1 00'));
      await client.waitClose();
      if (v === 5) {
        const [disconnect] = client.received;
        assert.ok(disconnect?.type === 'disconnect', 'v5: DISCONNECT first');
        assert.equal(disconnect.reasonCode, 0x81);
      } else assert.deepEqual(client.received, []);
      assert.equal((await watcher.next('publish')).topic, `will-badflags/${v}`);
      watcher.destroy();
    });

    it(`[MQTT-3.1.2-24] (3.1.1) [MQTT-3.1.2-22] [MQTT-3.2.2-22] (5.0) keep alive 1 and silence: the server closes as if the network failed, and the will is published (v${v})`, async () => {
      const watcher = await watcherOf(v, `w-keepalive-${v}`, `will-keepalive/${v}`);
      const { client, connack } = await connectRaw(tb.port, v, `keepalive-${v}`, {
        keepAlive: 1,
        will: will(`will-keepalive/${v}`),
      });
      assert.equal(connack.properties?.serverKeepAlive, undefined, 'the client value stands');
      await client.waitClose(5000);
      assert.equal((await watcher.next('publish')).topic, `will-keepalive/${v}`);
      watcher.destroy();
    });

    it(`[MQTT-3.12.4-1] every PINGREQ gets a PINGRESP (v${v})`, async () => {
      const client = await RawClient.connected(tb.port, v, `ping-${v}`);
      for (let i = 0; i < 3; i++) client.send({ type: 'pingreq' });
      await client.until(() => client.received.length === 3, 5000, 'three PINGRESP');
      assert.deepEqual(
        client.received.map((p) => p.type),
        ['pingresp', 'pingresp', 'pingresp'],
      );
      client.destroy();
    });
  }

  it('[MQTT-3.1.2-7] (3.1.1) retained messages outlive the session that published them', async () => {
    const pub = await RawClient.connected(tb.port, 4, 'retain-owner', { clean: true });
    pub.send(publishPacket('outlive/t', 'still here', 1, { retain: true }));
    await pub.next('puback');
    pub.destroy();
    await gone(tb, 'retain-owner');
    const later = await RawClient.connected(tb.port, 4, 'retain-reader');
    await subscribe(later, [sub('outlive/t')]);
    assert.equal((await later.next('publish')).payload.toString(), 'still here');
    later.destroy();
  });

  it('[MQTT-3.1.2-12] (3.1.1) without the Will Flag nothing is published when the connection ends', async () => {
    const watcher = await watcherOf(4, 'w-nowill', '#');
    const client = await RawClient.connected(tb.port, 4, 'no-will');
    client.destroy();
    await gone(tb, 'no-will');
    assert.deepEqual(await receivedBefore(watcher), []);
    watcher.destroy();
  });

  it('[MQTT-3.14.4-3] [MQTT-3.1.2-10] (3.1.1) DISCONNECT discards the will', async () => {
    const watcher = await watcherOf(4, 'w-polite', 'will-polite/t');
    const client = await RawClient.connected(tb.port, 4, 'polite', { will: will('will-polite/t') });
    client.send({ type: 'disconnect' });
    await client.waitClose();
    await gone(tb, 'polite');
    assert.deepEqual(await receivedBefore(watcher), []);
    watcher.destroy();
  });

  it('[MQTT-3.1.2-15] (5.0) a will with Will Retain 1 is published as a retained message', async () => {
    const dying = await RawClient.connected(tb.port, 5, 'dying-retained-5', {
      will: will('will-retained/5', { retain: true }),
    });
    dying.destroy();
    await gone(tb, 'dying-retained-5');
    const later = await RawClient.connected(tb.port, 5, 'late-retained-5');
    await subscribe(later, [sub('will-retained/5')]);
    const got = await later.next('publish');
    assert.equal(got.payload.toString(), 'gone');
    assert.equal(got.retain, true);
    later.destroy();
  });

  it('[MQTT-3.1.2-7] [MQTT-3.1.2-8] (5.0) a will with a delay stays with the session after the close and is published when the session ends', async () => {
    const watcher = await watcherOf(5, 'w-delayed-5', 'will-delayed/5');
    const dying = await RawClient.connected(tb.port, 5, 'dying-delayed-5', {
      ...persistent(5, 1),
      will: will('will-delayed/5', { properties: { willDelayInterval: 60 } }),
    });
    dying.destroy();
    await gone(tb, 'dying-delayed-5');
    assert.deepEqual(await receivedBefore(watcher), [], 'held while the session lives');
    const got = await watcher.next('publish', 5000);
    assert.equal(got.topic, 'will-delayed/5', 'published once the 1 s session expiry passed');
    watcher.destroy();
  });

  it('[MQTT-3.1.3-10] (5.0) the will keeps the order of its User Properties', async () => {
    const userProperties: [string, string][] = [
      ['z', '1'],
      ['a', '2'],
      ['z', '3'],
      ['m', '4'],
    ];
    const watcher = await watcherOf(5, 'w-props-5', 'will-props/5');
    const dying = await RawClient.connected(tb.port, 5, 'dying-props-5', {
      will: will('will-props/5', { properties: { userProperties } }),
    });
    dying.destroy();
    const got = await watcher.next('publish');
    assert.deepEqual(got.properties?.userProperties, userProperties);
    watcher.destroy();
  });

  it('[MQTT-4.1.0-1] [MQTT-4.1.0-2] (5.0) a session is kept while connected, past its expiry interval, and discarded once the interval passes after the close', async () => {
    const client = await RawClient.connected(tb.port, 5, 'expiring-5', persistent(5, 1));
    await subscribe(client, [sub('expiring/t', 1)]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    sentinel.send(publishPacket('expiring/t', 'still subscribed', 1));
    assert.equal((await client.next('publish')).payload.toString(), 'still subscribed');
    client.destroy();
    await gone(tb, 'expiring-5');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const again = await connectRaw(tb.port, 5, 'expiring-5', persistent(5, 1));
    assert.equal(again.connack.sessionPresent, false);
    again.client.destroy();
  });
});
