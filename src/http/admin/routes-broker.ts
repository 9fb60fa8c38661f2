/**
 * Routes over the broker as a whole: its counters, reloading its files (what SIGHUP does),
 * and its nodes (this one, then the other nodes of its cluster).
 */
import { hostname } from 'node:os';
import type { AdminRouteOptions, ApiRoute, NodeInfo } from './api-types.js';
import { ApiProblem } from './problem.js';
import { ref } from './schemas.js';

/** This node's id: as configured (read when asked: a cluster node learns it at start). */
function nodeIdOf(options: AdminRouteOptions): string {
  const id = options.node?.id;
  return (typeof id === 'function' ? id() : id) ?? hostname();
}

/** This node as `GET /nodes` lists it. */
export function thisNode(options: AdminRouteOptions, startedAt: number): NodeInfo {
  const now = (options.now ?? Date.now)();
  return {
    nodeId: nodeIdOf(options),
    self: true,
    version: options.node?.version ?? 'unknown',
    startedAt,
    uptimeSeconds: Math.max(0, Math.floor((now - startedAt) / 1000)),
    listeners: options.broker.addresses.map(({ protocol, host, port, url }) => ({
      protocol,
      host,
      port,
      url,
    })),
  };
}

/** The other nodes of the cluster, as far as this node knows them (their ids). */
function peerNodes(options: AdminRouteOptions): NodeInfo[] {
  const peers = options.peers?.() ?? [];
  return peers.map((nodeId) => ({
    nodeId,
    self: false,
    version: null,
    startedAt: null,
    uptimeSeconds: null,
    listeners: [],
  }));
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
      method: 'GET',
      path: '/nodes',
      operationId: 'listNodes',
      tag: 'broker',
      summary: 'The broker nodes: this one, then the other nodes of its cluster',
      scope: 'read',
      success: { status: 200, description: 'the nodes', schema: ref('NodeInfoPage') },
      errors: [400],
      handle: async (ctx) => ({
        status: 200,
        body: {
          items: [thisNode(ctx.options, startedAt), ...peerNodes(ctx.options)],
          nextCursor: null,
        },
      }),
    },
  ];
}
