/**
 * Wills of clients whose node dies. While a client with a will is connected, its node keeps
 * a copy in Redis (`wills:<node id>`, one field per client id), removed when the connection
 * ends (the node itself then sends or discards the will, as on one node). When a node's lease
 * expires, the survivor that removes its traces takes this hash with them (one Lua script:
 * one survivor only) and schedules each will here as the dead node would have: after the
 * Will Delay Interval, or at once when the session ended with the connection (the lower of
 * the will delay and the session expiry) [MQTT-3.1.3-9]. A client that connects here again
 * meanwhile with a new session gets its will sent at once, as its old session ended.
 */
import { deserialize, serialize } from 'node:v8';
import type { BrokerCore, ClientInfo } from '../core/index.js';
import { Connection } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { Will } from '../protocol/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';

/** What is kept of a connected client's will. */
interface StoredWill {
  will: Will;
  client: Pick<
    ClientInfo,
    'clientId' | 'username' | 'usernameVerified' | 'listener' | 'protocolVersion'
  >;
  /** Session Expiry Interval of the client's session, in seconds. */
  sessionExpiry: number;
}

/** Copies of connected clients' wills, and the wills of dead nodes' clients. */
export class NodeWills {
  constructor(
    private readonly core: BrokerCore,
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly logger: Logger,
    private readonly nodeId: () => number,
  ) {}

  /** A client connected here: its will (if any) is copied to Redis. */
  connected(client: ClientInfo): void {
    const session = this.core.sessions.get(client.clientId);
    const output = session?.output;
    if (!(output instanceof Connection) || output.will === undefined) return;
    const stored: StoredWill = {
      will: output.will,
      client: {
        clientId: client.clientId,
        username: client.username,
        usernameVerified: client.usernameVerified,
        listener: client.listener,
        protocolVersion: client.protocolVersion,
      },
      sessionExpiry: session!.expiryInterval,
    };
    this.redis
      .hset(this.keys.wills(this.nodeId()), client.clientId, serialize(stored))
      .catch((err: unknown) => this.warn(err, client.clientId, 'copying a will'));
  }

  /** A client's connection here ended: this node decides the fate of its will. */
  disconnected(clientId: string): void {
    this.redis
      .hdel(this.keys.wills(this.nodeId()), clientId)
      .catch((err: unknown) => this.warn(err, clientId, 'removing a will copy'));
  }

  /** Schedules the wills a dead node's clients left (their values from its hash). */
  adopt(deadNode: number, values: readonly Buffer[]): void {
    for (const value of values) {
      let stored: StoredWill;
      try {
        stored = deserialize(value) as StoredWill;
      } catch (err) {
        this.warn(err, '', 'reading a will of a dead node');
        continue;
      }
      const { will, client, sessionExpiry } = stored;
      const delay = Math.min(will.properties?.willDelayInterval ?? 0, sessionExpiry);
      const properties = { ...will.properties, willDelayInterval: delay };
      this.logger.info(
        { clientId: client.clientId, node: deadNode, delay },
        'cluster: sending the will of a client of a node that died',
      );
      this.core.wills.schedule(
        { ...client, remoteAddress: undefined, certificateIdentity: undefined },
        { ...will, properties },
      );
    }
  }

  private warn(err: unknown, clientId: string, what: string): void {
    this.logger.warn({ err: String(err), clientId }, `cluster: ${what} failed`);
  }
}
