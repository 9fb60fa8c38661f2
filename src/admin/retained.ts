/** Retained messages as the read API shows them, and clearing one. */
import type { BrokerCore, Message } from '../core/index.js';
import { isValidTopicFilter, isValidTopicName } from '../protocol/index.js';
import { clearRetained, matchRetained } from './core-view.js';
import { InvalidRequestError } from './errors.js';
import { pageOf } from './paging.js';
import {
  PAYLOAD_PREVIEW_BYTES,
  type Page,
  type RetainedMessageInfo,
  type RetainedQuery,
} from './types.js';

/** One page of the retained messages matching the query's filter, ordered by topic. */
export function listRetained(core: BrokerCore, query: RetainedQuery): Page<RetainedMessageInfo> {
  const filter = query.filter ?? '#';
  if (!isValidTopicFilter(filter)) {
    throw new InvalidRequestError(`not a valid topic filter: ${JSON.stringify(filter)}`);
  }
  return pageOf(
    matchRetained(core, filter),
    (message) => message.topic,
    (message) => retainedInfo(message, PAYLOAD_PREVIEW_BYTES),
    query,
  );
}

/** The retained message of one topic, with its whole payload; undefined when there is none. */
export function retainedMessage(core: BrokerCore, topic: string): RetainedMessageInfo | undefined {
  checkTopic(topic);
  const [message] = matchRetained(core, topic);
  return message === undefined ? undefined : retainedInfo(message, message.payload.length);
}

/** Removes the retained message of `topic` without publishing; false when there was none. */
export function clearRetainedMessage(core: BrokerCore, topic: string): boolean {
  checkTopic(topic);
  return clearRetained(core, topic);
}

function checkTopic(topic: string): void {
  if (!isValidTopicName(topic)) {
    throw new InvalidRequestError(`not a valid topic name: ${JSON.stringify(topic)}`);
  }
}

function retainedInfo(message: Message, maxPayloadBytes: number): RetainedMessageInfo {
  const payload = message.payload;
  const shown = payload.length > maxPayloadBytes ? payload.subarray(0, maxPayloadBytes) : payload;
  const properties = message.properties;
  return {
    topic: message.topic,
    qos: message.qos,
    payloadBytes: payload.length,
    payloadBase64: shown.toString('base64'),
    payloadTruncated: shown.length < payload.length,
    payloadIsUtf8: properties?.payloadFormatIndicator === 1,
    contentType: properties?.contentType ?? null,
    responseTopic: properties?.responseTopic ?? null,
    userProperties: properties?.userProperties?.map(([k, v]) => [k, v]) ?? [],
    expiresAt: message.expiresAt ?? null,
    publisherClientId: message.origin ?? null,
  };
}
