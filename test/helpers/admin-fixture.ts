/**
 * What the tests of the read API (test/integration/admin-*.test.ts) share: a broker with the
 * test store, MQTT.js and raw clients closed after each test, paging through every page, and
 * the check that results are plain JSON data.
 */
import assert from 'node:assert/strict';
import { afterEach } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { BrokerOptions, Page } from '../../src/index.js';
import type { QoS, SubscriptionRequest } from '../../src/protocol/index.js';
import { connectClient, endClient, startBroker, type TestBroker } from './broker.js';
import { RawClient } from './raw-client.js';

/** A broker per test and the clients it opened, closed after each test (call in a file). */
export function adminFixture() {
  let tb: TestBroker | undefined;
  const mqttClients: MqttClient[] = [];
  const raws: RawClient[] = [];
  afterEach(async () => {
    for (const client of mqttClients.splice(0)) await endClient(client, true);
    for (const raw of raws.splice(0)) raw.destroy();
    await tb?.close();
    tb = undefined;
  });
  return {
    /** Starts the test's broker (with the store PIPIT_TEST_STORE names). */
    async broker(options: BrokerOptions = {}): Promise<TestBroker> {
      tb = await startBroker(options);
      return tb;
    },
    /** An MQTT.js client, closed after the test. */
    async mqtt(url: string, options: Parameters<typeof connectClient>[1]): Promise<MqttClient> {
      const client = await connectClient(url, options);
      mqttClients.push(client);
      return client;
    },
    /** A raw client past CONNACK 0x00, closed after the test. */
    async raw(
      port: number,
      clientId: string,
      fields: Parameters<typeof RawClient.connected>[3] = {},
      version: 3 | 4 | 5 = 4,
    ): Promise<RawClient> {
      const client = await RawClient.connected(port, version, clientId, fields);
      raws.push(client);
      return client;
    },
    /** Closes `client` after the test. */
    track(client: RawClient): RawClient {
      raws.push(client);
      return client;
    },
  };
}

/** Subscribes a raw client and waits for the SUBACK. */
export async function subscribeRaw(
  client: RawClient,
  filter: string,
  qos: QoS,
  options: Partial<SubscriptionRequest> = {},
  subscriptionId?: number,
): Promise<void> {
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      { filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...options },
    ],
    properties:
      subscriptionId === undefined ? undefined : { subscriptionIdentifiers: [subscriptionId] },
  });
  await client.next('suback');
}

/** Every item of a paged list, following the cursors; also how many pages it took. */
export async function allPages<T>(
  fetch: (cursor: string | undefined) => Promise<Page<T>>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await fetch(cursor);
    pages++;
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return { items, pages };
}

/** Results are plain data: JSON keeps every field as it is. */
export function assertPlainJson(value: unknown): void {
  assert.deepEqual(JSON.parse(JSON.stringify(value)), value);
}
