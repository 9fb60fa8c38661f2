/**
 * The flags `pub` and `sub` share with mosquitto_pub / mosquitto_sub: where the broker is,
 * who we are, the session, the will, MQTT 5 properties, TLS and output switches; and their
 * translation into client options, with every inconsistency reported as a UsageError.
 */
import type { Command } from 'commander';
import type { ClientOptions } from '../client/index.js';
import type { ProtocolVersion, Will } from '../protocol/packets.js';
import { validateTopicName } from '../protocol/topic-validation.js';
import {
  NEVER_EXPIRES,
  parseIntFlag,
  parseQos,
  parseSessionExpiry,
  parseVersion,
  UsageError,
} from './flag-values.js';
import { type PropertyCommand, type PropertySet, parsePropertyFlags } from './property-flags.js';
import { type TlsFlags, tlsOptionsFromFlags } from './tls-flags.js';
import { type BrokerUrl, parseBrokerUrl } from './url-flag.js';

/** The shared flags as commander hands them over. */
export interface ConnectionFlags extends TlsFlags {
  host?: string;
  port?: string;
  unix?: string;
  url?: string;
  id?: string;
  idPrefix?: string;
  username?: string;
  pw?: string;
  protocolVersion?: string;
  keepalive: string;
  disableCleanSession?: boolean;
  sessionExpiryInterval?: string;
  A?: string;
  nodelay?: boolean;
  debug?: boolean;
  quiet?: boolean;
  property?: string[];
  willTopic?: string;
  willPayload?: string;
  willQos?: string;
  willRetain?: boolean;
}

/** What the shared flags resolve to. */
export interface ResolvedConnection {
  options: ClientOptions;
  /** MQTT 5 properties per packet (-D). */
  properties: PropertySet;
  /** The topic of a -L URL, if it had one. */
  urlTopic?: string;
  debug: boolean;
  quiet: boolean;
}

/** Adds the shared flags; frees -h from commander's help (it is the host, as in mosquitto). */
export function addConnectionFlags(cmd: Command): Command {
  return cmd
    .helpOption('--help', 'display help for command')
    .option('-h, --host <host>', 'broker host (default 127.0.0.1)')
    .option('-p, --port <port>', 'broker port (default 1883, 8883 with TLS)')
    .option('--unix <path>', 'connect through this Unix domain socket instead of -h/-p')
    .option('-L, --url <url>', 'mqtt(s)://[username[:password]@]host[:port]/topic')
    .option('-i, --id <id>', 'client id (default: assigned by the broker)')
    .option('-I, --id-prefix <prefix>', 'client id: this prefix followed by the process id')
    .option('-u, --username <name>', 'user name')
    .option('-P, --pw <password>', 'password')
    .option('-V, --protocol-version <v>', 'MQTT version: 31, 311 or 5 (default 311)')
    .option('-k, --keepalive <seconds>', 'keepalive interval, 5 to 65535', '60')
    .option('-c, --disable-clean-session', 'keep the session (needs -i or -I)')
    .option('-x, --session-expiry-interval <s>', 'MQTT 5 session expiry; -1 or ∞ for never')
    .option('-A <address>', 'bind the socket to this local address')
    .option('--nodelay', "disable Nagle's algorithm")
    .option('-d, --debug', 'print every packet sent and received')
    .option('--quiet', 'do not print errors (mistakes in the flags are still printed)')
    .option('-D, --property <words...>', 'MQTT 5 property: command identifier value')
    .option('--will-topic <topic>', 'topic of the will message')
    .option('--will-payload <text>', 'payload of the will message (default empty)')
    .option('--will-qos <qos>', 'QoS of the will message (default 0)')
    .option('--will-retain', 'retain the will message')
    .option('--tls', 'connect with TLS, trusting the default CA list')
    .option('--cafile <file>', 'trust these CA certificates (PEM); turns TLS on')
    .option('--capath <dir>', 'trust the CA certificates in this directory; turns TLS on')
    .option('--cert <file>', 'client certificate (PEM), with --key')
    .option('--key <file>', 'client private key (PEM), with --cert')
    .option('--tls-version <v>', 'lowest TLS version: tlsv1.3, tlsv1.2 or tlsv1.1')
    .option('--ciphers <list>', 'OpenSSL cipher list')
    .option('--insecure', 'do not check that the server certificate names the host');
}

function clientId(f: ConnectionFlags): string | undefined {
  if (f.id !== undefined && f.idPrefix !== undefined) {
    throw new UsageError('-i and -I cannot be used together');
  }
  return f.idPrefix !== undefined ? `${f.idPrefix}${process.pid}` : f.id;
}

/** Clean session and session expiry from -c and -x, checked against the version and id. */
function sessionSettings(
  f: ConnectionFlags,
  version: ProtocolVersion,
  id: string | undefined,
): { clean: boolean; expiry?: number } {
  const clean = f.disableCleanSession !== true;
  if (f.sessionExpiryInterval !== undefined && version !== 5) {
    throw new UsageError('-x (session expiry interval) needs MQTT 5: add -V 5');
  }
  if (!clean && id === undefined) {
    throw new UsageError('-c needs a client id (-i or -I): the broker keeps the session under it');
  }
  if (version !== 5) return { clean };
  // MQTT 5: -c alone keeps the session forever, as in mosquitto; -x sets the interval.
  const expiry =
    f.sessionExpiryInterval !== undefined
      ? parseSessionExpiry(f.sessionExpiryInterval)
      : clean
        ? undefined
        : NEVER_EXPIRES;
  if (expiry === NEVER_EXPIRES && id === undefined) {
    throw new UsageError('a session that never expires needs a client id (-i or -I)');
  }
  return { clean, expiry };
}

function willFrom(f: ConnectionFlags, properties: PropertySet): Will | undefined {
  if (f.willTopic === undefined) {
    const stray = (
      [
        ['--will-payload', f.willPayload],
        ['--will-qos', f.willQos],
        ['--will-retain', f.willRetain],
        ['-D will', properties.will],
      ] as const
    ).find(([, v]) => v !== undefined);
    if (stray) throw new UsageError(`${stray[0]} needs --will-topic`);
    return undefined;
  }
  checkTopicName('--will-topic', f.willTopic);
  return {
    topic: f.willTopic,
    payload: Buffer.from(f.willPayload ?? ''),
    qos: f.willQos === undefined ? 0 : parseQos(f.willQos, 'will QoS (--will-qos)'),
    retain: f.willRetain === true,
    properties: properties.will,
  };
}

/** @throws UsageError unless `topic` is a valid topic name (no wildcards, not empty). */
export function checkTopicName(flag: string, topic: string, allowEmpty = false): void {
  try {
    validateTopicName(topic, allowEmpty);
  } catch (err) {
    throw new UsageError(`${flag}: invalid topic "${topic}": ${(err as Error).message}`);
  }
}

/** Host, port, socket path and credentials from -h/-p/--unix or -L. */
function target(f: ConnectionFlags, url: BrokerUrl | undefined): Partial<ClientOptions> {
  if (url && (f.host !== undefined || f.port !== undefined || f.unix !== undefined)) {
    throw new UsageError('give the broker with -L or with -h/-p/--unix, not both');
  }
  if (f.unix !== undefined && (f.host !== undefined || f.port !== undefined)) {
    throw new UsageError('--unix replaces -h and -p: give one or the other');
  }
  if (url)
    return { host: url.host, port: url.port, username: url.username, password: url.password };
  if (f.unix !== undefined) return { socketPath: f.unix };
  return {
    host: f.host ?? '127.0.0.1',
    port: f.port === undefined ? undefined : parseIntFlag('port (-p)', f.port, 1, 65535),
  };
}

/**
 * Resolves the shared flags for a tool whose -D may name `commands`.
 * @throws UsageError for a bad value or flags that contradict each other.
 */
export function resolveConnection(
  f: ConnectionFlags,
  commands: readonly PropertyCommand[],
): ResolvedConnection {
  const properties = parsePropertyFlags(f.property ?? [], commands);
  const hasProperties = Object.keys(properties).length > 0;
  // -D makes the client an MQTT 5 client, as in mosquitto; -V 31/311 with -D is a mistake.
  const version =
    f.protocolVersion === undefined ? (hasProperties ? 5 : 4) : parseVersion(f.protocolVersion);
  if (hasProperties && version !== 5) throw new UsageError('-D (properties) needs MQTT 5 (-V 5)');
  const url = f.url === undefined ? undefined : parseBrokerUrl(f.url);
  const id = clientId(f);
  const session = sessionSettings(f, version, id);
  const where = target(f, url);
  const username = f.username ?? where.username;
  const password = f.pw ?? where.password;
  if (password !== undefined && username === undefined && version !== 5) {
    throw new UsageError('-P needs -u with MQTT 3.1/3.1.1 (a password without a user name)');
  }
  const connectProperties = { ...properties.connect };
  if (session.expiry !== undefined) connectProperties.sessionExpiryInterval = session.expiry;
  const options: ClientOptions = {
    ...where,
    username,
    password,
    clientId: id,
    protocolVersion: version,
    keepAlive: parseIntFlag('keepalive (-k)', f.keepalive, 5, 65535),
    clean: session.clean,
    properties: Object.keys(connectProperties).length > 0 ? connectProperties : undefined,
    will: willFrom(f, properties),
    tls: tlsOptionsFromFlags(f, url?.tls === true),
    localAddress: f.A,
    noDelay: f.nodelay === true,
  };
  return {
    options,
    properties,
    urlTopic: url?.topic || undefined,
    debug: f.debug === true,
    quiet: f.quiet === true,
  };
}
