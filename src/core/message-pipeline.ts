/**
 * The message pipeline: every message enters the broker here, whatever its source (a client's
 * PUBLISH, the host application, a will; later a bridge or another node), and goes through
 * the same steps: authorization (for messages of a client), the onPublish transforms, the
 * retained store, the router, and the onPublished notification.
 *
 * The path stays synchronous while the hooks answer synchronously (none installed: no hook
 * is even asked), so a client's QoS 0 publish awaits nothing; only a hook that returns a
 * promise makes its source wait.
 */
import type { Clock, Logger } from '../ports/index.js';
import type { Properties, QoS, Will } from '../protocol/index.js';
import { MqttError, ReasonCode, validateTopicName } from '../protocol/index.js';
import { AckWaits } from './ack-waits.js';
import type { BudgetAdmission } from './budget-admission.js';
import type { ClientInfo } from './client-info.js';
import type { DropCounter } from './drops.js';
import type { HookChain } from './hook-chain.js';
import type { PublishRequest } from './hooks.js';
import type { RefusalLog } from './limits.js';
import type { Message } from './message.js';
import { createMessage } from './message.js';
import type { MessageIds } from './message-ids.js';
import type { CoreOptions } from './options.js';
import type { RetainedMessages } from './retained.js';
import type { ForwardedScope, Router } from './router.js';
import { isSysTopic } from './sys-topic.js';
import type { WillVerdict } from './will-verdict.js';

/** A message published by the host application. */
export interface HostPublish {
  topic: string;
  payload: Buffer | string;
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
}

/** A client's publish was not routed: no authorizePublish hook allowed it. */
export const NOT_AUTHORIZED = -1;
/** A client's publish was not routed: an onPublish transform dropped it (counted). */
export const DROPPED_BY_HOOK = -2;
/** A client's publish was not routed: its connection closed while a hook worked on it. */
export const ABANDONED = -3;

/** What a client's publish came to: deliveries made (>= 0), or one of the codes above. */
export type PublishOutcome = number;

/** What the pipeline is built from. */
export interface PipelineParts {
  readonly options: CoreOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly hooks: HookChain;
  readonly router: Router;
  readonly retained: RetainedMessages;
  readonly budget: BudgetAdmission;
  readonly refusals: RefusalLog;
  readonly drops: DropCounter;
  readonly messageIds: MessageIds;
}

/** The one way into the broker for a message. */
export class MessagePipeline {
  /**
   * What the acknowledgement of a client's publish waits for besides the store's commit,
   * added by a subscriber while the message is routed (ack-waits.ts).
   */
  readonly ackWaits = new AckWaits();
  private readonly hooks: HookChain;
  private readonly router: Router;

  constructor(private readonly parts: PipelineParts) {
    this.hooks = parts.hooks;
    this.router = parts.router;
  }

  /**
   * Routes a message (retaining it first when asked). Returns the number of deliveries.
   * `step`: the client's message as {@link fromClient} got it, whose publish is acknowledged
   * (a subscriber may add a wait to that acknowledgement meanwhile: {@link ackWaits}).
   */
  route(message: Message, publisher?: ClientInfo, step?: Message): number {
    if (message.retain) {
      const stored = this.parts.retained.set(message);
      if (stored !== true) this.refuseRetained(publisher?.clientId ?? '', message, stored);
    }
    const outer = this.ackWaits.begin(step);
    let delivered: number;
    try {
      delivered = this.router.route(message);
    } finally {
      this.ackWaits.end(outer);
    }
    if (this.hooks.hasPublishedNotification) this.hooks.notify('onPublished', publisher, message);
    return delivered;
  }

  /**
   * A message of the broker's own (the `$SYS` tree): retained and routed like any, but no
   * `onPublished` notification (the `published` event) fires for it. Embedders and hooks see
   * the messages of clients and of the host application, not the broker's own bookkeeping,
   * as Mosquitto's plugins never see its `$SYS` updates: a hook that forwards or audits every
   * message would otherwise get dozens each interval, none from anyone. Deliveries to
   * clients subscribed to them still notify `onDelivered` (a client received something).
   */
  fromBroker(message: Message): number {
    if (message.retain) {
      const stored = this.parts.retained.set(message);
      if (stored !== true) this.refuseRetained('', message, stored);
    }
    return this.router.route(message);
  }

  /**
   * A message another node of a cluster accepted (authorized, transformed and retained
   * there) and sent here: delivered to this node's matching subscribers only, never
   * retained again nor handed to a remote target (see {@link Router.routeForwarded}).
   */
  fromNode(message: Message, scope: ForwardedScope): number {
    return this.router.routeForwarded(message, scope);
  }

  /**
   * A client's message: authorized (with `properties` as the PUBLISH carried them),
   * transformed, then routed. Synchronous while the hooks are; `source.closed` is checked
   * after each hook that made it wait. A hook that throws (or rejects) fails the caller's step.
   * Once routed, what its acknowledgement waits for besides the commit is
   * `ackWaits.take(message)`.
   */
  fromClient(
    message: Message,
    client: ClientInfo,
    properties: Properties | undefined,
    source: { readonly closed: boolean },
  ): PublishOutcome | Promise<PublishOutcome> {
    if (isSysTopic(message.topic)) {
      // $SYS is the broker's voice: refused whatever the hooks say (v5 PUBACK/PUBREC 0x87;
      // 3.x acknowledged as usual and dropped, see publish-flow.ts, as Mosquitto does).
      this.denyPublish(client, message.topic, '$SYS is read-only');
      return NOT_AUTHORIZED;
    }
    const hooks = this.hooks;
    if (!hooks.hasAuthorizePublish && !hooks.hasPublishTransform) {
      return this.route(message, client, message);
    }
    // The message itself is the request when it carries the PUBLISH's properties as they came
    // (always for MQTT 3.x: none): no object per publish for the hooks (issue #17).
    const request: PublishRequest =
      properties === message.properties
        ? message
        : {
            topic: message.topic,
            payload: message.payload,
            qos: message.qos,
            retain: message.retain,
            properties,
          };
    const allowed = hooks.authorizePublish(client, request);
    if (typeof allowed === 'boolean')
      return this.afterAuthorization(message, client, allowed, source);
    return allowed.then((settled) =>
      source.closed ? ABANDONED : this.afterAuthorization(message, client, settled, source),
    );
  }

  /** Publishes from the host application (no authorization; onPublish transforms apply). */
  async fromHost(request: HostPublish): Promise<number> {
    validateTopicName(request.topic);
    const responseTopic = request.properties?.responseTopic;
    if (responseTopic !== undefined && /[+#]/.test(responseTopic)) {
      // Subscribers would receive a Response Topic with wildcards [MQTT-3.3.2-14].
      throw new MqttError(
        ReasonCode.ProtocolError,
        'response topic contains a wildcard',
        'MQTT-3.3.2-14',
      );
    }
    const payload =
      typeof request.payload === 'string' ? Buffer.from(request.payload) : request.payload;
    const message = createMessage(
      this.parts.messageIds.take(),
      {
        topic: request.topic,
        payload,
        qos: request.qos ?? 0,
        retain: request.retain ?? false,
        properties: request.properties,
      },
      this.parts.clock.now(),
    );
    const transformed = this.hooks.hasPublishTransform
      ? await this.hooks.transformPublish(undefined, message)
      : message;
    if (transformed === null) return 0;
    return this.route(transformed);
  }

  /**
   * A will fell due: published as from its client, authorized like the client's own
   * messages (a will it may no longer publish is not sent, and logged). With publish hooks
   * installed, returns a promise that settles once they decided and the will was routed.
   *
   * `recorded` is the verdict of the node the client was connected to, kept with a cluster
   * node's copies of its will (will-verdict.ts): it decides only when every authorizePublish hook
   * here defers, i.e. when no rule of this node applies to the client (its listener is
   * another node's); this node's own answer always wins. Without one, such a will is denied.
   */
  fromWill(will: Will, client: ClientInfo, recorded?: WillVerdict): Promise<void> | undefined {
    if (isSysTopic(will.topic)) {
      this.denyPublish(client, will.topic, 'will: $SYS is read-only');
      return undefined;
    }
    // Will Delay Interval belongs to the will, not to the PUBLISH [MQTT-3.1.3-9]: forwarding
    // it would make the message unencodable.
    const { willDelayInterval: _delay, ...properties } = will.properties ?? {};
    const message = createMessage(
      this.parts.messageIds.take(),
      {
        topic: will.topic,
        payload: will.payload,
        qos: will.qos,
        retain: will.retain,
        properties,
        origin: client.clientId,
        publisher: client,
      },
      this.parts.clock.now(),
    );
    if (!this.hooks.hasAuthorizePublish && !this.hooks.hasPublishTransform) {
      this.route(message, client);
      return undefined;
    }
    return this.willWithHooks(message, client, recorded);
  }

  private afterAuthorization(
    message: Message,
    client: ClientInfo,
    allowed: boolean,
    source: { readonly closed: boolean },
  ): PublishOutcome | Promise<PublishOutcome> {
    if (!allowed) {
      this.denyPublish(client, message.topic, 'not authorized');
      return NOT_AUTHORIZED;
    }
    if (!this.hooks.hasPublishTransform) return this.route(message, client, message);
    const transformed = this.hooks.transformPublish(client, message);
    if (transformed === null || !isPromise(transformed)) {
      return this.afterTransform(message, transformed, client);
    }
    return transformed.then((settled) =>
      source.closed ? ABANDONED : this.afterTransform(message, settled, client),
    );
  }

  private afterTransform(
    original: Message,
    message: Message | null,
    client: ClientInfo,
  ): PublishOutcome {
    if (message === null) {
      this.parts.drops.record(client.clientId, original, 'hook');
      return DROPPED_BY_HOOK;
    }
    return this.route(message, client, original);
  }

  private async willWithHooks(
    message: Message,
    client: ClientInfo,
    recorded: WillVerdict | undefined,
  ): Promise<void> {
    try {
      const hooks = this.hooks;
      const decided = hooks.hasAuthorizePublish
        ? await hooks.decidePublish(client, message)
        : 'allow';
      if (decided === 'defer' && recorded === 'allow') {
        // Sent on the client's own node's verdict: as a message another node forwarded, it
        // holds no publisher, so checkRetainSource does not put it to rules here that do
        // not know its listener (retained-delivery.ts).
        message = { ...message, publisher: undefined };
      } else if (decided !== 'allow') {
        const byItsNode = decided === 'defer' && recorded === 'deny';
        this.denyPublish(
          client,
          message.topic,
          byItsNode ? 'will: not authorized by its client’s node' : 'will: not authorized',
        );
        return;
      }
      const transformed = await hooks.transformPublish(client, message);
      if (transformed) this.route(transformed, client);
    } catch (err) {
      this.parts.logger.error({ err, clientId: client.clientId }, 'will publish failed');
    }
  }

  /** Counts and logs (throttled, at warn) a client's publish that is not routed. */
  private denyPublish(client: ClientInfo, topic: string, reason: string): void {
    this.parts.refusals.note('publish-denied', deniedPublishFields, 'publish denied', {
      client,
      topic,
      reason,
    });
  }

  private refuseRetained(
    clientId: string,
    message: Message,
    reason: 'retained-limit' | 'retained-bytes' | 'memory-budget',
  ): void {
    this.parts.drops.record(clientId, message, reason);
    if (reason === 'memory-budget') {
      this.parts.budget.refuseRetained(message);
    } else if (reason === 'retained-bytes') {
      this.parts.refusals.note(
        'retained-bytes',
        { clientId, topic: message.topic, maxRetainedBytes: this.parts.options.maxRetainedBytes },
        'retained message refused: maxRetainedBytes reached',
      );
    }
  }
}

/** The log fields of a denied publish (built only when the line is logged). */
function deniedPublishFields(denied: {
  client: ClientInfo;
  topic: string;
  reason: string;
}): Record<string, unknown> {
  const { client, topic, reason } = denied;
  return {
    clientId: client.clientId,
    username: client.username,
    address: client.remoteAddress,
    topic,
    reason,
  };
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Partial<Promise<T>> | null)?.then === 'function';
}
