/**
 * The `bridges:` section of the configuration (docs/bridges.md): a list of bridges to other
 * MQTT brokers, with what Mosquitto's bridge offers. Checks that span keys (unique names, a
 * rule's pattern with its prefixes) are in `checkBridges`.
 */
import { z } from 'zod';
import { isValidTopicFilter, isValidTopicName } from '../protocol/topic-validation.js';
import type { ConfigProblem } from './errors.js';

const NAME_ERROR = 'expected a name of letters, digits, "_", "-" and "." (it goes into a topic)';
const ADDRESS_ERROR = 'expected "host:port" or "host" (port 1883, or 8883 with tls)';
const text = () =>
  z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' });
const bool = () => z.boolean({ error: 'expected true or false' });
function int(min: number, max: number, what = `an integer ${min}-${max}`) {
  const error = `expected ${what}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}
function seconds(min: number, max: number) {
  const error = `expected a number of seconds ${min}-${max}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
}

/**
 * `host:port`, `host` or `[v6]:port` -> an address (the port defaults to 1883, 8883 with
 * TLS); undefined when it is none of these or the port is not 1-65535.
 */
export function parseAddress(
  text: string,
  tls: boolean,
): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+))(?::(\d{1,5}))?$/.exec(text);
  if (match === null) return undefined;
  const port = match[3] === undefined ? (tls ? 8883 : 1883) : Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

/** A topic prefix: a topic name's start (no wildcard), possibly empty. */
const prefix = () =>
  z
    .string({ error: 'expected a string (a topic prefix)' })
    .refine((p) => p === '' || isValidTopicName(p), {
      error: 'expected a topic prefix without wildcards (+, #)',
    });

const topicRuleSchema = z.strictObject({
  pattern: z.string({ error: 'expected a topic filter such as "sensors/#" (or "" with a prefix)' }),
  direction: z.enum(['in', 'out', 'both'], { error: 'expected one of in, out, both' }).optional(),
  qos: z
    .union([z.literal(0), z.literal(1), z.literal(2)], { error: 'expected 0, 1 or 2' })
    .optional(),
  localPrefix: prefix().optional(),
  remotePrefix: prefix().optional(),
});

const bridgeTlsSchema = z.strictObject({
  ca: text().optional(),
  cert: text().optional(),
  key: text().optional(),
  /** The name the remote's certificate must carry (default: the address's host). */
  servername: text().optional(),
  /** Do not verify the remote's certificate (tests only). */
  insecure: bool().optional(),
});

/** One `bridges` entry. */
export const bridgeSchema = z.strictObject({
  name: z.string({ error: NAME_ERROR }).regex(/^[A-Za-z0-9_.-]+$/, { error: NAME_ERROR }),
  addresses: z
    .array(
      z
        .string({ error: ADDRESS_ERROR })
        .refine((a) => parseAddress(a, false) !== undefined, { error: ADDRESS_ERROR }),
      {
        error: 'expected a list of addresses ("host:port")',
      },
    )
    .min(1, { error: 'expected at least one address' }),
  protocol: z.enum(['mqttv311', 'mqttv50'], { error: 'expected mqttv311 or mqttv50' }).optional(),
  clientId: text().optional(),
  cleanSession: bool().optional(),
  sessionExpiry: int(0, 0xffffffff, 'a number of seconds 0-4294967295').optional(),
  keepAlive: int(5, 65535, 'a number of seconds 5-65535').optional(),
  username: text().optional(),
  password: z.string({ error: 'expected a string' }).optional(),
  tls: z
    .union([z.literal(true), bridgeTlsSchema], {
      error: 'expected true or a mapping (ca, cert, key, servername, insecure)',
    })
    .optional(),
  tryPrivate: bool().optional(),
  notifications: bool().optional(),
  notificationTopic: text().optional(),
  notificationsLocalOnly: bool().optional(),
  sendRetainedOnConnect: bool().optional(),
  maxIncomingRate: int(0, 10_000_000, 'a number of messages per second 0-10000000').optional(),
  localUsername: text().optional(),
  maxInflight: int(1, 65535).optional(),
  reconnectDelay: seconds(0.01, 3600).optional(),
  maxReconnectDelay: seconds(0.01, 86_400).optional(),
  primaryProbe: seconds(0, 86_400).optional(),
  topics: z
    .array(topicRuleSchema, { error: 'expected a list of topic rules' })
    .min(1, { error: 'expected at least one topic rule' }),
});

/** The `bridges` section. */
export const bridgesSchema = z.array(bridgeSchema, { error: 'expected a list of bridges' });

/** One validated `bridges` entry. */
export type BridgeConfig = z.output<typeof bridgeSchema>;

/** Unique names; each rule's topics valid once its prefixes are added; cert with key. */
export function checkBridges(bridges: readonly BridgeConfig[] | undefined): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();
  (bridges ?? []).forEach((bridge, index) => {
    const first = seen.get(bridge.name);
    if (first !== undefined) {
      problems.push({
        path: ['bridges', index, 'name'],
        message: `duplicate bridge name "${bridge.name}" (also bridges[${first}])`,
      });
    } else seen.set(bridge.name, index);
    bridge.topics.forEach((rule, r) => {
      for (const side of ['localPrefix', 'remotePrefix'] as const) {
        // The same prefix on both sides makes the same filter: one problem is enough.
        if (side === 'remotePrefix' && (rule.remotePrefix ?? '') === (rule.localPrefix ?? ''))
          break;
        const filter = (rule[side] ?? '') + rule.pattern;
        if (!isValidTopicFilter(filter)) {
          problems.push({
            path: ['bridges', index, 'topics', r, rule.pattern === '' ? side : 'pattern'],
            message: `"${filter}" (${side} + pattern) is not a valid topic filter`,
          });
        }
      }
    });
    const notify = bridge.notificationTopic;
    if (notify !== undefined && !isValidTopicName(notify)) {
      problems.push({
        path: ['bridges', index, 'notificationTopic'],
        message: `"${notify}" is not a valid topic name (no + or #)`,
      });
    }
    const tls = bridge.tls;
    if (tls !== undefined && tls !== true && (tls.cert === undefined) !== (tls.key === undefined)) {
      problems.push({
        path: ['bridges', index, 'tls', tls.cert === undefined ? 'cert' : 'key'],
        message: 'a client certificate needs both cert and key',
      });
    }
  });
  return problems;
}
