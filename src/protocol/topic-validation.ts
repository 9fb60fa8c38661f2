/**
 * Topic Name and Topic Filter syntax (spec 4.7 and 4.8.2). The topic layer builds its
 * matching on these rules; the decoder applies them to every PUBLISH, will and
 * (UN)SUBSCRIBE it reads.
 */
import { MqttError } from './errors.js';
import { ReasonCode } from './reason-codes.js';
import { mqttStringProblem } from './utf8.js';

const SHARE_PREFIX = '$share/';
const PLUS = 0x2b;
const HASH = 0x23;
const SLASH = 0x2f;
/** `String.prototype.charCodeAt` called as a constant: see the note in utf8.ts. */
const charCodeAt = String.prototype.charCodeAt;

function nameError(message: string, specId?: string): MqttError {
  return new MqttError(ReasonCode.TopicNameInvalid, `topic name ${message}`, specId);
}

function filterError(message: string, specId?: string): MqttError {
  return new MqttError(ReasonCode.TopicFilterInvalid, `topic filter ${message}`, specId);
}

/**
 * The wildcard problem of a topic name already known to be a valid MQTT string, or
 * undefined. Used by the decoder, which has checked the UTF-8 rules on the bytes.
 */
export function topicNameSyntaxError(topic: string, allowEmpty: boolean): MqttError | undefined {
  if (topic.length === 0) {
    return allowEmpty ? undefined : nameError('is empty', 'MQTT-4.7.3-1');
  }
  for (let i = 0; i < topic.length; i++) {
    const c = charCodeAt.call(topic, i);
    if (c === PLUS || c === HASH) return nameError('contains a wildcard', 'MQTT-4.7.0-1');
  }
  return undefined;
}

/**
 * Throws MqttError (0x90 Topic Name invalid) unless `topic` is a valid topic name:
 * non-empty unless `allowEmpty` (an MQTT 5 PUBLISH that uses a topic alias), no `+` or
 * `#`, no U+0000 or lone surrogate, at most 65535 bytes.
 */
export function validateTopicName(topic: string, allowEmpty = false): void {
  const problem = mqttStringProblem(topic);
  if (problem !== undefined) throw nameError(problem, 'MQTT-1.5.4-1');
  const err = topicNameSyntaxError(topic, allowEmpty);
  if (err !== undefined) throw err;
}

/** True when {@link validateTopicName} would accept `topic`. */
export function isValidTopicName(topic: string, allowEmpty = false): boolean {
  return (
    mqttStringProblem(topic) === undefined && topicNameSyntaxError(topic, allowEmpty) === undefined
  );
}

/**
 * The syntax problem of a topic filter already known to be a valid MQTT string, or
 * undefined: empty, misplaced wildcards, or a malformed `$share/{group}/{filter}`.
 */
export function topicFilterSyntaxError(filter: string): MqttError | undefined {
  if (filter.length === 0) return filterError('is empty', 'MQTT-4.7.3-1');
  let start = 0;
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf('/', SHARE_PREFIX.length);
    if (slash === SHARE_PREFIX.length || (slash < 0 && filter.length === SHARE_PREFIX.length)) {
      return filterError('has an empty share name', 'MQTT-4.8.2-1');
    }
    for (let i = SHARE_PREFIX.length; i < (slash < 0 ? filter.length : slash); i++) {
      const c = filter.charCodeAt(i);
      if (c === PLUS || c === HASH) {
        return filterError('has a wildcard in the share name', 'MQTT-4.8.2-2');
      }
    }
    if (slash < 0 || slash === filter.length - 1) {
      return filterError('has no filter after the share name', 'MQTT-4.8.2-2');
    }
    start = slash + 1;
  }
  return wildcardError(filter, start);
}

function wildcardError(filter: string, start: number): MqttError | undefined {
  const last = filter.length - 1;
  for (let i = start; i <= last; i++) {
    const c = filter.charCodeAt(i);
    if (c === HASH) {
      if (i !== last) return filterError("has '#' before the end", 'MQTT-4.7.1-1');
      if (i > start && filter.charCodeAt(i - 1) !== SLASH) {
        return filterError("has '#' inside a level", 'MQTT-4.7.1-1');
      }
    } else if (c === PLUS) {
      const alone =
        (i === start || filter.charCodeAt(i - 1) === SLASH) &&
        (i === last || filter.charCodeAt(i + 1) === SLASH);
      if (!alone) return filterError("has '+' inside a level", 'MQTT-4.7.1-2');
    }
  }
  return undefined;
}

/**
 * Throws MqttError (0x8F Topic Filter invalid) unless `filter` is a valid topic filter,
 * including the `$share/{ShareName}/{filter}` form [MQTT-4.8.2-1] [MQTT-4.8.2-2].
 */
export function validateTopicFilter(filter: string): void {
  const problem = mqttStringProblem(filter);
  if (problem !== undefined) throw filterError(problem, 'MQTT-1.5.4-1');
  const err = topicFilterSyntaxError(filter);
  if (err !== undefined) throw err;
}

/** True when {@link validateTopicFilter} would accept `filter`. */
export function isValidTopicFilter(filter: string): boolean {
  return mqttStringProblem(filter) === undefined && topicFilterSyntaxError(filter) === undefined;
}

/** True for a `$share/{group}/{filter}` subscription. */
export function isSharedFilter(filter: string): boolean {
  return filter.startsWith(SHARE_PREFIX);
}
