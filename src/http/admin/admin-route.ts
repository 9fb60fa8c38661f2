/**
 * The admin API as one {@link HttpRoute} under `/api/v1`: finds the route of a request
 * (404, or 405 with `Allow`), checks its bearer token (401/403/429/503) and scope, its query
 * and body (400/413/415), calls `broker.admin` and writes the result as JSON; every refusal
 * is `application/problem+json`. Bad input never throws out of `handle`: an unexpected
 * failure is logged and answered 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidRequestError } from '../../admin/index.js';
import { silentLogger } from '../../ports/index.js';
import { isMqttError } from '../../protocol/index.js';
import type { HttpRoute } from '../route.js';
import type { AdminRouteOptions, AdminTarget, ApiRoute } from './api-types.js';
import { buildOpenApi, OPENAPI_PATH } from './openapi.js';
import { ApiProblem, sendJson, sendProblem } from './problem.js';
import { parseQuery, readJsonBody } from './request-input.js';
import { matchPath, type PathMatch } from './route-match.js';
import { brokerRoutes } from './routes-broker.js';
import { CLIENT_ROUTES } from './routes-clients.js';
import { liveRoutes } from './routes-live.js';
import { MESSAGE_ROUTES } from './routes-messages.js';
import { RuntimeSampler } from './runtime-stats.js';
import { type PublishedFeed, TapHub } from './tap-hub.js';
import { requireScope, TokenVerifier } from './token-auth.js';

/** The path prefix of the admin API. */
export const ADMIN_API_PREFIX = '/api/v1';
/** Largest request body by default (a publish of a payload up to about 750 KiB in base64). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Every route of the API, in the order of the document (`startedAt`: the node's start; `live`:
 * the tap hub and runtime sampler of the live routes, default ones without a message feed).
 */
export function adminRoutes(
  startedAt: number,
  live: { hub: TapHub; sampler: RuntimeSampler } = {
    hub: new TapHub(undefined),
    sampler: new RuntimeSampler(),
  },
): readonly ApiRoute[] {
  return [
    ...CLIENT_ROUTES,
    ...MESSAGE_ROUTES,
    ...brokerRoutes(startedAt),
    ...liveRoutes(live.hub, live.sampler),
  ];
}

/** The route a request asks for, or the 404/405 problem. */
function pick(matches: readonly PathMatch[], method: string, path: string): PathMatch {
  if (matches.length === 0) {
    throw new ApiProblem(
      'no-such-route',
      `no route ${path} in the admin API (see ${ADMIN_API_PREFIX}${OPENAPI_PATH})`,
    );
  }
  const found = matches.find((m) => m.route.method === method);
  if (found !== undefined) return found;
  const allowed = [...new Set(matches.map((m) => m.route.method))].join(', ');
  throw new ApiProblem('method-not-allowed', `${method} ${path}: allowed ${allowed}`, {
    allow: allowed,
  });
}

/** The problem an error thrown while answering stands for (undefined: a failure of ours). */
function problemOf(err: unknown): ApiProblem | undefined {
  if (err instanceof ApiProblem) return err;
  // The read API's refusals (bad limit, cursor, filter, topic) and a publish the engine
  // refuses (a malformed topic, a wildcard Response Topic) are the request's fault.
  if (err instanceof InvalidRequestError || isMqttError(err)) {
    return new ApiProblem('bad-request', (err as Error).message);
  }
  return undefined;
}

/** The broker's `published` event as the tap's feed, when it has one. */
function feedOf(broker: AdminTarget): PublishedFeed | undefined {
  const { on, off } = broker;
  if (on === undefined || off === undefined) return undefined;
  return {
    on: (event, listener) => on.call(broker, event, listener),
    off: (event, listener) => off.call(broker, event, listener),
  };
}

/**
 * Creates the admin API route (mount it on the HTTP listener). It answers `GET
 * /api/v1/openapi.json` to anyone and everything else to a configured bearer token only.
 */
export function createAdminRoute(options: AdminRouteOptions): HttpRoute {
  const startedAt = options.node?.startedAt ?? (options.now ?? Date.now)();
  const logger = options.logger ?? silentLogger;
  const hub = new TapHub(feedOf(options.broker), options.tap, logger);
  const routes = adminRoutes(startedAt, { hub, sampler: new RuntimeSampler(options.now) });
  const verifier = options.verifier ?? new TokenVerifier(options.tokens, options.guard);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const openApi = JSON.parse(
    JSON.stringify(buildOpenApi(routes, ADMIN_API_PREFIX, options.node?.version ?? 'unknown')),
  );

  async function answer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname.slice(ADMIN_API_PREFIX.length) || '/';
    // The document is public: it describes the routes, never the broker's data, and tools
    // (Swagger UI, code generators) fetch it without credentials.
    if (path === OPENAPI_PATH) {
      if (method === 'GET') return sendJson(res, 200, openApi);
      throw new ApiProblem('method-not-allowed', `${method} ${path}: allowed GET`, {
        allow: 'GET',
      });
    }
    const { route, params } = pick(matchPath(routes, path), method, path);
    const token = await verifier.identify({
      authorization: req.headers.authorization,
      remoteAddress: req.socket.remoteAddress,
      isClosed: () => req.socket.destroyed,
    });
    requireScope(token, route.scope);
    const query = parseQuery(url, route.query ?? []);
    const body = route.body ? await readJsonBody(req, maxBodyBytes) : undefined;
    const result = await route.handle({ params, query, body, options });
    if (route.scope === 'full') {
      logger.info(
        {
          token: token.name,
          method,
          path,
          status: result.status,
          remoteAddress: req.socket.remoteAddress,
        },
        `admin API: ${route.operationId}`,
      );
    }
    // Run once the answer is out (a drain closes this listener: it must not cut its own
    // answer). 'close' comes after the answer is written, or when the caller went away first:
    // an accepted command runs either way.
    if (result.afterSent !== undefined) res.once('close', result.afterSent);
    if (result.stream !== undefined) result.stream(res);
    else sendJson(res, result.status, result.body);
  }

  return {
    prefix: ADMIN_API_PREFIX,
    async handle(req, res, url) {
      try {
        await answer(req, res, url);
      } catch (err) {
        const problem = problemOf(err);
        if (problem === undefined) {
          logger.error(
            { err, method: req.method, path: url.pathname },
            'admin API: request failed',
          );
        } else if (problem.status === 401 || problem.status === 403) {
          logger.warn(
            { remoteAddress: req.socket.remoteAddress, method: req.method, path: url.pathname },
            `admin API: refused: ${problem.detail}`,
          );
        }
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendProblem(
          res,
          problem ?? new ApiProblem('internal-error', 'the request failed; see the broker log'),
        );
      }
    },
  };
}
