/**
 * The OpenAPI 3.1 document of the admin API, built from the same route table the router
 * uses: a route cannot exist undocumented, nor a documented one be missing. Served at
 * `GET /api/v1/openapi.json`.
 */
import type { ApiRoute } from './api-types.js';
import { PROBLEM_KINDS } from './problem.js';
import type { JsonSchema } from './schemas.js';
import { SCHEMAS } from './schemas.js';

/** The path of the document under the API's prefix. */
export const OPENAPI_PATH = '/openapi.json';

/** Problems every authenticated route may answer (bad query, auth, throttling, failure). */
const COMMON_ERRORS = [400, 401, 403, 429, 500, 503] as const;

type OpenApiDocument = Record<string, unknown>;

/** The description of an error status: the problems that answer with it. */
function errorDescription(status: number): string {
  const titles = Object.values(PROBLEM_KINDS)
    .filter((kind) => kind.status === status)
    .map((kind) => kind.title);
  return titles.join('; ');
}

function problemResponse(status: number) {
  return {
    description: errorDescription(status),
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
}

function parameters(route: ApiRoute): unknown[] {
  const inPath = Object.entries(route.pathParams ?? {}).map(([name, description]) => ({
    name,
    in: 'path',
    required: true,
    description,
    schema: { type: 'string' },
  }));
  const inQuery = (route.query ?? []).map((param) => ({
    name: param.name,
    in: 'query',
    required: false,
    description: param.description,
    schema: { type: param.type },
  }));
  return [...inPath, ...inQuery];
}

function operation(route: ApiRoute): Record<string, unknown> {
  const { status, description, schema, mediaType } = route.success;
  const responses: Record<string, unknown> = {
    [String(status)]: {
      description,
      ...(schema ? { content: { [mediaType ?? 'application/json']: { schema } } } : {}),
    },
  };
  const errors = [...new Set([...COMMON_ERRORS, ...route.errors])].sort((a, b) => a - b);
  for (const code of errors) responses[String(code)] = problemResponse(code);
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    parameters: parameters(route),
    ...(route.body
      ? {
          requestBody: {
            required: route.body.required,
            content: { 'application/json': { schema: route.body.schema } },
          },
        }
      : {}),
    responses,
    // Read-only tokens may call `read` routes; the others need scope: full.
    'x-pipit-scope': route.scope,
  };
}

/** The document of the document itself: served without a token. */
function openApiOperation(): Record<string, unknown> {
  return {
    operationId: 'getOpenApi',
    tags: ['meta'],
    summary: 'This OpenAPI document (no token needed)',
    security: [],
    responses: {
      '200': {
        description: 'the OpenAPI 3.1 document',
        content: { 'application/json': { schema: { type: 'object' } as JsonSchema } },
      },
    },
  };
}

/**
 * The OpenAPI 3.1 document of `routes`, served under `prefix`.
 * @param version the broker's version (the document's `info.version`).
 */
export function buildOpenApi(
  routes: readonly ApiRoute[],
  prefix: string,
  version: string,
): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  paths[OPENAPI_PATH] = { get: openApiOperation() };
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Pipit admin API',
      version,
      description:
        'Read and command a running Pipit broker: clients, sessions, subscriptions, retained ' +
        'messages, publishing, counters, reload. Every route but this document needs a bearer ' +
        'token (adminApi.tokens; make one with `pipit token`). Errors are RFC 9457 problem ' +
        'details (application/problem+json).',
    },
    servers: [{ url: prefix }],
    security: [{ bearerToken: [] }],
    tags: [...new Set(routes.map((r) => r.tag)), 'meta'].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token of adminApi.tokens (scope read: GET routes only)',
        },
      },
      schemas: SCHEMAS,
    },
  };
}
