/**
 * Messages from the remote, published here: mapped to their local topic by the `in` rules and
 * entered through the message pipeline as the bridge's own client (`$bridge/<name>`), so the
 * ACL and the onPublish transforms apply as to a client's PUBLISH, and No Local keeps them
 * from going back out through the bridge's own subscriptions.
 */
import type { BrokerCore, ClientInfo } from '../core/index.js';
import { createMessage } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { PublishPacket } from '../protocol/index.js';
import type { BridgeCounters } from './bridge-counters.js';
import type { TopicRules } from './topic-rules.js';

/** What an incoming message needs. */
export interface InboundParts {
  readonly core: BrokerCore;
  readonly client: ClientInfo;
  readonly rules: TopicRules;
  readonly counters: BridgeCounters;
  readonly logger: Logger;
}

/** Never abandoned: the bridge outlives its connections. */
const SOURCE = { closed: false } as const;

/**
 * Publishes one message from the remote here. Returns a promise when a hook made the pipeline
 * wait (it settles once the message is routed or refused); nothing when it is done already.
 */
export function publishInbound(
  parts: InboundParts,
  topic: string,
  packet: PublishPacket,
): Promise<void> | undefined {
  const localTopic = parts.rules.toLocal(topic);
  if (localTopic === undefined) {
    // A resumed remote session may still hold a subscription of a rule that was removed.
    parts.logger.debug({ topic }, 'bridge: message from the remote matches no in rule');
    return undefined;
  }
  const { core, client, counters } = parts;
  const message = createMessage(
    core.messageIds.take(),
    {
      topic: localTopic,
      payload: packet.payload,
      qos: packet.qos,
      retain: packet.retain,
      properties: packet.properties,
      origin: client.clientId,
      publisher: client,
    },
    core.clock.now(),
  );
  const count = (outcome: number): void => {
    if (outcome >= 0) counters.messagesIn++;
    else counters.refusedIn++;
  };
  const failed = (err: unknown): void =>
    parts.logger.error({ err, topic: localTopic }, 'bridge: publishing a message here failed');
  try {
    const outcome = core.pipeline.fromClient(message, client, packet.properties, SOURCE);
    if (typeof outcome === 'number') count(outcome);
    else return outcome.then(count, failed);
  } catch (err) {
    failed(err);
  }
  return undefined;
}
