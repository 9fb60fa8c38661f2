/**
 * Helpers shared by the transport tests: a broker that records who connected, and
 * assertions that a connection is refused.
 */
import mqtt, { type IClientOptions } from 'mqtt';
import type { ClientInfo } from '../../src/core/index.js';
import { type Broker, createBroker } from '../../src/index.js';
import { connectClient, endClient, nextMessages } from '../helpers/broker.js';

/** A broker whose hook records the ClientInfo of every CONNECT it authenticates. */
export function recordingBroker(): { broker: Broker; seen: ClientInfo[] } {
  const broker = createBroker();
  const seen: ClientInfo[] = [];
  broker.addHook({
    name: 'record',
    authenticate: (request) => {
      seen.push(request.client);
      return 'allow';
    },
  });
  return { broker, seen };
}

/**
 * Connects MQTT.js and resolves with the error (or 'closed') that ends the attempt;
 * rejects if a CONNACK arrives. Bounded by a timer.
 */
export function expectRefused(url: string, options: IClientOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 4000, ...options });
    const timer = setTimeout(() => finish(undefined, 'no error and no close'), 6000);
    const onConnect = (): void => finish(undefined, 'connection was accepted');
    const onError = (err: Error): void =>
      finish(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`);
    const onClose = (): void => finish('closed');
    const finish = (outcome: string | undefined, failure?: string): void => {
      clearTimeout(timer);
      // Only this helper's listeners: MQTT.js clears its own timers in its listeners.
      client.off('connect', onConnect).off('error', onError).off('close', onClose);
      client.on('error', () => {});
      client.end(true);
      if (outcome === undefined) reject(new Error(failure));
      else resolve(outcome);
    };
    client.on('connect', onConnect).on('error', onError).on('close', onClose);
  });
}

/** Subscribes with one client, publishes with another, and returns what arrived. */
export async function roundTrip(
  url: string,
  options: IClientOptions,
  topic = 'transport/test',
): Promise<string> {
  const sub = await connectClient(url, options);
  const pub = await connectClient(url, options);
  try {
    await sub.subscribeAsync(topic, { qos: 1 });
    const got = nextMessages(sub, 1);
    await pub.publishAsync(topic, `hello over ${url.split(':')[0]}`, { qos: 1 });
    const [message] = await got;
    return message?.payload.toString() ?? '';
  } finally {
    await Promise.all([endClient(sub), endClient(pub)]);
  }
}
