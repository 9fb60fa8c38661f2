/**
 * What `pipit pub` does: check every flag before connecting, connect, publish (once or N
 * times), disconnect; or, with -l, a line at a time over a reconnecting client (pub-lines.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type MqttClient, type PublishOptions } from '../client/index.js';
import { isMqttError } from '../protocol/errors.js';
import { ConnectionLostError, describeNetworkError, reportFailure } from './cli-errors.js';
import {
  type ConnectionFlags,
  checkTopicName,
  type ResolvedConnection,
  resolveConnection,
} from './client-flags.js';
import { debugTrace } from './debug-trace.js';
import { parseIntFlag, parseQos, parseSecondsFlag, UsageError } from './flag-values.js';
import { LinePublisher } from './pub-lines.js';
import { type PayloadFlags, type PayloadSource, payloadSource } from './pub-payloads.js';
import { type ReconnectFlags, resolveReconnect } from './reconnect-flags.js';

/** `pub`'s flags as commander hands them over. */
export interface PubFlags extends ConnectionFlags, PayloadFlags, ReconnectFlags {
  topic?: string;
  qos: string;
  retain?: boolean;
  repeat?: string;
  repeatDelay?: string;
  maxInflight: string;
  offlineQueue?: string;
}

/** Lines -l keeps while disconnected, by default. */
const DEFAULT_OFFLINE_QUEUE = 1000;

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

async function publishAll(client: MqttClient, p: PubPlan, payload: Buffer | undefined) {
  if (payload === undefined) return;
  for (let i = 0; i < p.repeat; i++) {
    if (i > 0 && p.repeatDelayMs > 0) await sleep(p.repeatDelayMs);
    await client.publish(p.topic, payload, p.publish);
  }
}

/** The flags that only -l uses, with -l absent: named in the error. */
function checkLineOnlyFlags(f: PubFlags): void {
  const stray = (
    [
      ['--offline-queue', f.offlineQueue],
      ['--reconnect-delay', f.reconnectDelay],
      ['--max-reconnect-delay', f.maxReconnectDelay],
      ['--failover', f.failover],
    ] as const
  ).find(([, v]) => v !== undefined);
  if (stray) {
    throw new UsageError(`${stray[0]} works with -l only (a single message does not reconnect)`);
  }
}

/** `pub -l`: lines over a reconnecting client (pub-lines.ts). */
async function runLines(f: PubFlags, conn: ResolvedConnection, p: PubPlan, window: number) {
  if (p.source.kind !== 'lines') return 0;
  const offlineQueue =
    f.offlineQueue === undefined
      ? DEFAULT_OFFLINE_QUEUE
      : parseIntFlag('--offline-queue', f.offlineQueue, 1, 10_000_000);
  const plan = resolveReconnect(f, conn.options);
  const warn = (line: string): void => {
    if (!conn.quiet) process.stderr.write(`${line}\n`);
  };
  const publisher: LinePublisher = new LinePublisher(
    {
      ...conn.options,
      maxInflight: window,
      trace: conn.debug ? debugTrace(() => publisher.client.current) : undefined,
      offlineQueue,
      reconnect: plan.reconnect,
      servers: plan.servers,
    },
    warn,
    conn.debug,
  );
  try {
    await publisher.start();
  } catch (err) {
    return reportFailure(describeNetworkError(err, conn.options), conn.quiet);
  }
  try {
    await publisher.run({
      topic: p.topic,
      publish: p.publish,
      lines: p.source.lines(),
      window,
      disconnect: conn.properties.disconnect,
      stopReading: () => process.stdin.destroy(),
    });
    return 0;
  } catch (err) {
    await publisher.client.end().catch(() => {});
    return reportFailure(err, conn.quiet);
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
    if (p.source.kind === 'lines') return await runLines(f, conn, p, window);
    checkLineOnlyFlags(f);
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
