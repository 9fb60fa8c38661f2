/**
 * Routes over clients, sessions and subscriptions: each maps its request to one call of
 * `broker.admin` and returns the result unchanged.
 */
import { MAX_PAGE_SIZE } from '../../admin/index.js';
import { ReasonCode } from '../../protocol/index.js';
import { DISCONNECT_CODES } from '../../protocol/reason-code-sets.js';
import type { ApiRoute, RouteContext } from './api-types.js';
import { BodyFields } from './body-fields.js';
import { ApiProblem } from './problem.js';
import { type QueryParam, queryBoolean, queryInteger, queryString } from './request-input.js';
import { ref } from './schemas.js';

/** `limit` and `cursor`, taken by every list. */
export const PAGE_PARAMS: readonly QueryParam[] = [
  {
    name: 'limit',
    type: 'integer',
    description: `items per page, 1-${MAX_PAGE_SIZE} (default 100)`,
  },
  { name: 'cursor', type: 'string', description: 'the nextCursor of the previous page' },
];

/** The paging fields of a list query. */
export function paging(ctx: RouteContext): { limit?: number; cursor?: string } {
  return { limit: queryInteger(ctx.query, 'limit'), cursor: queryString(ctx.query, 'cursor') };
}

const CLIENT_ID = { clientId: 'the client id (URL-encoded)' };

function notFound(what: string, clientId: string): ApiProblem {
  return new ApiProblem('not-found', `no ${what} with client id "${clientId}"`);
}

/**
 * The reason code of an administrative DISCONNECT: one a server may send (every DISCONNECT
 * reason code but 0x04, which only a client sends) [MQTT-3.14.2-1].
 */
function disconnectReason(fields: BodyFields): number {
  const code = fields.integer('reasonCode', 0, 255) ?? ReasonCode.AdministrativeAction;
  if (DISCONNECT_CODES[code] !== 1 || code === ReasonCode.DisconnectWithWillMessage) {
    throw new ApiProblem(
      'bad-request',
      `field reasonCode: 0x${code.toString(16).padStart(2, '0')} is not a DISCONNECT reason code a server may send [MQTT-3.14.2-1]`,
    );
  }
  return code;
}

const clientRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/clients',
    operationId: 'listClients',
    tag: 'clients',
    summary: 'List connected clients, by client id',
    scope: 'read',
    query: [
      { name: 'clientIdPrefix', type: 'string', description: 'client ids starting with this' },
      { name: 'username', type: 'string', description: 'this username exactly' },
      { name: 'address', type: 'string', description: 'this remote address exactly' },
      { name: 'listener', type: 'string', description: 'clients of this listener (name)' },
      ...PAGE_PARAMS,
    ],
    success: { status: 200, description: 'a page of clients', schema: ref('ClientSummaryPage') },
    errors: [400],
    handle: async (ctx) => {
      const q = ctx.query;
      const page = await ctx.options.broker.admin.clients({
        clientIdPrefix: queryString(q, 'clientIdPrefix'),
        username: queryString(q, 'username'),
        address: queryString(q, 'address'),
        listener: queryString(q, 'listener'),
        ...paging(ctx),
      });
      return { status: 200, body: page };
    },
  },
  {
    method: 'GET',
    path: '/clients/{clientId}',
    operationId: 'getClient',
    tag: 'clients',
    summary: 'One connected client: its subscriptions, inflight messages and queue',
    scope: 'read',
    pathParams: CLIENT_ID,
    success: { status: 200, description: 'the client', schema: ref('ClientDetails') },
    errors: [404],
    handle: async (ctx) => {
      const clientId = ctx.params.clientId!;
      const details = await ctx.options.broker.admin.client(clientId);
      if (details === undefined) throw notFound('connected client', clientId);
      return { status: 200, body: details };
    },
  },
  {
    method: 'POST',
    path: '/clients/{clientId}/disconnect',
    operationId: 'disconnectClient',
    tag: 'clients',
    summary: 'Disconnect a client (MQTT 5: DISCONNECT 0x98); its session stays',
    description:
      'MQTT 5 clients get a DISCONNECT with the reason code (default 0x98 Administrative ' +
      'action), MQTT 3.x connections are closed. No will unless sendWill.',
    scope: 'full',
    pathParams: CLIENT_ID,
    body: { schema: ref('DisconnectRequest'), required: false },
    success: { status: 204, description: 'disconnected' },
    errors: [400, 404, 413, 415],
    handle: async (ctx) => {
      const clientId = ctx.params.clientId!;
      const fields = BodyFields.of(ctx.body, ['reasonCode', 'sendWill']);
      const reasonCode = disconnectReason(fields);
      const sendWill = fields.boolean('sendWill') ?? false;
      const done = await ctx.options.broker.admin.disconnect(clientId, { reasonCode, sendWill });
      if (!done) throw notFound('connected client', clientId);
      return { status: 204 };
    },
  },
];

const sessionRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/sessions',
    operationId: 'listSessions',
    tag: 'sessions',
    summary: 'List sessions, connected or not, by client id',
    scope: 'read',
    query: [
      { name: 'clientIdPrefix', type: 'string', description: 'client ids starting with this' },
      {
        name: 'connected',
        type: 'boolean',
        description: 'true: only sessions with a connected client; false: only those away',
      },
      ...PAGE_PARAMS,
    ],
    success: { status: 200, description: 'a page of sessions', schema: ref('SessionSummaryPage') },
    errors: [400],
    handle: async (ctx) => {
      const page = await ctx.options.broker.admin.sessions({
        clientIdPrefix: queryString(ctx.query, 'clientIdPrefix'),
        connected: queryBoolean(ctx.query, 'connected'),
        ...paging(ctx),
      });
      return { status: 200, body: page };
    },
  },
  {
    method: 'GET',
    path: '/sessions/{clientId}',
    operationId: 'getSession',
    tag: 'sessions',
    summary: 'One session',
    scope: 'read',
    pathParams: CLIENT_ID,
    success: { status: 200, description: 'the session', schema: ref('SessionSummary') },
    errors: [404],
    handle: async (ctx) => {
      const clientId = ctx.params.clientId!;
      const session = await ctx.options.broker.admin.session(clientId);
      if (session === undefined) throw notFound('session', clientId);
      return { status: 200, body: session };
    },
  },
  {
    method: 'DELETE',
    path: '/sessions/{clientId}',
    operationId: 'deleteSession',
    tag: 'sessions',
    summary: 'Delete a session: its client is disconnected and its next connection finds none',
    scope: 'full',
    pathParams: CLIENT_ID,
    query: [
      {
        name: 'sendWill',
        type: 'boolean',
        description: 'publish the will (of the live connection, or a delayed one); default false',
      },
    ],
    success: { status: 204, description: 'deleted' },
    errors: [400, 404],
    handle: async (ctx) => {
      const clientId = ctx.params.clientId!;
      const sendWill = queryBoolean(ctx.query, 'sendWill') ?? false;
      const done = await ctx.options.broker.admin.deleteSession(clientId, { sendWill });
      if (!done) throw notFound('session', clientId);
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    path: '/subscriptions',
    operationId: 'listSubscriptions',
    tag: 'subscriptions',
    summary: 'List subscriptions, by client id then filter',
    scope: 'read',
    query: [
      { name: 'clientId', type: 'string', description: "only this client's" },
      { name: 'filter', type: 'string', description: 'only this filter, exactly as subscribed' },
      ...PAGE_PARAMS,
    ],
    success: {
      status: 200,
      description: 'a page of subscriptions',
      schema: ref('SubscriptionInfoPage'),
    },
    errors: [400],
    handle: async (ctx) => {
      const page = await ctx.options.broker.admin.subscriptions({
        clientId: queryString(ctx.query, 'clientId'),
        filter: queryString(ctx.query, 'filter'),
        ...paging(ctx),
      });
      return { status: 200, body: page };
    },
  },
];

/** The routes of this file, in the order of the document. */
export const CLIENT_ROUTES: readonly ApiRoute[] = [...clientRoutes, ...sessionRoutes];
