/**
 * Routes over the broker as a whole: its counters, reloading its files (what SIGHUP does),
 * draining a cluster node (what SIGTERM does there), and its nodes (this one, then the other
 * nodes of its cluster).
 */
import { hostname } from 'node:os';
import type {
  AdminRouteOptions,
  ApiRoute,
  DrainAccepted,
  NodeInfo,
  PeerNode,
} from './api-types.js';
import { ApiProblem } from './problem.js';
import { ref } from './schemas.js';

/** This node's id: as configured (read when asked: a cluster node learns it at start). */
function nodeIdOf(options: AdminRouteOptions): string {
  const id = options.node?.id;
  return (typeof id === 'function' ? id() : id) ?? hostname();
}

/** Whole seconds from `startedAt` to `now` (never negative: clocks of two nodes differ). */
function uptimeOf(startedAt: number, now: number): number {
  return Math.max(0, Math.floor((now - startedAt) / 1000));
}

/** This node as `GET /nodes` lists it (its figures read from the core's counters now). */
export async function thisNode(options: AdminRouteOptions, startedAt: number): Promise<NodeInfo> {
  const now = (options.now ?? Date.now)();
  // The core's counters as they are: the login form asks /nodes, and should not wait for a
  // store that restores (admin.counters() does).
  const counters = options.broker.core?.metrics ?? (await options.broker.admin.counters());
  return {
    nodeId: nodeIdOf(options),
    self: true,
    state: options.node?.state?.() ?? 'up',
    version: options.node?.version ?? 'unknown',
    startedAt,
    uptimeSeconds: uptimeOf(startedAt, now),
    address: options.node?.address ?? null,
    connections: counters.connectionsCurrent,
    messagesReceived: counters.messagesReceived,
    messagesSent: counters.messagesSent,
    listeners: options.broker.addresses.map(({ protocol, host, port, url }) => ({
      protocol,
      host,
      port,
      url,
    })),
  };
}

/** A peer as `GET /nodes` lists it: from its summary, or its id and `unknown` without one. */
function peerInfo({ nodeId, summary }: PeerNode, now: number): NodeInfo {
  if (summary === undefined) {
    return {
      nodeId,
      self: false,
      state: 'unknown',
      version: null,
      startedAt: null,
      uptimeSeconds: null,
      address: null,
      connections: null,
      messagesReceived: null,
      messagesSent: null,
      listeners: [],
    };
  }
  return {
    nodeId,
    self: false,
    state: summary.state,
    version: summary.version,
    startedAt: summary.startedAt,
    uptimeSeconds: uptimeOf(summary.startedAt, now),
    address: summary.address,
    connections: summary.connections,
    messagesReceived: summary.messagesReceived,
    messagesSent: summary.messagesSent,
    listeners: summary.listeners.map(({ protocol, host, port, url }) => ({
      protocol,
      host,
      port,
      url,
    })),
  };
}

/** The other live nodes of the cluster, with what each published of itself. */
async function peerNodes(options: AdminRouteOptions): Promise<NodeInfo[]> {
  const peers = (await options.peers?.()) ?? [];
  const now = (options.now ?? Date.now)();
  return peers.map((peer) => peerInfo(peer, now));
}

/**
 * The routes of this file, in the order of the document.
 * @param startedAt when this node started (ms since the epoch), for its uptime.
 */
export function brokerRoutes(startedAt: number): ApiRoute[] {
  return [
    {
      method: 'GET',
      path: '/counters',
      operationId: 'getCounters',
      tag: 'broker',
      summary:
        "The broker's counters: traffic, drops and refusals by reason, memory, what it holds",
      scope: 'read',
      success: { status: 200, description: 'the counters', schema: ref('BrokerCounters') },
      errors: [400],
      handle: async (ctx) => ({ status: 200, body: await ctx.options.broker.admin.counters() }),
    },
    {
      method: 'POST',
      path: '/reload',
      operationId: 'reload',
      tag: 'broker',
      summary: 'Reload the password, ACL and TLS files, as SIGHUP does',
      description:
        'A file that fails to load keeps its previous contents (ok: false and the error). ' +
        'Connections whose login a reloaded password file revokes are closed (MQTT 5: 0x98).',
      scope: 'full',
      success: { status: 200, description: 'what was reloaded', schema: ref('ReloadReport') },
      errors: [400, 501],
      handle: async (ctx) => {
        const reload = ctx.options.reload;
        if (reload === undefined) {
          throw new ApiProblem(
            'not-configured',
            'this broker has no files to reload (it was not started from a configuration)',
          );
        }
        return { status: 200, body: await reload() };
      },
    },
    {
      method: 'POST',
      path: '/drain',
      operationId: 'drain',
      tag: 'broker',
      summary:
        'Drain this cluster node, as SIGTERM does: its clients move to a peer, then it exits',
      description:
        'Answered at once (202), before the node stops accepting connections: MQTT 5 clients get ' +
        'DISCONNECT 0x9C with the Server Reference of a live peer, 3.x clients are closed, their ' +
        'sessions are handed to a peer, and the process exits 0 (docs/cluster.md). 409 while it ' +
        'drains already; 501 on a broker that is not a cluster node.',
      scope: 'full',
      success: { status: 202, description: 'draining', schema: ref('DrainAccepted') },
      errors: [400, 409, 501],
      handle: async (ctx) => {
        const drain = ctx.options.drain;
        if (drain === undefined) {
          throw new ApiProblem(
            'not-configured',
            'this broker is not a cluster node: there is no peer to drain to (stop it with SIGTERM)',
          );
        }
        if (drain.draining())
          throw new ApiProblem('conflict', 'this node is draining or stopping already');
        const body: DrainAccepted = { nodeId: nodeIdOf(ctx.options), state: 'draining' };
        return { status: 202, body, afterSent: () => drain.begin() };
      },
    },
    {
      method: 'GET',
      path: '/nodes',
      operationId: 'listNodes',
      tag: 'broker',
      summary: 'The broker nodes: this one, then the other live nodes of its cluster',
      description:
        'Each with its state, version, uptime, address, connections and message totals: a ' +
        "peer's as it published them on its last heartbeat; a live peer whose summary is " +
        "missing is listed with its id and state 'unknown'.",
      scope: 'read',
      success: { status: 200, description: 'the nodes', schema: ref('NodeInfoPage') },
      errors: [400],
      handle: async (ctx) => ({
        status: 200,
        body: {
          items: [await thisNode(ctx.options, startedAt), ...(await peerNodes(ctx.options))],
          nextCursor: null,
        },
      }),
    },
  ];
}
