/**
 * The attacks of the memory-budget hostile-load cases (issue #16 items 2 and 3), over raw
 * sockets: retained messages with huge topics, many persistent sessions with queued
 * messages, many client ids with many subscriptions. Each is paced like a client that waits
 * for its acknowledgements, so what grows is the broker's state, not its socket buffers.
 * Not a test file.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { COSTS } from '../../../src/core/memory-budget.js';
import type { ConnectPacket, Packet, ProtocolVersion } from '../../../src/protocol/index.js';
import { connectBytes, RawClient } from '../../helpers/raw-client.js';
import { assertServed, LoadBroker, sleep } from './harness.js';

/** The topic size of the huge-topic attacks. */
export const TOPIC_BYTES = 65_000;
/** What one retained message with a 65,000-byte topic and a 1-byte payload is charged. */
export const HUGE_RETAINED_COST = COSTS.retained + TOPIC_BYTES + 1;

/**
 * A `start` for one test file: every broker it starts is stopped after the file, and its data
 * directory removed (the stores of these cases reach hundreds of MB).
 */
export function brokerStarter(): (
  options: Parameters<typeof LoadBroker.start>[0],
) => Promise<LoadBroker> {
  const running: LoadBroker[] = [];
  after(async () => {
    for (const broker of running) {
      await broker.stop().catch(() => {});
      rmSync(broker.dataDir, { recursive: true, force: true });
    }
  });
  return async (options) => {
    const broker = await LoadBroker.start(options);
    running.push(broker);
    return broker;
  };
}

/** What the broker answered to the requests of an attack. */
export interface Answers {
  /** CONNACK return/reason codes by value (0 = accepted). */
  connack: Map<number, number>;
  /** SUBACK codes by value (granted QoS, or 0x80/0x97 refusals). */
  suback: Map<number, number>;
}

function emptyAnswers(): Answers {
  return { connack: new Map(), suback: new Map() };
}

function count(map: Map<number, number>, code: number, n = 1): void {
  map.set(code, (map.get(code) ?? 0) + n);
}

/** Opens a connection and sends CONNECT; resolves with the client and its CONNACK code. */
async function connectAs(
  port: number,
  version: ProtocolVersion,
  clientId: string,
  fields: Partial<ConnectPacket>,
  localAddress?: string,
): Promise<{ client: RawClient; code: number }> {
  const client = await RawClient.openFrom(port, version, localAddress);
  client.write(connectBytes(version, clientId, fields));
  const connack = await client.next('connack', 10_000);
  return { client, code: connack.reasonCode };
}

/**
 * Publishes `total` retained messages whose topics are `topicBytes` long (1-byte payloads),
 * QoS 1, `window` at a time. Resolves with the number of PUBACKs.
 */
export async function retainHugeTopics(
  port: number,
  total: number,
  topicBytes: number,
  window = 20,
): Promise<number> {
  const { client } = await connectAs(port, 4, 'huge-topics', {});
  let acked = 0;
  try {
    for (let sent = 0; sent < total; ) {
      const batch = Math.min(window, total - sent);
      for (let i = 0; i < batch; i++, sent++) {
        const prefix = `bob/${sent}/`;
        client.send({
          type: 'publish',
          topic: prefix + 'x'.repeat(topicBytes - prefix.length),
          payload: Buffer.from('1'),
          qos: 1,
          packetId: (sent % 60_000) + 1,
          retain: true,
          dup: false,
        });
      }
      for (let i = 0; i < batch; i++) {
        await client.next('puback', 30_000);
        acked++;
      }
    }
  } finally {
    client.destroy();
  }
  return acked;
}

/**
 * Creates `total` persistent sessions (MQTT 3.1.1, Clean Session 0) named `<prefix><i>`,
 * each subscribing to `filters` (one SUBSCRIBE of up to 100 filters at a time), then going
 * offline. `parallel` connections at a time. Resolves with the answers.
 */
export async function persistentSubscribers(
  port: number,
  prefix: string,
  total: number,
  filters: (i: number) => string[],
  parallel = 16,
): Promise<Answers> {
  const answers = emptyAnswers();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const { client, code } = await connectAs(port, 4, `${prefix}${i}`, { clean: false });
      count(answers.connack, code);
      try {
        if (code !== 0) continue;
        const all = filters(i);
        for (let start = 0, id = 1; start < all.length; start += 100, id++) {
          const chunk = all.slice(start, start + 100);
          client.send({
            type: 'subscribe',
            packetId: id,
            subscriptions: chunk.map((filter) => ({
              filter,
              qos: 1 as const,
              noLocal: false,
              retainAsPublished: false,
              retainHandling: 0 as const,
            })),
          });
          const suback = await client.next('suback', 30_000);
          for (const c of suback.reasonCodes) count(answers.suback, c);
        }
        client.send({ type: 'disconnect' });
        await client.waitClose(10_000).catch(() => {});
      } finally {
        client.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return answers;
}

/** Publishes `total` QoS 1 messages of `payloadBytes` to `topic`, `window` at a time. */
export async function publishPaced(
  port: number,
  topic: string,
  total: number,
  payloadBytes: number,
  window = 20,
): Promise<void> {
  const { client } = await connectAs(port, 4, `publisher-${topic}`, {});
  const payload = Buffer.alloc(payloadBytes, 0x61);
  try {
    for (let sent = 0; sent < total; ) {
      const batch = Math.min(window, total - sent);
      for (let i = 0; i < batch; i++, sent++) {
        client.send({
          type: 'publish',
          topic,
          payload,
          qos: 1,
          packetId: (sent % 60_000) + 1,
          retain: false,
          dup: false,
        });
      }
      for (let i = 0; i < batch; i++) await client.next('puback', 60_000);
    }
  } finally {
    client.destroy();
  }
}

/**
 * Runs `attack` and, while it runs, proves again and again that a fresh client is served
 * within a second (harness `assertServed`). Rejects if a check fails or if the attack ended
 * before one check could complete during it. Resolves with the attack's result.
 */
export async function servedDuring<T>(
  broker: LoadBroker,
  tag: string,
  attack: Promise<T>,
): Promise<{ result: T; checks: number }> {
  let done = false;
  const settled = attack.finally(() => {
    done = true;
  });
  let checks = 0;
  let failure: unknown;
  const checking = (async () => {
    while (!done) {
      try {
        await assertServed(broker, `${tag}-during-${checks}`);
      } catch (err) {
        failure = err;
        return;
      }
      if (!done) checks++;
      await sleep(200);
    }
  })();
  const result = await settled;
  await checking;
  if (failure !== undefined) throw failure;
  if (checks === 0) throw new Error(`${tag}: the attack ended before a served check completed`);
  return { result, checks };
}

/**
 * Subscribes a fresh client to `filter` at QoS 1 and counts the retained messages it is
 * sent, acknowledging each; waits for `expected` of them, then makes sure no more follow.
 */
export async function retainedCount(
  port: number,
  filter: string,
  expected: number,
): Promise<number> {
  const { client } = await connectAs(port, 4, 'retained-counter', {});
  try {
    client.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await client.next('suback', 10_000);
    let got = 0;
    while (got < expected) {
      const message = await client.next('publish', 30_000);
      got++;
      if (message.packetId !== undefined)
        client.send({ type: 'puback', packetId: message.packetId });
    }
    // Every retained message was sent with the SUBACK's window: one more would come before
    // the answer to a PINGREQ sent after the last acknowledgement.
    client.send({ type: 'pingreq' });
    await client.next('pingresp', 10_000);
    return got + client.received.filter((p: Packet) => p.type === 'publish').length;
  } finally {
    client.destroy();
  }
}

/** The JSON log lines of the broker containing `msg`. */
export function logLines(broker: LoadBroker, msg: string): Record<string, unknown>[] {
  return broker.proc.output
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Runs `step` with `--max-old-space-size=<mib>` in NODE_OPTIONS (a broker it spawns inherits it). */
export async function withHeapLimit<T>(mib: number, step: () => Promise<T>): Promise<T> {
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --max-old-space-size=${mib}`.trim();
  try {
    return await step();
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

/** Replaces the broker's configuration file (read again at its next restart). */
export function reconfigure(broker: LoadBroker, yaml: string): void {
  writeFileSync(join(broker.dataDir, 'pipit.yaml'), yaml);
}

export { connectAs };
