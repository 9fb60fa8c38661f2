/**
 * MQTT control packets as plain data: a discriminated union on `type`.
 *
 * One shape serves MQTT 3.1 (level 3), 3.1.1 (level 4) and 5.0 (level 5). Fields that only
 * exist in MQTT 5 (properties, reason codes on acknowledgements) are optional and ignored
 * by the encoder for older versions.
 */
import type { Properties } from './properties.js';

/** Protocol level carried in CONNECT: 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 3 | 4 | 5;

/** Quality of service level. */
export type QoS = 0 | 1 | 2;

/** Will message carried in CONNECT. */
export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 will properties (will delay interval, message expiry, ...). */
  properties?: Properties;
}

/** CONNECT: client to server, first packet of every connection. */
export interface ConnectPacket {
  type: 'connect';
  /** 'MQIsdp' for MQTT 3.1, 'MQTT' otherwise. */
  protocolName: 'MQTT' | 'MQIsdp';
  protocolVersion: ProtocolVersion;
  /** Clean Session (3.1/3.1.1) or Clean Start (5.0). */
  clean: boolean;
  keepAlive: number;
  clientId: string;
  username?: string;
  password?: Buffer;
  will?: Will;
  properties?: Properties;
  /**
   * MQTT 3.x only, not in the standard: sets the top bit of the protocol level (level | 0x80),
   * Mosquitto's bridge flag (`try_private`): the server then sends a bridge none of the
   * messages it published itself.
   */
  bridge?: boolean;
}

/** CONNACK: server to client. `reasonCode` holds the v3 return code for levels 3 and 4. */
export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  reasonCode: number;
  properties?: Properties;
}

/** PUBLISH, both directions. `packetId` is present exactly when qos > 0. */
export interface PublishPacket {
  type: 'publish';
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  packetId?: number;
  properties?: Properties;
}

/** The four publish acknowledgements share one shape. */
export interface PubAckLikePacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> {
  type: T;
  packetId: number;
  /** MQTT 5 only; 0x00 (success) when absent. */
  reasonCode?: number;
  properties?: Properties;
}
export type PubackPacket = PubAckLikePacket<'puback'>;
export type PubrecPacket = PubAckLikePacket<'pubrec'>;
export type PubrelPacket = PubAckLikePacket<'pubrel'>;
export type PubcompPacket = PubAckLikePacket<'pubcomp'>;

/** One topic filter with its subscription options. */
export interface SubscriptionRequest {
  filter: string;
  qos: QoS;
  /** MQTT 5: do not send my own publishes back to me. */
  noLocal: boolean;
  /** MQTT 5: keep the retain flag as published when forwarding. */
  retainAsPublished: boolean;
  /** MQTT 5: 0 send retained on subscribe, 1 only if the subscription is new, 2 never. */
  retainHandling: 0 | 1 | 2;
}

/** SUBSCRIBE: client to server. */
export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: SubscriptionRequest[];
  properties?: Properties;
}

/** SUBACK: one reason code (granted QoS or failure) per requested filter. */
export interface SubackPacket {
  type: 'suback';
  packetId: number;
  reasonCodes: number[];
  properties?: Properties;
}

/** UNSUBSCRIBE: client to server. */
export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  filters: string[];
  properties?: Properties;
}

/** UNSUBACK: MQTT 5 carries one reason code per filter; for 3.x `reasonCodes` is empty. */
export interface UnsubackPacket {
  type: 'unsuback';
  packetId: number;
  reasonCodes: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: 'pingreq';
}

export interface PingrespPacket {
  type: 'pingresp';
}

/** DISCONNECT: client to server in all versions, also server to client in MQTT 5. */
export interface DisconnectPacket {
  type: 'disconnect';
  /** MQTT 5 only; 0x00 (normal disconnection) when absent. */
  reasonCode?: number;
  properties?: Properties;
}

/** AUTH: MQTT 5 enhanced authentication exchange. */
export interface AuthPacket {
  type: 'auth';
  /** 0x00 success, 0x18 continue authentication, 0x19 re-authenticate. */
  reasonCode?: number;
  properties?: Properties;
}

/** Any MQTT control packet. */
export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

/** The `type` discriminant of every packet. */
export type PacketType = Packet['type'];

/** Control packet type numbers (the high nibble of the first byte). */
export const PACKET_TYPE_CODES: Readonly<Record<PacketType, number>> = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
};

/** Packet type names by control packet type number; index 0 is reserved. */
export const PACKET_TYPE_NAMES: readonly (PacketType | undefined)[] = [
  undefined,
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
];
