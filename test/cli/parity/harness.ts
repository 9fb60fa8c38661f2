/**
 * The flag-parity harness: runs `pipit pub|sub` (TypeScript through tsx) and
 * `mosquitto_pub|mosquitto_sub` with the same arguments against the same Pipit broker, and
 * collects what can be observed of a run: exit code, output, and what the broker delivered
 * to an independent MQTT.js client.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { cliEntry } from '../../helpers/cli-entry.js';

/** The repository root: the pipit CLI runs from there (tsx resolves from it). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The two command-line clients compared. */
export type Tool = 'pipit' | 'mosquitto';
export const TOOLS: readonly Tool[] = ['mosquitto', 'pipit'];
/** Short tags of equal length, so topics (and -F widths) are alike but for the tag. */
export const TAG: Readonly<Record<Tool, string>> = { mosquitto: 'mos', pipit: 'pip' };

/** How a run ended. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** A running command. */
export interface Running {
  child: ChildProcess;
  done: Promise<RunResult>;
  /** What it printed on stdout so far. */
  stdout(): Buffer;
}

/** Starts `tool`'s pub or sub with `args`; killed after `timeoutMs` so no test hangs. */
export function start(
  tool: Tool,
  command: 'pub' | 'sub',
  args: readonly string[],
  opts: { stdin?: string | Buffer; timeoutMs?: number } = {},
): Running {
  const [file, argv] =
    tool === 'pipit'
      ? [process.execPath, [cliEntry(), command, ...args]]
      : [`mosquitto_${command}`, [...args]];
  const child = spawn(file, argv, {
    cwd: REPO_ROOT,
    stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const done = new Promise<RunResult>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
    }),
  );
  return { child, done, stdout: () => Buffer.concat(out) };
}

/** Runs a command to its end. */
export function run(
  tool: Tool,
  command: 'pub' | 'sub',
  args: readonly string[],
  opts: { stdin?: string | Buffer; timeoutMs?: number } = {},
): Promise<RunResult> {
  return start(tool, command, args, opts).done;
}

/** A message as the observer saw it. */
export interface Seen {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  properties?: IPublishPacket['properties'];
}

/** An MQTT.js client that records every message under `filter`. */
export class Observer {
  readonly seen: Seen[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) =>
      this.seen.push({
        topic,
        payload: payload.toString('latin1'),
        qos: packet.qos,
        retain: packet.retain,
        ...(packet.properties ? { properties: packet.properties } : {}),
      }),
    );
  }

  /** Connects (MQTT 5 by default) and subscribes at QoS 2. */
  static async open(url: string, filter: string, options: IClientOptions = {}): Promise<Observer> {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      ...options,
    });
    await client.subscribeAsync(filter, { qos: 2 });
    return new Observer(client);
  }

  /** Messages whose topic starts with `prefix`, with the prefix cut off. */
  under(prefix: string): Seen[] {
    return this.seen
      .filter((m) => m.topic.startsWith(prefix))
      .map((m) => ({ ...m, topic: m.topic.slice(prefix.length) }));
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `condition` every 20 ms until it holds or `ms` pass; returns whether it held. */
export async function eventually(condition: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** The packet names of a `-d` trace, in order: "sending CONNECT", "received CONNACK", ... */
export function tracePackets(stdout: Buffer): string[] {
  return stdout
    .toString()
    .split('\n')
    .map((line) => /^Client \S+ (sending|received) ([A-Z]+)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);
}

/**
 * Declares a parity test: `observe` runs one tool, with its own topic prefix
 * (`<root>/<case>/<tag>/`), and returns what was observable; for both tools it must equal
 * `expected` (so they agree, and on the right thing).
 */
export function parity(
  root: string,
  name: string,
  expected: unknown,
  observe: (tool: Tool, prefix: string) => Promise<unknown>,
): void {
  const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
  test(name, { timeout: 60_000 }, async () => {
    for (const tool of TOOLS) {
      const got = await observe(tool, `${root}/${slug}/${TAG[tool]}/`);
      assert.deepEqual(got, expected, `${tool} differs`);
    }
  });
}
