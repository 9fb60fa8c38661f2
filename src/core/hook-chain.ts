/**
 * Runs the installed hooks in order with the rules of each kind (see hooks.ts).
 */

import type { Logger } from '../ports/index.js';
import type { QoS, SubscriptionRequest } from '../protocol/index.js';
import { ReasonCode } from '../protocol/index.js';
import type {
  AuthenticateRequest,
  AuthenticateResult,
  ClientInfo,
  Hook,
  PublishRequest,
  Verdict,
} from './hooks.js';
import type { Message } from './message.js';

type NotificationName =
  | 'onConnected'
  | 'onDisconnected'
  | 'onSubscribed'
  | 'onUnsubscribed'
  | 'onPublished'
  | 'onDelivered'
  | 'onDropped';

/** The ordered hook list with one runner per hook kind. */
export class HookChain {
  private hooks: Hook[] = [];
  /** True when some hook has onPublish (the publish path must then await). */
  hasPublishTransform = false;
  hasDeliverTransform = false;
  hasAuthorizePublish = false;
  hasAuthorizeSubscribe = false;
  hasAuthenticate = false;
  hasPublishedNotification = false;
  hasDeliveredNotification = false;
  hasDroppedNotification = false;

  constructor(private readonly logger: Logger) {}

  /** Installs a hook at the end of the chain. */
  add(hook: Hook): void {
    this.hooks.push(hook);
    this.hasPublishTransform ||= typeof hook.onPublish === 'function';
    this.hasDeliverTransform ||= typeof hook.onDeliver === 'function';
    this.hasAuthorizePublish ||= typeof hook.authorizePublish === 'function';
    this.hasAuthorizeSubscribe ||= typeof hook.authorizeSubscribe === 'function';
    this.hasAuthenticate ||= typeof hook.authenticate === 'function';
    this.hasPublishedNotification ||= typeof hook.onPublished === 'function';
    this.hasDeliveredNotification ||= typeof hook.onDelivered === 'function';
    this.hasDroppedNotification ||= typeof hook.onDropped === 'function';
  }

  /**
   * First non-defer answer wins; all-defer is deny (only called when some hook
   * authenticates). When every hook deferred a request with an MQTT 5 Authentication
   * Method, no hook supports that method: 0x8C Bad authentication method [MQTT-4.12.0-1].
   * Synchronous while every hook answers synchronously (the built-in listener policy does),
   * so a CONNECT awaits nothing, and its connection is not paused and resumed, unless a hook
   * really is asynchronous. A hook that throws makes this throw (or reject, after an
   * asynchronous answer): the caller fails the connection either way.
   */
  authenticate(request: AuthenticateRequest): AuthenticateResult | Promise<AuthenticateResult> {
    return this.authenticateFrom(0, request);
  }

  private authenticateFrom(
    start: number,
    request: AuthenticateRequest,
  ): AuthenticateResult | Promise<AuthenticateResult> {
    const hooks = this.hooks;
    for (let i = start; i < hooks.length; i++) {
      const hook = hooks[i]!;
      if (!hook.authenticate) continue;
      const answer = hook.authenticate(request);
      if (isPromise(answer)) {
        return answer.then((settled) => {
          const result = typeof settled === 'string' ? { result: settled } : settled;
          return result.result === 'defer' ? this.authenticateFrom(i + 1, request) : result;
        });
      }
      const result = typeof answer === 'string' ? { result: answer } : answer;
      if (result.result !== 'defer') return result;
    }
    if (request.authenticationMethod !== undefined) {
      return {
        result: 'deny',
        reasonCode: ReasonCode.BadAuthenticationMethod,
        logReason: `no hook supports the authentication method ${request.authenticationMethod}`,
      };
    }
    return { result: 'deny', logReason: 'no authenticate hook accepted the client' };
  }

  /**
   * Allow when no hook authorizes publishes; else first non-defer wins, all-defer denies.
   * Synchronous while every hook answers synchronously, so the publish path awaits nothing
   * unless a hook really is asynchronous.
   */
  authorizePublish(client: ClientInfo, publish: PublishRequest): boolean | Promise<boolean> {
    const decided = this.decidePublishFrom(0, client, publish);
    return typeof decided === 'string'
      ? this.allows(decided)
      : decided.then((settled) => this.allows(settled));
  }

  /**
   * The first non-defer answer of the authorizePublish hooks, or 'defer' when every one
   * deferred (or none is installed): a will whose client's listener no hook here knows is
   * then decided by the verdict its own node recorded (message-pipeline.ts).
   */
  decidePublish(client: ClientInfo, publish: PublishRequest): Verdict | Promise<Verdict> {
    return this.decidePublishFrom(0, client, publish);
  }

  private allows(decided: Verdict): boolean {
    return decided === 'defer' ? !this.hasAuthorizePublish : decided === 'allow';
  }

  private decidePublishFrom(
    start: number,
    client: ClientInfo,
    publish: PublishRequest,
  ): Verdict | Promise<Verdict> {
    const hooks = this.hooks;
    for (let i = start; i < hooks.length; i++) {
      const hook = hooks[i]!;
      if (!hook.authorizePublish) continue;
      const answer = hook.authorizePublish(client, publish);
      if (isPromise(answer)) {
        return answer.then((settled) =>
          settled === 'defer' ? this.decidePublishFrom(i + 1, client, publish) : settled,
        );
      }
      if (answer !== 'defer') return answer;
    }
    return 'defer';
  }

  /** Returns the granted QoS ceiling, or undefined when denied. */
  async authorizeSubscribe(
    client: ClientInfo,
    subscription: SubscriptionRequest,
  ): Promise<QoS | undefined> {
    for (const hook of this.hooks) {
      if (!hook.authorizeSubscribe) continue;
      const answer = await hook.authorizeSubscribe(client, subscription);
      if (answer === 'defer') continue;
      if (answer === 'deny') return undefined;
      if (answer === 'allow') return subscription.qos;
      return Math.min(answer.qos, subscription.qos) as QoS;
    }
    return this.hasAuthorizeSubscribe ? undefined : subscription.qos;
  }

  /** Runs the onPublish transforms in order; null means dropped. Synchronous when they all are. */
  transformPublish(
    client: ClientInfo | undefined,
    message: Message,
  ): Message | null | Promise<Message | null> {
    return this.transformPublishFrom(0, client, message);
  }

  private transformPublishFrom(
    start: number,
    client: ClientInfo | undefined,
    message: Message,
  ): Message | null | Promise<Message | null> {
    const hooks = this.hooks;
    let current: Message | null = message;
    for (let i = start; i < hooks.length && current !== null; i++) {
      const hook = hooks[i]!;
      if (!hook.onPublish) continue;
      const result: Message | null | Promise<Message | null> = hook.onPublish(client, current);
      if (isPromise(result)) {
        return result.then((next) =>
          next === null ? null : this.transformPublishFrom(i + 1, client, next),
        );
      }
      current = result;
    }
    return current;
  }

  /** Runs the onDeliver transforms (synchronous: they sit on the fan-out path). */
  transformDeliver(client: ClientInfo, message: Message): Message | null {
    let current: Message | null = message;
    for (const hook of this.hooks) {
      if (!hook.onDeliver || current === null) continue;
      try {
        current = hook.onDeliver(client, current);
      } catch (err) {
        this.logger.error(
          { err, hook: hook.name },
          'onDeliver hook threw; message passed unchanged',
        );
      }
    }
    return current;
  }

  /** Calls a notification on every hook; a throwing hook is logged and isolated. */
  notify<K extends NotificationName>(name: K, ...args: Parameters<NonNullable<Hook[K]>>): void {
    for (const hook of this.hooks) {
      const fn = hook[name] as ((...a: unknown[]) => void) | undefined;
      if (!fn) continue;
      try {
        fn.apply(hook, args);
      } catch (err) {
        this.logger.error({ err, hook: hook.name, notification: name }, 'hook threw; isolated');
      }
    }
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
