/**
 * A core message for tests that build batches or forwards by hand (the cluster's envelope,
 * batch builder, outbox, inbox): every field set, `fields` over plain defaults.
 */
import type { Message } from '../../src/core/index.js';

/** A QoS 1 message on `test/topic` with id 1 and payload `p`, with `fields` over those. */
export function testMessage(fields: Partial<Message> = {}): Message {
  return {
    id: 1,
    topic: 'test/topic',
    payload: Buffer.from('p'),
    qos: 1,
    retain: false,
    properties: undefined,
    expiresAt: undefined,
    origin: undefined,
    publisher: undefined,
    queueRefs: 0,
    ...fields,
  };
}
