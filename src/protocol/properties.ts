/**
 * MQTT 5 properties: their identifiers, wire types and the packets each may appear in.
 */
import type { PacketType } from './packets.js';

/**
 * Every MQTT 5 property, by its camelCase name. All are optional; the codec only writes
 * those that are set. `userProperties` keeps order and duplicates, as the spec requires.
 */
export interface Properties {
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  /** One per matching subscription in PUBLISH; at most one in SUBSCRIBE. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Buffer;
  requestProblemInformation?: number;
  willDelayInterval?: number;
  requestResponseInformation?: number;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: number;
  retainAvailable?: number;
  userProperties?: [string, string][];
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: number;
  subscriptionIdentifiersAvailable?: number;
  sharedSubscriptionAvailable?: number;
}

/** Wire data types of property values. */
export type PropertyWireType =
  | 'byte'
  | 'twoByteInt'
  | 'fourByteInt'
  | 'varInt'
  | 'utf8'
  | 'binary'
  | 'utf8Pair';

/** Where a property may appear besides packets: the will properties inside CONNECT. */
export type PropertyContext = PacketType | 'will';

/** Static description of one property. */
export interface PropertyDefinition {
  id: number;
  name: keyof Properties;
  wireType: PropertyWireType;
  /** Packets (or 'will') in which the property may appear. */
  allowedIn: readonly PropertyContext[];
  /** True for the properties that may appear more than once (user property, subscription id in PUBLISH). */
  repeatable: boolean;
}

const PUB_ACKS = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;

/** All MQTT 5 properties (spec section 2.2.2.2, table 2-4). */
export const PROPERTY_DEFINITIONS: readonly PropertyDefinition[] = [
  {
    id: 0x01,
    name: 'payloadFormatIndicator',
    wireType: 'byte',
    allowedIn: ['publish', 'will'],
    repeatable: false,
  },
  {
    id: 0x02,
    name: 'messageExpiryInterval',
    wireType: 'fourByteInt',
    allowedIn: ['publish', 'will'],
    repeatable: false,
  },
  {
    id: 0x03,
    name: 'contentType',
    wireType: 'utf8',
    allowedIn: ['publish', 'will'],
    repeatable: false,
  },
  {
    id: 0x08,
    name: 'responseTopic',
    wireType: 'utf8',
    allowedIn: ['publish', 'will'],
    repeatable: false,
  },
  {
    id: 0x09,
    name: 'correlationData',
    wireType: 'binary',
    allowedIn: ['publish', 'will'],
    repeatable: false,
  },
  {
    id: 0x0b,
    name: 'subscriptionIdentifiers',
    wireType: 'varInt',
    allowedIn: ['publish', 'subscribe'],
    repeatable: true,
  },
  {
    id: 0x11,
    name: 'sessionExpiryInterval',
    wireType: 'fourByteInt',
    allowedIn: ['connect', 'connack', 'disconnect'],
    repeatable: false,
  },
  {
    id: 0x12,
    name: 'assignedClientIdentifier',
    wireType: 'utf8',
    allowedIn: ['connack'],
    repeatable: false,
  },
  {
    id: 0x13,
    name: 'serverKeepAlive',
    wireType: 'twoByteInt',
    allowedIn: ['connack'],
    repeatable: false,
  },
  {
    id: 0x15,
    name: 'authenticationMethod',
    wireType: 'utf8',
    allowedIn: ['connect', 'connack', 'auth'],
    repeatable: false,
  },
  {
    id: 0x16,
    name: 'authenticationData',
    wireType: 'binary',
    allowedIn: ['connect', 'connack', 'auth'],
    repeatable: false,
  },
  {
    id: 0x17,
    name: 'requestProblemInformation',
    wireType: 'byte',
    allowedIn: ['connect'],
    repeatable: false,
  },
  {
    id: 0x18,
    name: 'willDelayInterval',
    wireType: 'fourByteInt',
    allowedIn: ['will'],
    repeatable: false,
  },
  {
    id: 0x19,
    name: 'requestResponseInformation',
    wireType: 'byte',
    allowedIn: ['connect'],
    repeatable: false,
  },
  {
    id: 0x1a,
    name: 'responseInformation',
    wireType: 'utf8',
    allowedIn: ['connack'],
    repeatable: false,
  },
  {
    id: 0x1c,
    name: 'serverReference',
    wireType: 'utf8',
    allowedIn: ['connack', 'disconnect'],
    repeatable: false,
  },
  {
    id: 0x1f,
    name: 'reasonString',
    wireType: 'utf8',
    allowedIn: ['connack', ...PUB_ACKS, 'suback', 'unsuback', 'disconnect', 'auth'],
    repeatable: false,
  },
  {
    id: 0x21,
    name: 'receiveMaximum',
    wireType: 'twoByteInt',
    allowedIn: ['connect', 'connack'],
    repeatable: false,
  },
  {
    id: 0x22,
    name: 'topicAliasMaximum',
    wireType: 'twoByteInt',
    allowedIn: ['connect', 'connack'],
    repeatable: false,
  },
  {
    id: 0x23,
    name: 'topicAlias',
    wireType: 'twoByteInt',
    allowedIn: ['publish'],
    repeatable: false,
  },
  { id: 0x24, name: 'maximumQoS', wireType: 'byte', allowedIn: ['connack'], repeatable: false },
  {
    id: 0x25,
    name: 'retainAvailable',
    wireType: 'byte',
    allowedIn: ['connack'],
    repeatable: false,
  },
  {
    id: 0x26,
    name: 'userProperties',
    wireType: 'utf8Pair',
    allowedIn: [
      'connect',
      'connack',
      'publish',
      'will',
      ...PUB_ACKS,
      'subscribe',
      'suback',
      'unsubscribe',
      'unsuback',
      'disconnect',
      'auth',
    ],
    repeatable: true,
  },
  {
    id: 0x27,
    name: 'maximumPacketSize',
    wireType: 'fourByteInt',
    allowedIn: ['connect', 'connack'],
    repeatable: false,
  },
  {
    id: 0x28,
    name: 'wildcardSubscriptionAvailable',
    wireType: 'byte',
    allowedIn: ['connack'],
    repeatable: false,
  },
  {
    id: 0x29,
    name: 'subscriptionIdentifiersAvailable',
    wireType: 'byte',
    allowedIn: ['connack'],
    repeatable: false,
  },
  {
    id: 0x2a,
    name: 'sharedSubscriptionAvailable',
    wireType: 'byte',
    allowedIn: ['connack'],
    repeatable: false,
  },
];

/** Property definitions indexed by identifier (sparse array; undefined for unknown ids). */
export const PROPERTY_BY_ID: readonly (PropertyDefinition | undefined)[] = (() => {
  const table: (PropertyDefinition | undefined)[] = new Array(0x2b).fill(undefined);
  for (const def of PROPERTY_DEFINITIONS) table[def.id] = def;
  return table;
})();

/** Property definitions indexed by name. */
export const PROPERTY_BY_NAME: Readonly<Record<keyof Properties, PropertyDefinition>> =
  Object.fromEntries(PROPERTY_DEFINITIONS.map((d) => [d.name, d])) as Record<
    keyof Properties,
    PropertyDefinition
  >;
