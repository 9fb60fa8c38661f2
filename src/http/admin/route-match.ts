/**
 * Finding the route of a request path: templates such as `/clients/{clientId}/disconnect`
 * are matched segment by segment against the raw (still URL-encoded) path, and each
 * parameter is decoded on its own, so that an encoded `/` stays inside its parameter. A
 * route's `restParam` takes every remaining segment, slashes included.
 */
import type { ApiRoute } from './api-types.js';
import { ApiProblem } from './problem.js';

/** The routes whose template a path matches, with their decoded parameters. */
export interface PathMatch {
  route: ApiRoute;
  params: Record<string, string>;
}

/** The name of a `{name}` template segment, or undefined for a literal one. */
function paramName(segment: string): string | undefined {
  return segment.startsWith('{') && segment.endsWith('}') ? segment.slice(1, -1) : undefined;
}

function decode(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiProblem('bad-request', `path parameter ${name}: malformed URL encoding`);
  }
}

/** The parameters of `path` under `route`'s template, or undefined when it does not match. */
function matchOne(
  route: ApiRoute,
  segments: readonly string[],
): Record<string, string> | undefined {
  const template = route.path.split('/').slice(1);
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const name = paramName(template[i]!);
    const raw = segments[i];
    if (raw === undefined) return undefined;
    if (name === undefined) {
      if (raw !== template[i]) return undefined;
      continue;
    }
    if (name === route.restParam && i === template.length - 1) {
      const rest = segments.slice(i).join('/');
      if (rest === '') return undefined;
      params[name] = decode(rest, name);
      return params;
    }
    if (raw === '') return undefined;
    params[name] = decode(raw, name);
  }
  return segments.length === template.length ? params : undefined;
}

/**
 * Every route whose template matches `path` (the part after the prefix, starting with `/`),
 * whatever its method: the caller picks by method, or answers 405 with the methods found.
 */
export function matchPath(routes: readonly ApiRoute[], path: string): PathMatch[] {
  const segments = path.split('/').slice(1);
  const found: PathMatch[] = [];
  for (const route of routes) {
    const params = matchOne(route, segments);
    if (params !== undefined) found.push({ route, params });
  }
  return found;
}
