/**
 * `pipit pub`: publish one message, like mosquitto_pub.
 *
 *   pipit pub -t topic -m message [-h host] [-p port] [-q 0|1|2] [-r] [-i id] [-u user]
 *             [-P password] [-V 311|5|31] [-k keepalive] [-n | -s | -f file] [--tls ...]
 *
 * Exit codes: 0 sent (and acknowledged at QoS 1/2), 1 any failure (message on stderr).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type ClientOptions, connect } from '../client/index.js';
import type { ProtocolVersion, QoS } from '../protocol/index.js';

/** The connection options `pub` and `sub` share. */
export interface ConnectionFlags {
  host: string;
  port?: string;
  id?: string;
  username?: string;
  password?: string;
  protocolVersion: string;
  keepalive: string;
  tls?: boolean;
  cafile?: string;
  insecure?: boolean;
}

/** Adds -h -p -i -u -P -V -k and the TLS flags; frees -h from commander's help. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .helpOption('--help', 'display help for command')
    .option('-h, --host <host>', 'broker host', '127.0.0.1')
    .option('-p, --port <port>', 'broker port (default 1883, 8883 with --tls)')
    .option('-i, --id <id>', 'client id (default: assigned by the broker)')
    .option('-u, --username <name>', 'user name')
    .option('-P, --password <password>', 'password')
    .option('-V, --protocol-version <v>', 'MQTT version: 31, 311 or 5', '311')
    .option('-k, --keepalive <seconds>', 'keepalive interval', '60')
    .option('--tls', 'connect with TLS')
    .option('--cafile <file>', 'CA certificate(s) to trust (PEM), implies --tls')
    .option('--insecure', 'do not verify the server certificate, implies --tls');
}

/** Parses a decimal option, throwing an error that names the option. */
export function parseIntFlag(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** Parses -q. */
export function parseQos(value: string): QoS {
  return parseIntFlag('qos', value, 0, 2) as QoS;
}

/** Maps -V 31|311|5 (also 3|4|mqttv311|mqttv5) to a protocol level. */
export function parseVersion(value: string): ProtocolVersion {
  const v = value.toLowerCase().replace(/^mqttv/, '');
  if (v === '31' || v === '3') return 3;
  if (v === '311' || v === '4') return 4;
  if (v === '5') return 5;
  throw new Error(`protocol version must be 31, 311 or 5, got "${value}"`);
}

/** Client options from the shared flags. */
export function toClientOptions(f: ConnectionFlags): ClientOptions {
  const useTls = f.tls || f.cafile !== undefined || f.insecure;
  return {
    host: f.host,
    port: f.port === undefined ? undefined : parseIntFlag('port', f.port, 1, 65535),
    clientId: f.id,
    username: f.username,
    password: f.password,
    protocolVersion: parseVersion(f.protocolVersion),
    keepAlive: parseIntFlag('keepalive', f.keepalive, 0, 65535),
    tls: useTls
      ? {
          ca: f.cafile ? readFileSync(f.cafile) : undefined,
          rejectUnauthorized: !f.insecure,
        }
      : undefined,
  };
}

interface PubFlags extends ConnectionFlags {
  topic: string;
  message?: string;
  nullMessage?: boolean;
  stdinMessage?: boolean;
  file?: string;
  qos: string;
  retain?: boolean;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function payloadOf(f: PubFlags): Promise<Buffer> {
  const sources = [f.message !== undefined, f.nullMessage, f.stdinMessage, f.file !== undefined];
  if (sources.filter(Boolean).length !== 1) {
    throw new Error('give exactly one of -m, -n, -s, -f');
  }
  if (f.message !== undefined) return Buffer.from(f.message);
  if (f.file !== undefined) return readFileSync(f.file);
  if (f.stdinMessage) return readStdin();
  return Buffer.alloc(0);
}

/** Runs `pub` with parsed flags; resolves with the exit code. */
export async function runPub(f: PubFlags): Promise<number> {
  try {
    const payload = await payloadOf(f);
    const qos = parseQos(f.qos);
    const client = await connect(toClientOptions(f));
    try {
      await client.publish(f.topic, payload, { qos, retain: f.retain ?? false });
    } finally {
      await client.end();
    }
    return 0;
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}

/** Registers `pipit pub`. */
export function registerPubCommand(program: Command): void {
  const cmd = program.command('pub').description('publish one message (like mosquitto_pub)');
  addConnectionOptions(cmd)
    .requiredOption('-t, --topic <topic>', 'topic to publish to')
    .option('-m, --message <text>', 'message payload')
    .option('-n, --null-message', 'send an empty payload')
    .option('-s, --stdin-message', 'read the payload from stdin')
    .option('-f, --file <file>', 'send the contents of a file')
    .option('-q, --qos <qos>', 'quality of service 0, 1 or 2', '0')
    .option('-r, --retain', 'retain the message')
    .action(async (flags: PubFlags) => {
      process.exitCode = await runPub(flags);
    });
}
