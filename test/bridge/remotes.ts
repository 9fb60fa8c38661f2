/**
 * What the bridge tests share: a real mosquitto (Debian's /usr/sbin/mosquitto) as a remote on
 * a free port, with persistence so a restart keeps its sessions; waiting for a bridge's state;
 * and collecting messages until a marker. Not a test file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Broker } from '../../src/index.js';
import { freePort, tempDir, waitUntil } from '../durability/harness.js';

export { freePort, sleep, tempDir, waitUntil } from '../durability/harness.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

/** Resolves once something accepts TCP connections on `port`. */
async function listening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A mosquitto process with its own config and persistence directory. */
export class Mosquitto {
  private child: ChildProcess | undefined;
  private out = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  /** Starts mosquitto on a free port (or `port`), persistent, anonymous clients allowed. */
  static async start(port?: number): Promise<Mosquitto> {
    const m = new Mosquitto(port ?? (await freePort()), tempDir('pipit-mosq-'));
    // Started as root, mosquitto drops to its own user: without this it could not write its
    // persistence file, and a restart would lose its sessions (and messages sent meanwhile).
    chmodSync(m.dir, 0o777);
    writeFileSync(
      join(m.dir, 'mosquitto.conf'),
      [
        `listener ${m.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${m.dir}/`,
        'max_queued_messages 100000',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    );
    await m.run();
    return m;
  }

  /** What mosquitto printed (for failure messages). */
  get output(): string {
    return this.out;
  }

  private async run(): Promise<void> {
    const child = spawn(MOSQUITTO, ['-c', join(this.dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (this.out += d));
    child.stderr!.on('data', (d) => (this.out += d));
    this.child = child;
    await listening(this.port, 10_000);
  }

  /** SIGTERM (mosquitto saves its persistence file), waiting for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }

  /** Stops and starts again on the same port and persistence. */
  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }
}

/** Waits until the broker's bridge `name` is connected (or, with `up` false, not). */
export async function waitBridge(broker: Broker, name: string, up = true): Promise<void> {
  await waitUntil(
    () => broker.bridges().find((b) => b.name === name)?.connected === up,
    15_000,
    () => `bridge ${name} ${up ? 'up' : 'down'}: ${JSON.stringify(broker.bridges())}`,
  );
}

/** Topics (and payloads) a client receives, kept in arrival order. */
export class Inbox {
  readonly got: { topic: string; payload: string; qos: number; retain: boolean }[] = [];

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) =>
      this.got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }),
    );
  }

  /** The messages received on `topic`. */
  on(topic: string): { topic: string; payload: string; qos: number; retain: boolean }[] {
    return this.got.filter((m) => m.topic === topic);
  }

  /** Waits until a message on `topic` arrived. */
  async waitFor(topic: string, timeoutMs = 10_000): Promise<void> {
    await waitUntil(
      () => this.got.some((m) => m.topic === topic),
      timeoutMs,
      () => `a message on ${topic}; got ${JSON.stringify(this.got.map((m) => m.topic))}`,
    );
  }

  /** Distinct payloads received on topics starting with `prefix`. */
  distinct(prefix: string): Set<string> {
    return new Set(this.got.filter((m) => m.topic.startsWith(prefix)).map((m) => m.payload));
  }
}

/**
 * Connects MQTT.js with an Inbox listening from before CONNECT: a resumed session's queued
 * messages may arrive with the CONNACK, before a listener added after connecting.
 */
export function connectWithInbox(
  url: string,
  options: IClientOptions,
): Promise<{ client: MqttClient; inbox: Inbox }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    const inbox = new Inbox(client);
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('connect', () => resolve({ client, inbox }));
  });
}
