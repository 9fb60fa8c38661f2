/**
 * Full disk, faked in process with SQLite's max_page_count: QoS 1/2 publishes that need the
 * store are refused with v5 0x97 (Quota exceeded) while QoS 0 keeps flowing; once there is
 * room again QoS 1 is accepted again.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { createBroker } from '../../src/index.js';
import { SqliteStore } from '../../src/storage/index.js';
import { connectClient, nextMessages } from '../helpers/broker.js';
import { sleep, tempDir } from './harness.js';

const clients: MqttClient[] = [];
after(() => {
  for (const c of clients) c.end(true);
});

/** Publishes and resolves with the reason code of the acknowledgement (0 when absent). */
function publishCode(
  client: MqttClient,
  topic: string,
  payload: Buffer,
  qos: 1 | 2,
): Promise<number> {
  return new Promise((resolve, reject) => {
    client.publish(topic, payload, { qos }, (err, packet) => {
      // MQTT.js reports a failure reason code as an error carrying the code.
      const acked = (packet as { reasonCode?: number } | undefined)?.reasonCode;
      const code = (err as { code?: number } | undefined)?.code ?? acked ?? 0;
      if (err && typeof (err as { code?: unknown }).code !== 'number') reject(err);
      else resolve(code);
    });
  });
}

describe('durability: full disk', () => {
  it('QoS 1/2 refused with 0x97 while QoS 0 flows; accepted again once there is room', async () => {
    const store = new SqliteStore({ dataDir: tempDir() });
    const broker = createBroker({ store });
    const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
    const url = `mqtt://127.0.0.1:${port}`;
    try {
      // A persistent subscriber offline: every QoS 1/2 message for it must be stored.
      const stored = await connectClient(url, {
        protocolVersion: 5,
        clientId: 'full-sub',
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      });
      await stored.subscribeAsync('f/#', { qos: 1 });
      await stored.endAsync();
      const live = await connectClient(url, { protocolVersion: 5, clientId: 'full-live' });
      await live.subscribeAsync('f/#', { qos: 0 });
      const pub = await connectClient(url, { protocolVersion: 5, clientId: 'full-pub' });
      clients.push(live, pub);
      const big = Buffer.alloc(256 * 1024, 1);
      assert.equal(await publishCode(pub, 'f/1', Buffer.from('fits'), 1), 0);

      const db = store.database;
      const pages = db.pragma('page_count', { simple: true }) as number;
      db.pragma(`max_page_count = ${pages}`);
      assert.equal(await publishCode(pub, 'f/1', big, 1), 0x97, 'no room: refused');
      assert.equal(store.full, true);
      assert.equal(await publishCode(pub, 'f/1', Buffer.from('q1'), 1), 0x97);
      assert.equal(await publishCode(pub, 'f/1', Buffer.from('q2'), 2), 0x97);
      const got = nextMessages(live, 1);
      pub.publish('f/1', 'qos0', { qos: 0 });
      assert.equal((await got)[0].payload.toString(), 'qos0', 'QoS 0 still flows');

      await sleep(1100); // past the probe interval: the probe itself finds no room
      assert.equal(await publishCode(pub, 'f/1', Buffer.from('still'), 1), 0x97, 'still full');

      db.pragma('max_page_count = 1073741823');
      // The store probes for space (at most once a second) when asked while full: a
      // publisher retrying is accepted again (bounded: 50 tries, 200 ms apart).
      let code = 0x97;
      for (let i = 0; i < 50 && code === 0x97; i++) {
        await sleep(200);
        code = await publishCode(pub, 'f/1', Buffer.from(`after-${i}`), 1);
      }
      assert.equal(code, 0, 'accepted again once there is room');
      assert.equal(store.full, false);
    } finally {
      for (const c of clients) c.end(true);
      await broker.close();
    }
  });
});
