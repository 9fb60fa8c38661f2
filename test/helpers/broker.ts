/**
 * Test helpers: a real broker on a free loopback port, and MQTT.js clients for it.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Broker, BrokerOptions } from '../../src/index.js';
import { createBroker } from '../../src/index.js';
import { createTestStore } from './test-store.js';

/** A running broker and what a test needs to reach it. */
export interface TestBroker {
  broker: Broker;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts a broker on 127.0.0.1 with a free port. Unless `options` name a store or a
 * persistence kind, it gets the store PIPIT_TEST_STORE asks for (test-store.ts).
 */
export async function startBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const ownStore = options.store !== undefined || options.persistence !== undefined;
  const broker = createBroker(ownStore ? options : { ...options, store: createTestStore() });
  const address = await broker.listen({ port: 0, host: '127.0.0.1' });
  return {
    broker,
    port: address.port,
    url: `mqtt://127.0.0.1:${address.port}`,
    close: () => broker.close(),
  };
}

/** Connects MQTT.js and resolves once CONNACK arrived (rejects on error). No reconnects. */
export function connectClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    const onError = (err: Error): void => {
      client.end(true);
      reject(err);
    };
    client.once('error', onError);
    client.once('connect', () => {
      client.off('error', onError);
      resolve(client);
    });
  });
}

/** Resolves with the next `count` messages a client receives (topic, payload, packet). */
export function nextMessages(
  client: MqttClient,
  count: number,
  timeoutMs = 5000,
): Promise<{ topic: string; payload: Buffer; packet: mqtt.IPublishPacket }[]> {
  return new Promise((resolve, reject) => {
    const got: { topic: string; payload: Buffer; packet: mqtt.IPublishPacket }[] = [];
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`timed out waiting for ${count} messages, got ${got.length}`));
    }, timeoutMs);
    const onMessage = (topic: string, payload: Buffer, packet: mqtt.IPublishPacket): void => {
      got.push({ topic, payload, packet });
      if (got.length === count) {
        clearTimeout(timer);
        client.off('message', onMessage);
        resolve(got);
      }
    };
    client.on('message', onMessage);
  });
}

/** Collects every message for `ms` milliseconds (to assert that nothing arrives). */
export function collectFor(
  client: MqttClient,
  ms: number,
): Promise<{ topic: string; payload: Buffer }[]> {
  return new Promise((resolve) => {
    const got: { topic: string; payload: Buffer }[] = [];
    const onMessage = (topic: string, payload: Buffer): void => {
      got.push({ topic, payload });
    };
    client.on('message', onMessage);
    setTimeout(() => {
      client.off('message', onMessage);
      resolve(got);
    }, ms);
  });
}

/**
 * Collects every message until one arrives on `sentinelTopic` (not included). Messages of one
 * publisher reach a subscriber in order, so publishing the sentinel last proves that all the
 * earlier messages that were going to arrive have arrived, with no time window.
 */
export function collectUntil(
  client: MqttClient,
  sentinelTopic: string,
  timeoutMs = 10_000,
): Promise<{ topic: string; payload: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const got: { topic: string; payload: Buffer }[] = [];
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`timed out waiting for the sentinel ${sentinelTopic}`));
    }, timeoutMs);
    const onMessage = (topic: string, payload: Buffer): void => {
      if (topic !== sentinelTopic) {
        got.push({ topic, payload });
        return;
      }
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(got);
    };
    client.on('message', onMessage);
  });
}

/** Ends a client and waits for the socket to close. */
export function endClient(client: MqttClient, force = false): Promise<void> {
  return new Promise((resolve) => client.end(force, {}, () => resolve()));
}

/** Waits until `predicate` is true (polling; it may be async), failing after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
