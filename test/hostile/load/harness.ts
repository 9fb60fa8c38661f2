/**
 * Hostile-load harness: the real `pipit broker` in a child process (so its memory is its own
 * and an attack that kills it shows as an exit), its resident set read from /proc, and the
 * check every hostile-load case ends with: a fresh, well-behaved client on another
 * connection still gets CONNACK and a message round trip within a second. Not a test file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerProcess, freePort, tempDir } from '../../durability/harness.js';
import { connectBytes, RawClient } from '../../helpers/raw-client.js';

export { freePort, sleep, tempDir, waitUntil } from '../../durability/harness.js';

/** What the issue asks of a broker under attack: served within this time. */
export const SERVED_WITHIN_MS = 1000;

/** Options of {@link startLoadBroker}. */
export interface LoadBrokerOptions {
  /** YAML written to `<dataDir>/pipit.yaml` and passed with `-c` (may name extra listeners). */
  config?: string;
  /** Run with the SQLite store in `dataDir` (default: `--memory`). */
  sqlite?: boolean;
  /** Data directory (default: a fresh temporary one); reuse it to restart on the same data. */
  dataDir?: string;
  /** Port of the default mqtt listener (default: a free one). */
  port?: number;
  /** More CLI flags. */
  extra?: string[];
}

/** A broker child process under attack. */
export class LoadBroker {
  /**
   * The resident set once it first listened, in MiB: what the bounds of the hostile cases
   * are counted from, so that code the broker loads at start (it grows with features) does
   * not eat into what an attack may cost.
   */
  readonly baselineMiB: number;

  private constructor(
    public proc: BrokerProcess,
    readonly port: number,
    readonly dataDir: string,
    private readonly args: string[],
  ) {
    this.baselineMiB = this.rssMiB();
  }

  /** Starts `pipit broker` and waits until it listens. */
  static async start(options: LoadBrokerOptions = {}): Promise<LoadBroker> {
    const dataDir = options.dataDir ?? tempDir('pipit-hostile-');
    const port = options.port ?? (await freePort());
    const args = ['--port', String(port), '--host', '127.0.0.1'];
    if (options.config !== undefined) {
      const file = join(dataDir, 'pipit.yaml');
      writeFileSync(file, options.config);
      args.push('-c', file);
    }
    args.push(...(options.sqlite ? ['--data-dir', dataDir] : ['--memory']));
    args.push(...(options.extra ?? []));
    const broker = new LoadBroker(await LoadBroker.spawn(args), port, dataDir, args);
    return broker;
  }

  private static async spawn(args: string[]): Promise<BrokerProcess> {
    const proc = BrokerProcess.spawn(args);
    try {
      await proc.waitForOutput('"msg":"listening"', 30_000);
    } catch (err) {
      await proc.kill();
      throw err;
    }
    return proc;
  }

  /** True while the process runs. */
  get alive(): boolean {
    const child = this.proc.child;
    return child.exitCode === null && child.signalCode === null;
  }

  /** The process's resident set now, in MiB (VmRSS). */
  rssMiB(): number {
    return this.status('VmRSS');
  }

  /** The highest resident set the process reached, in MiB (VmHWM). */
  peakRssMiB(): number {
    return this.status('VmHWM');
  }

  private status(field: 'VmRSS' | 'VmHWM'): number {
    const pid = this.proc.child.pid;
    if (!this.alive || pid === undefined) {
      throw new Error(`the broker is not running:\n${this.proc.output.slice(-4000)}`);
    }
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(match[1]) / 1024;
  }

  /** Stops the broker cleanly (SIGTERM) and starts it again on the same data and port. */
  async restart(): Promise<void> {
    await this.proc.stop();
    this.proc = await LoadBroker.spawn(this.args);
  }

  /** kill -9 and start again on the same data and port. */
  async crashAndRestart(): Promise<void> {
    await this.proc.kill();
    this.proc = await LoadBroker.spawn(this.args);
  }

  /** Stops the broker (SIGTERM, then SIGKILL after a bound). */
  async stop(): Promise<void> {
    await this.proc.stop();
  }
}

/** Options of {@link assertServed}. */
export interface ServedOptions {
  /** Default {@link SERVED_WITHIN_MS}. */
  withinMs?: number;
  username?: string;
  password?: string;
  /** Local address to connect from (e.g. 127.0.0.5, so per-address limits see another source). */
  localAddress?: string;
}

/**
 * Proves the broker still serves a well-behaved client: a new MQTT 3.1.1 connection gets
 * CONNACK 0x00, subscribes, publishes to itself and receives the message, all within
 * `withinMs` of opening the socket. Rejects naming the step that failed or was late.
 */
export async function assertServed(
  broker: LoadBroker,
  tag: string,
  options: ServedOptions = {},
): Promise<number> {
  const withinMs = options.withinMs ?? SERVED_WITHIN_MS;
  if (!broker.alive) throw new Error(`the broker died:\n${broker.proc.output.slice(-4000)}`);
  const started = performance.now();
  const deadline = (step: string): number => {
    const left = withinMs - (performance.now() - started);
    if (left <= 0) throw new Error(`${tag}: not served within ${withinMs} ms (late at ${step})`);
    return left;
  };
  const client = await RawClient.openFrom(broker.port, 4, options.localAddress);
  try {
    const fields: Record<string, unknown> = {};
    if (options.username !== undefined) fields.username = options.username;
    if (options.password !== undefined) fields.password = Buffer.from(options.password);
    client.write(connectBytes(4, `served-${tag}`, fields));
    const connack = await client.next('connack', deadline('CONNACK'));
    if (connack.reasonCode !== 0) {
      throw new Error(`${tag}: CONNACK 0x${connack.reasonCode.toString(16)}`);
    }
    const topic = `served/${tag}`;
    client.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: topic, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await client.next('suback', deadline('SUBACK'));
    client.send({
      type: 'publish',
      topic,
      payload: Buffer.from(tag),
      qos: 0,
      retain: false,
      dup: false,
    });
    const message = await client.next('publish', deadline('the round trip'));
    if (message.payload.toString() !== tag) throw new Error(`${tag}: another payload came back`);
    const elapsed = performance.now() - started;
    if (elapsed > withinMs) throw new Error(`${tag}: served in ${elapsed.toFixed(0)} ms`);
    return elapsed;
  } finally {
    client.destroy();
  }
}

/**
 * Asserts the broker is alive and its resident set grew less than `growthMiB` over its
 * {@link LoadBroker.baselineMiB}; returns the resident set. The bound covers what V8 keeps
 * after an attack too: garbage not yet collected and freed pages it has not returned (after
 * a forced full GC a WebSocket flood's heap is back at 19 MiB while RSS stays ~70 MiB up).
 */
export function assertRssGrowthBelow(broker: LoadBroker, growthMiB: number, what: string): number {
  const rss = broker.rssMiB();
  const growth = rss - broker.baselineMiB;
  if (growth >= growthMiB) {
    throw new Error(
      `${what}: broker RSS ${rss.toFixed(0)} MiB, ${growth.toFixed(0)} MiB over its start ` +
        `(${broker.baselineMiB.toFixed(0)} MiB); bound ${growthMiB} MiB of growth`,
    );
  }
  return rss;
}
