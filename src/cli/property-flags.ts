/**
 * `-D command identifier value` (and `-D command user-property name value`): MQTT 5
 * properties for the packets `pub` and `sub` send, with the names and commands of
 * mosquitto_pub / mosquitto_sub. Commander hands every -D's words over as one list; each
 * group's length follows from its identifier, so the list splits without ambiguity.
 */
import type { Properties } from '../protocol/properties.js';
import { UsageError } from './flag-values.js';

/** Where a property can go. */
export type PropertyCommand =
  | 'connect'
  | 'publish'
  | 'subscribe'
  | 'unsubscribe'
  | 'disconnect'
  | 'will';

/** Properties per packet, from every -D. */
export type PropertySet = Partial<Record<PropertyCommand, Properties>>;

type ValueKind = 'flag' | 'u16' | 'u16+' | 'u32' | 'u32+' | 'varint' | 'string' | 'binary';

interface PropertySpec {
  key: keyof Properties;
  kind: ValueKind;
  commands: readonly PropertyCommand[];
}

const PUBLISH_LIKE = ['publish', 'will'] as const;

/** The properties a client may send, by their spec names with '-' between words. */
const SPECS: Readonly<Record<string, PropertySpec>> = {
  'payload-format-indicator': {
    key: 'payloadFormatIndicator',
    kind: 'flag',
    commands: PUBLISH_LIKE,
  },
  'message-expiry-interval': { key: 'messageExpiryInterval', kind: 'u32', commands: PUBLISH_LIKE },
  'content-type': { key: 'contentType', kind: 'string', commands: PUBLISH_LIKE },
  'response-topic': { key: 'responseTopic', kind: 'string', commands: PUBLISH_LIKE },
  'correlation-data': { key: 'correlationData', kind: 'binary', commands: PUBLISH_LIKE },
  'topic-alias': { key: 'topicAlias', kind: 'u16+', commands: ['publish'] },
  'will-delay-interval': { key: 'willDelayInterval', kind: 'u32', commands: ['will'] },
  'subscription-identifier': {
    key: 'subscriptionIdentifiers',
    kind: 'varint',
    commands: ['subscribe'],
  },
  'session-expiry-interval': {
    key: 'sessionExpiryInterval',
    kind: 'u32',
    commands: ['connect', 'disconnect'],
  },
  'authentication-method': { key: 'authenticationMethod', kind: 'string', commands: ['connect'] },
  'authentication-data': { key: 'authenticationData', kind: 'binary', commands: ['connect'] },
  'request-problem-information': {
    key: 'requestProblemInformation',
    kind: 'flag',
    commands: ['connect'],
  },
  'request-response-information': {
    key: 'requestResponseInformation',
    kind: 'flag',
    commands: ['connect'],
  },
  'receive-maximum': { key: 'receiveMaximum', kind: 'u16+', commands: ['connect'] },
  'topic-alias-maximum': { key: 'topicAliasMaximum', kind: 'u16', commands: ['connect'] },
  'maximum-packet-size': { key: 'maximumPacketSize', kind: 'u32+', commands: ['connect'] },
  'reason-string': { key: 'reasonString', kind: 'string', commands: ['disconnect'] },
};

const USER_PROPERTY = 'user-property';

const RANGES: Readonly<Record<string, [number, number]>> = {
  flag: [0, 1],
  u16: [0, 65535],
  'u16+': [1, 65535],
  u32: [0, 4294967295],
  'u32+': [1, 4294967295],
  varint: [1, 268435455],
};

function parseValue(where: string, kind: ValueKind, value: string): number | string | Buffer {
  if (kind === 'string') return value;
  if (kind === 'binary') return Buffer.from(value);
  const [min, max] = RANGES[kind];
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`-D ${where}: "${value}" is not an integer from ${min} to ${max}`);
  }
  return n;
}

/** Sets one parsed property on `target`, refusing a second value where only one is allowed. */
function assign(target: Properties, spec: PropertySpec, where: string, value: unknown): void {
  if (spec.key === 'subscriptionIdentifiers') {
    if (target.subscriptionIdentifiers) throw new UsageError(`-D ${where} is given twice`);
    target.subscriptionIdentifiers = [value as number];
    return;
  }
  if (target[spec.key] !== undefined) throw new UsageError(`-D ${where} is given twice`);
  (target as Record<string, unknown>)[spec.key] = value;
}

/**
 * Parses the words of every -D, in order, for a tool that sends `commands`.
 * @throws UsageError naming the command, the property and what is wrong.
 */
export function parsePropertyFlags(
  words: readonly string[],
  commands: readonly PropertyCommand[],
): PropertySet {
  const set: PropertySet = {};
  let i = 0;
  while (i < words.length) {
    const command = words[i].toLowerCase() as PropertyCommand;
    const identifier = words[i + 1]?.toLowerCase();
    if (!commands.includes(command)) {
      throw new UsageError(`-D: "${words[i]}" is not a command here (use ${commands.join(', ')})`);
    }
    if (identifier === undefined) throw new UsageError(`-D ${command}: no property name`);
    const target = (set[command] ??= {});
    if (identifier === USER_PROPERTY) {
      const [name, value] = [words[i + 2], words[i + 3]];
      if (value === undefined) {
        throw new UsageError(`-D ${command} user-property needs a name and a value`);
      }
      (target.userProperties ??= []).push([name, value]);
      i += 4;
      continue;
    }
    const spec = SPECS[identifier];
    if (!spec) throw new UsageError(`-D ${command}: unknown property "${words[i + 1]}"`);
    if (!spec.commands.includes(command)) {
      throw new UsageError(
        `-D: ${identifier} is not allowed in ${command} (only in ${spec.commands.join(', ')})`,
      );
    }
    const value = words[i + 2];
    if (value === undefined) throw new UsageError(`-D ${command} ${identifier}: no value`);
    const where = `${command} ${identifier}`;
    assign(target, spec, where, parseValue(where, spec.kind, value));
    i += 3;
  }
  return set;
}
