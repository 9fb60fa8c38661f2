/**
 * The typed hook API. Three kinds:
 * - decisions (authenticate, authorizePublish, authorizeSubscribe): allow / deny / defer;
 *   the first non-defer answer wins; when hooks of a kind exist and all defer, the answer is deny;
 * - transforms (onPublish, onDeliver): each gets the previous one's result and may change it,
 *   or drop it by returning null;
 * - notifications (onConnected, onDisconnected, ...): after the fact; a hook that throws is
 *   logged and isolated.
 */
import type { Properties, QoS, SubscriptionRequest } from '../protocol/index.js';
import type { ClientInfo } from './client-info.js';
import type { Message } from './message.js';
import type { DropReason } from './metrics.js';

export type { ClientInfo } from './client-info.js';

/** A decision hook's plain answer. */
export type Verdict = 'allow' | 'deny' | 'defer';

/** What authenticate receives. */
export interface AuthenticateRequest {
  readonly client: ClientInfo;
  readonly password: Buffer | undefined;
  /** MQTT 5 enhanced authentication: the method from CONNECT/AUTH and the latest data. */
  readonly authenticationMethod: string | undefined;
  readonly authenticationData: Buffer | undefined;
  /** 0 for CONNECT, 1.. for each further AUTH step, and re-authentication. */
  readonly step: number;
  /**
   * True once the connection has ended (the core reads it live): a hook that queues
   * expensive work (hashing, a call to an auth service) can drop it, since nobody will
   * read the answer. Undefined when the caller does not track it (treat as open).
   */
  readonly closed?: boolean;
}

/** A detailed answer of authenticate. */
export interface AuthenticateResult {
  result: 'allow' | 'deny' | 'defer' | 'continue' | 'redirect';
  /** Reason code for deny (default 0x86 for password auth, 0x87 otherwise) or redirect (0x9C/0x9D). */
  reasonCode?: number;
  /** Data for the next AUTH packet ('continue') or CONNACK ('allow'). */
  authenticationData?: Buffer;
  /** Where to go ('redirect'), sent as Server Reference. */
  serverReference?: string;
  /** Replaces the username the client is known by (e.g. from a certificate or a token). */
  username?: string;
  /**
   * With 'allow': let the client in as anonymous. Its username, if any, stays as claimed
   * but is not verified (ClientInfo.usernameVerified false). Default: an allowed client's
   * username counts as verified.
   */
  anonymous?: boolean;
  /** With 'deny': the Reason String a v5 client gets (CONNACK). */
  reasonString?: string;
  /**
   * With 'deny': why, for the broker's log only (never sent to the client), e.g. 'unknown
   * user' where the client just gets 0x86. Default: `reasonString`, else the reason code's name.
   */
  logReason?: string;
}

/** What authorizePublish sees. */
export interface PublishRequest {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: Properties | undefined;
}

type MaybePromise<T> = T | Promise<T>;

/** A hook: any subset of these members. */
export interface Hook {
  /** Name used in logs. */
  readonly name?: string;
  authenticate?(request: AuthenticateRequest): MaybePromise<Verdict | AuthenticateResult>;
  authorizePublish?(client: ClientInfo, publish: PublishRequest): MaybePromise<Verdict>;
  /** May also lower the granted QoS by answering `{ result: 'allow', qos }`. */
  authorizeSubscribe?(
    client: ClientInfo,
    subscription: SubscriptionRequest,
  ): MaybePromise<Verdict | { result: 'allow'; qos: QoS }>;
  /** Transform of an inbound publish before routing; null drops it. */
  onPublish?(client: ClientInfo | undefined, message: Message): MaybePromise<Message | null>;
  /** Transform of a message about to be sent to one client; null drops it for that client. */
  onDeliver?(client: ClientInfo, message: Message): Message | null;
  onConnected?(client: ClientInfo): void;
  onDisconnected?(client: ClientInfo, reason: DisconnectInfo): void;
  onSubscribed?(client: ClientInfo, subscriptions: SubscriptionRequest[], granted: number[]): void;
  onUnsubscribed?(client: ClientInfo, filters: string[]): void;
  onPublished?(client: ClientInfo | undefined, message: Message): void;
  onDelivered?(clientId: string, message: Message): void;
  onDropped?(clientId: string, message: Message, reason: DropReason): void;
}

/** Why a connection ended. */
export interface DisconnectInfo {
  /** True when the client sent DISCONNECT (with 0x00 or 0x04). */
  readonly graceful: boolean;
  /** The reason code sent or received, when there was one. */
  readonly reasonCode: number | undefined;
  /** A short description for logs. */
  readonly reason: string;
}
