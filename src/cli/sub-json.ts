/**
 * `sub -F %j` and `%J`: a message as one JSON object, as mosquitto_sub writes it (tst,
 * topic, qos, retain, payloadlen, mid, MQTT 5 properties, payload). `%j` quotes the
 * payload as a string; a payload that is not UTF-8 goes in `payload_base64` instead, so the
 * line stays valid JSON and no byte is lost. `%J` inserts the payload as JSON.
 */
import type { PublishPacket } from '../protocol/packets.js';
import { isoMicros, type Stamp } from './clock-text.js';

/** Valid UTF-8 text of `bytes`, or undefined. */
export function utf8Text(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function propertiesJson(p: PublishPacket): Record<string, unknown> | undefined {
  const props = p.properties;
  if (!props) return undefined;
  const out: Record<string, unknown> = {};
  if (props.payloadFormatIndicator !== undefined) {
    out['payload-format-indicator'] = props.payloadFormatIndicator;
  }
  if (props.messageExpiryInterval !== undefined) {
    out['message-expiry-interval'] = props.messageExpiryInterval;
  }
  if (props.contentType !== undefined) out['content-type'] = props.contentType;
  if (props.responseTopic !== undefined) out['response-topic'] = props.responseTopic;
  if (props.correlationData !== undefined) {
    out['correlation-data'] =
      utf8Text(props.correlationData) ?? props.correlationData.toString('base64');
  }
  if (props.topicAlias !== undefined) out['topic-alias'] = props.topicAlias;
  if (props.subscriptionIdentifiers?.length) {
    out['subscription-identifier'] = props.subscriptionIdentifiers[0];
  }
  if (props.userProperties?.length) {
    out['user-properties'] = Object.fromEntries(props.userProperties);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The JSON text of a message. `rawPayload`: insert the payload as JSON (`%J`); returns
 * undefined when it is not valid JSON. `pretty`: indented over several lines.
 */
export function messageJson(
  p: PublishPacket,
  stamp: Stamp,
  rawPayload: boolean,
  pretty: boolean,
): string | undefined {
  const obj: Record<string, unknown> = {
    tst: isoMicros(stamp),
    topic: p.topic,
    qos: p.qos,
    retain: p.retain ? 1 : 0,
    payloadlen: p.payload.length,
  };
  if (p.qos > 0) obj.mid = p.packetId;
  const properties = propertiesJson(p);
  if (properties) obj.properties = properties;
  const text = utf8Text(p.payload);
  if (rawPayload) {
    try {
      obj.payload = JSON.parse(text ?? '');
    } catch {
      return undefined;
    }
  } else if (text !== undefined) obj.payload = text;
  else obj.payload_base64 = p.payload.toString('base64');
  return pretty ? JSON.stringify(obj, null, '\t') : JSON.stringify(obj);
}
