/**
 * What `pipit pub` does: check every flag before connecting, connect, publish (once, N
 * times, or a line at a time with at most -M unacknowledged), disconnect.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type MqttClient, type PublishOptions } from '../client/index.js';
import { isMqttError } from '../protocol/errors.js';
import { ConnectionLostError, describeNetworkError, reportFailure } from './cli-errors.js';
import { type ConnectionFlags, checkTopicName, resolveConnection } from './client-flags.js';
import { debugTrace } from './debug-trace.js';
import { parseIntFlag, parseQos, parseSecondsFlag, UsageError } from './flag-values.js';
import { type PayloadFlags, type PayloadSource, payloadSource } from './pub-payloads.js';

/** `pub`'s flags as commander hands them over. */
export interface PubFlags extends ConnectionFlags, PayloadFlags {
  topic?: string;
  qos: string;
  retain?: boolean;
  repeat?: string;
  repeatDelay?: string;
  maxInflight: string;
}

interface PubPlan {
  topic: string;
  publish: PublishOptions;
  source: PayloadSource;
  repeat: number;
  repeatDelayMs: number;
}

function plan(f: PubFlags, urlTopic: string | undefined, alias: boolean): PubPlan {
  if (f.topic !== undefined && urlTopic !== undefined) {
    throw new UsageError('two topics: give it with -t or in the -L URL, not both');
  }
  const topic = f.topic ?? urlTopic;
  if (topic === undefined) throw new UsageError('no topic: give -t (or a topic in the -L URL)');
  checkTopicName('-t', topic, alias);
  const source = payloadSource(f, process.stdin);
  if (f.repeat !== undefined && source.kind === 'lines') {
    throw new UsageError('--repeat works with -m, -f, -s or -n, not with -l');
  }
  return {
    topic,
    publish: { qos: parseQos(f.qos), retain: f.retain === true },
    source,
    repeat: f.repeat === undefined ? 1 : parseIntFlag('--repeat', f.repeat, 1, 2 ** 31 - 1),
    repeatDelayMs:
      f.repeatDelay === undefined ? 0 : parseSecondsFlag('--repeat-delay', f.repeatDelay) * 1000,
  };
}

/** Publishes each line as it arrives, with at most `window` QoS 1/2 publishes unanswered. */
async function publishLines(client: MqttClient, p: PubPlan, window: number): Promise<void> {
  if (p.source.kind !== 'lines') return;
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  for await (const line of p.source.lines()) {
    if (failure !== undefined) break;
    const sent = client.publish(p.topic, line, p.publish).catch((err: unknown) => {
      failure ??= err;
    });
    if (p.publish.qos === 0) {
      await sent;
      continue;
    }
    const tracked = sent.finally(() => pending.delete(tracked));
    pending.add(tracked);
    if (pending.size >= window) await Promise.race(pending);
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
}

async function publishAll(client: MqttClient, p: PubPlan, payload: Buffer | undefined) {
  if (payload === undefined) return;
  for (let i = 0; i < p.repeat; i++) {
    if (i > 0 && p.repeatDelayMs > 0) await sleep(p.repeatDelayMs);
    await client.publish(p.topic, payload, p.publish);
  }
}

/** Runs `pub` with parsed flags; resolves with the exit code. */
export async function runPub(f: PubFlags): Promise<number> {
  let client: MqttClient | undefined;
  let quiet = f.quiet === true;
  try {
    const conn = resolveConnection(f, ['connect', 'publish', 'disconnect', 'will']);
    quiet = conn.quiet;
    const publishProps = conn.properties.publish;
    const p = plan(f, conn.urlTopic, publishProps?.topicAlias !== undefined);
    p.publish.properties = publishProps;
    const window = parseIntFlag('max inflight (-M)', f.maxInflight, 1, 65535);
    // Read a single payload first: a failing stdin or file should not cost a connection.
    const payload = p.source.kind === 'single' ? await p.source.read() : undefined;
    const options = { ...conn.options, maxInflight: window };
    if (conn.debug) options.trace = debugTrace(() => client);
    client = await connect(options, (c) => {
      client = c;
    }).catch((err: unknown) => {
      throw describeNetworkError(err, options);
    });
    await publishAll(client, p, payload);
    await publishLines(client, p, window);
    await client.end(0, conn.properties.disconnect);
    return 0;
  } catch (err) {
    // A plain error once the socket was open means the connection went away mid-way;
    // MQTT errors and the ones already told (TLS, usage) keep their own exit codes.
    const plain = err instanceof Error && err.name === 'Error' && !isMqttError(err);
    const lost = client !== undefined && !client.connected && plain;
    client?.destroy();
    if (!lost) return reportFailure(err, quiet);
    const why = (err as Error).message;
    const text = why === 'connection closed' ? 'the broker closed the connection' : why;
    return reportFailure(new ConnectionLostError(`connection lost: ${text}`), quiet);
  }
}
