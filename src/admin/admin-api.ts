/**
 * The read and command API for operators and tools (`broker.admin`): list and page clients,
 * sessions, subscriptions and retained messages; one client's or session's details;
 * disconnect a client, delete a session, clear a retained message; the counters.
 *
 * Every method is async: today the answers come from memory, but sessions and retained
 * messages are moving behind store ports (SQLite, a shared store) and a cluster's answers
 * come from other nodes; the contract does not change when they do. Results are plain,
 * JSON-ready objects (types.ts) and never expose the engine's own objects.
 */
import type { BrokerCore, DisconnectOptions } from '../core/index.js';
import { clientDetails, listClients } from './clients.js';
import { type DeleteSessionOptions, deleteSession, disconnectClient } from './commands.js';
import { readCounters } from './counters.js';
import { clearRetainedMessage, listRetained, retainedMessage } from './retained.js';
import { listSessions, sessionDetails } from './sessions.js';
import { listSubscriptions } from './subscriptions.js';
import type {
  BrokerCounters,
  ClientDetails,
  ClientQuery,
  ClientSummary,
  Page,
  RetainedMessageInfo,
  RetainedQuery,
  SessionQuery,
  SessionSummary,
  SubscriptionInfo,
  SubscriptionQuery,
} from './types.js';

/** The read and command API over one broker engine. */
export class AdminApi {
  /**
   * @param core the engine to read and command.
   * @param ready resolves once the engine holds its state (a broker restores its store
   *   first); every call waits for it. Default: ready now.
   */
  constructor(
    private readonly core: BrokerCore,
    private readonly ready: () => Promise<void> = () => Promise.resolve(),
  ) {}

  /** Connected clients, by client id; filters: client id prefix, username, address, listener. */
  async clients(query: ClientQuery = {}): Promise<Page<ClientSummary>> {
    await this.ready();
    return listClients(this.core, query);
  }

  /** One connected client with its session's state; undefined when it is not connected. */
  async client(clientId: string): Promise<ClientDetails | undefined> {
    await this.ready();
    return clientDetails(this.core, clientId);
  }

  /** Sessions, connected or not, by client id; filters: client id prefix, connected. */
  async sessions(query: SessionQuery = {}): Promise<Page<SessionSummary>> {
    await this.ready();
    return listSessions(this.core, query);
  }

  /** One session; undefined when the broker holds none for this client id. */
  async session(clientId: string): Promise<SessionSummary | undefined> {
    await this.ready();
    return sessionDetails(this.core, clientId);
  }

  /** Subscriptions by client id then filter; filters: one client, one exact filter. */
  async subscriptions(query: SubscriptionQuery = {}): Promise<Page<SubscriptionInfo>> {
    await this.ready();
    return listSubscriptions(this.core, query);
  }

  /** Retained messages matching a topic filter (default `#`), by topic; payloads shortened. */
  async retained(query: RetainedQuery = {}): Promise<Page<RetainedMessageInfo>> {
    await this.ready();
    return listRetained(this.core, query);
  }

  /** The retained message of one topic with its whole payload; undefined when none. */
  async retainedMessage(topic: string): Promise<RetainedMessageInfo | undefined> {
    await this.ready();
    return retainedMessage(this.core, topic);
  }

  /** Every counter (drops and refusals by reason, memory budget usage) and what is held. */
  async counters(): Promise<BrokerCounters> {
    await this.ready();
    return readCounters(this.core);
  }

  /**
   * Disconnects a client: MQTT 5 DISCONNECT 0x98 Administrative action (or
   * `options.reasonCode`), 3.x closed; no will unless `options.sendWill`. Its session stays.
   * Resolves false when no client with this id is connected.
   */
  async disconnect(clientId: string, options: DisconnectOptions = {}): Promise<boolean> {
    await this.ready();
    return disconnectClient(this.core, clientId, options);
  }

  /**
   * Deletes a session, connected or not (a connected client gets DISCONNECT 0x98 first): its
   * next connection finds none. No will unless `options.sendWill`. False when there was none.
   */
  async deleteSession(clientId: string, options: DeleteSessionOptions = {}): Promise<boolean> {
    await this.ready();
    return deleteSession(this.core, clientId, options);
  }

  /**
   * Removes the retained message of a topic, from memory and the store, without publishing
   * anything to subscribers. False when the topic had none.
   */
  async clearRetained(topic: string): Promise<boolean> {
    await this.ready();
    return clearRetainedMessage(this.core, topic);
  }
}
