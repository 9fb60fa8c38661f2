/**
 * CONNECT and CONNACK (spec 3.1, 3.2): decoding with the version checks that happen
 * before anything else is known about the connection, and encoding.
 */
import { MqttError } from './errors.js';
import { checkConnectHeaderFlags } from './fixed-header.js';
import type { ConnackPacket, ConnectPacket, ProtocolVersion, QoS, Will } from './packets.js';
import {
  decodeProperties,
  propertiesLength,
  propertyBlockSize,
  WILL_CONTEXT,
  writeProperties,
} from './property-codec.js';
import type { Reader } from './reader.js';
import { CONNACK_CODES, CONNACK_CODES_V3 } from './reason-code-sets.js';
import { ReasonCode } from './reason-codes.js';
import { topicNameSyntaxError } from './topic-validation.js';
import { cannotEncode, malformed, protocolError } from './wire-errors.js';
import {
  allocPacket,
  headerSize,
  stringLength,
  writeBinary,
  writeString,
  writeU16,
} from './writer.js';

const CONNECT = 1;
const CONNACK = 2;

/** Reads the protocol name and level, throwing 0x84 for a level this name does not have. */
function readVersion(r: Reader): ProtocolVersion {
  const name = r.utf8();
  if (name !== 'MQTT' && name !== 'MQIsdp') {
    throw protocolError(`unknown protocol name '${name}'`, 'MQTT-3.1.2-1');
  }
  const level = r.u8();
  if (name === 'MQTT' ? level !== 4 && level !== 5 : level !== 3) {
    throw new MqttError(
      ReasonCode.UnsupportedProtocolVersion,
      `unsupported protocol level ${level} for '${name}'`,
      'MQTT-3.1.2-2',
    );
  }
  return level as ProtocolVersion;
}

/**
 * Checks the Connect Flags byte ([MQTT-3.1.2-3], will flag consistency, 3.x password rule).
 * MQTT 3.1 says of bit 0 only that it is "not used": a 3.1 client setting it is not refused.
 */
function checkConnectFlags(flags: number, version: ProtocolVersion): void {
  const v5 = version === 5;
  if (flags & 0x01 && version !== 3) {
    throw malformed('CONNECT reserved flag is set', 'MQTT-3.1.2-3');
  }
  const willQos = (flags >> 3) & 3;
  if ((flags & 0x04) === 0) {
    if (willQos !== 0) {
      throw malformed('will QoS set without will flag', v5 ? 'MQTT-3.1.2-11' : 'MQTT-3.1.2-13');
    }
    if (flags & 0x20) {
      throw malformed('will retain set without will flag', v5 ? 'MQTT-3.1.2-13' : 'MQTT-3.1.2-15');
    }
  } else if (willQos === 3) {
    throw malformed('will QoS 3', v5 ? 'MQTT-3.1.2-12' : 'MQTT-3.1.2-14');
  }
  if (!v5 && (flags & 0xc0) === 0x40) {
    throw protocolError('password without user name', 'MQTT-3.1.2-22');
  }
}

/** Decodes a CONNECT body; `first` is its fixed header's first byte. */
export function decodeConnect(r: Reader, first: number): ConnectPacket {
  const version = readVersion(r);
  checkConnectHeaderFlags(first, version);
  const flags = r.u8();
  checkConnectFlags(flags, version);
  const keepAlive = r.u16();
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: (flags & 0x02) !== 0,
    keepAlive,
    clientId: '',
  };
  if (version === 5) packet.properties = decodeProperties(r, CONNECT);
  packet.clientId = r.utf8();
  if (flags & 0x04) packet.will = readWill(r, flags, version);
  if (flags & 0x80) packet.username = r.utf8();
  if (flags & 0x40) packet.password = r.binary();
  r.expectEnd('CONNECT');
  return packet;
}

function readWill(r: Reader, flags: number, version: ProtocolVersion): Will {
  const properties = version === 5 ? decodeProperties(r, WILL_CONTEXT) : undefined;
  const topic = r.utf8();
  const err = topicNameSyntaxError(topic, false);
  if (err !== undefined) throw err;
  const will: Will = {
    topic,
    payload: r.binary(),
    qos: ((flags >> 3) & 3) as QoS,
    retain: (flags & 0x20) !== 0,
  };
  if (properties !== undefined) will.properties = properties;
  return will;
}

/** Decodes a CONNACK body. */
export function decodeConnack(r: Reader, version: ProtocolVersion): ConnackPacket {
  const flags = r.u8();
  if (flags & 0xfe) throw malformed('CONNACK reserved flag bits are set', 'MQTT-3.2.2-1');
  const reasonCode = r.u8();
  const sessionPresent = (flags & 1) !== 0;
  if ((version === 5 ? CONNACK_CODES : CONNACK_CODES_V3)[reasonCode] === 0) {
    throw protocolError(`invalid CONNACK reason code 0x${reasonCode.toString(16)}`);
  }
  if (sessionPresent && reasonCode !== 0) {
    throw protocolError(
      'session present with a failure code',
      version === 5 ? 'MQTT-3.2.2-6' : 'MQTT-3.2.2-4',
    );
  }
  if (version !== 5) {
    r.expectEnd('CONNACK');
    return { type: 'connack', sessionPresent, reasonCode };
  }
  const properties = decodeProperties(r, CONNACK);
  r.expectEnd('CONNACK');
  return { type: 'connack', sessionPresent, reasonCode, properties };
}

/** Encodes CONNECT; the protocol name and level come from `version`. */
export function encodeConnect(p: ConnectPacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  const name = version === 3 ? 'MQIsdp' : 'MQTT';
  const will = p.will;
  if (!v5 && p.password !== undefined && p.username === undefined) {
    throw cannotEncode('MQTT 3.x CONNECT with a password needs a user name');
  }
  const clientIdLen = stringLength(p.clientId);
  const propsLen = v5 ? propertiesLength(p.properties, CONNECT) : 0;
  let rl = 2 + name.length + 1 + 1 + 2 + 2 + clientIdLen;
  if (v5) rl += propertyBlockSize(propsLen);
  let willTopicLen = 0;
  let willPropsLen = 0;
  if (will !== undefined) {
    willTopicLen = stringLength(will.topic);
    rl += 2 + willTopicLen + 2 + will.payload.length;
    if (v5) {
      willPropsLen = propertiesLength(will.properties, WILL_CONTEXT);
      rl += propertyBlockSize(willPropsLen);
    }
  }
  const userLen = p.username === undefined ? -1 : stringLength(p.username);
  if (userLen >= 0) rl += 2 + userLen;
  if (p.password !== undefined) rl += 2 + p.password.length;

  const buf = allocPacket(CONNECT << 4, rl);
  let pos = writeString(buf, headerSize(rl), name, name.length);
  // Mosquitto's bridge flag: protocol level | 0x80 (3.x only; MQTT 5 has No Local instead).
  buf[pos++] = p.bridge === true && !v5 ? version | 0x80 : version;
  let flags = p.clean ? 0x02 : 0;
  if (will !== undefined) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (userLen >= 0) flags |= 0x80;
  buf[pos++] = flags;
  pos = writeU16(buf, pos, p.keepAlive);
  if (v5) pos = writeProperties(buf, pos, p.properties, propsLen);
  pos = writeString(buf, pos, p.clientId, clientIdLen);
  if (will !== undefined) {
    if (v5) pos = writeProperties(buf, pos, will.properties, willPropsLen);
    pos = writeString(buf, pos, will.topic, willTopicLen);
    pos = writeBinary(buf, pos, will.payload);
  }
  if (userLen >= 0) pos = writeString(buf, pos, p.username as string, userLen);
  if (p.password !== undefined) writeBinary(buf, pos, p.password);
  return buf;
}

/** Encodes CONNACK (MQTT 3.1 has no session present flag: it is written as 0). */
export function encodeConnack(p: ConnackPacket, version: ProtocolVersion): Buffer {
  const flags = p.sessionPresent && version !== 3 ? 1 : 0;
  if (version !== 5) {
    const buf = allocPacket(CONNACK << 4, 2);
    buf[2] = flags;
    buf[3] = p.reasonCode;
    return buf;
  }
  const propsLen = propertiesLength(p.properties, CONNACK);
  const rl = 2 + propertyBlockSize(propsLen);
  const buf = allocPacket(CONNACK << 4, rl);
  const pos = headerSize(rl);
  buf[pos] = flags;
  buf[pos + 1] = p.reasonCode;
  writeProperties(buf, pos + 2, p.properties, propsLen);
  return buf;
}
