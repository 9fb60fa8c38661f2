/**
 * The admin HTTP API under `/api/v1` (docs/operations.md): one route for the HTTP
 * listener, over `broker.admin`, with bearer tokens, problem+json errors and an OpenAPI
 * document built from the same route table as the router.
 */
export {
  ADMIN_API_PREFIX,
  adminRoutes,
  createAdminRoute,
  DEFAULT_MAX_BODY_BYTES,
} from './admin-route.js';
export type {
  AdminRouteOptions,
  AdminTarget,
  ApiRoute,
  ListenerInfo,
  NodeCounters,
  NodeInfo,
  NodeState,
  PeerNode,
  PeerSummary,
  ReloadedFile,
  ReloadReport,
} from './api-types.js';
export { buildOpenApi, OPENAPI_PATH } from './openapi.js';
export { type ProblemBody, type ProblemKind, problemType } from './problem.js';
export type { RuntimeStats } from './runtime-stats.js';
export { type JsonSchema, SCHEMAS } from './schemas.js';
export {
  DEFAULT_MAX_TAPS,
  DEFAULT_TAP_RATE,
  type PublishedFeed,
  type TapOptions,
} from './tap-hub.js';
export type { TapCounts, TapMessage } from './tap-stream.js';
export { type AdminToken, type TokenScope, TokenVerifier } from './token-auth.js';
