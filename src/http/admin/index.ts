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
  NodeInfo,
  ReloadedFile,
  ReloadReport,
} from './api-types.js';
export { buildOpenApi, OPENAPI_PATH } from './openapi.js';
export { type ProblemBody, type ProblemKind, problemType } from './problem.js';
export { type JsonSchema, SCHEMAS } from './schemas.js';
export { type AdminToken, type TokenScope, TokenVerifier } from './token-auth.js';
