/**
 * What the HTTP listener does with one request: bound its body, find the route by path
 * prefix, and turn what goes wrong into a problem answer (404 unknown path, 411/413 body,
 * 500 for a route that throws, with a log line).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../ports/index.js';
import { HttpProblem, sendProblem } from './problem.js';
import type { HttpRoute } from './route.js';

/** What the dispatcher needs besides the request. */
export interface DispatchContext {
  /** The routes served, read at each request (routes may be added while it runs). */
  readonly routes: readonly HttpRoute[];
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number;
  /** Base of request URLs, e.g. `http://127.0.0.1:8088`. */
  readonly base: string;
  readonly listener: string;
  readonly logger: Logger;
}

/** The route whose prefix is the path or a whole-segment start of it; the longest wins. */
export function findRoute(routes: readonly HttpRoute[], pathname: string): HttpRoute | undefined {
  let found: HttpRoute | undefined;
  for (const route of routes) {
    const { prefix } = route;
    const matches = pathname === prefix || pathname.startsWith(`${prefix}/`);
    if (matches && (found === undefined || prefix.length > found.prefix.length)) found = route;
  }
  return found;
}

/**
 * Why a request body is refused before any route reads it, or undefined. A body must
 * announce its length (Node's parser then delivers exactly that many bytes), at most the cap.
 */
export function refuseBody(req: IncomingMessage, maxBodyBytes: number): HttpProblem | undefined {
  if (req.headers['transfer-encoding'] !== undefined) {
    return new HttpProblem(411, 'a request body needs a Content-Length header (no chunked bodies)');
  }
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > maxBodyBytes) {
    return new HttpProblem(
      413,
      `the request body is ${length} bytes; this listener accepts at most ${maxBodyBytes} (maxBodySize)`,
    );
  }
  return undefined;
}

function parseUrl(req: IncomingMessage, base: string): URL | undefined {
  try {
    return new URL(req.url ?? '/', base);
  } catch {
    return undefined;
  }
}

/** Answers one request; never throws or rejects. */
export async function dispatch(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: DispatchContext,
): Promise<void> {
  const url = parseUrl(req, ctx.base);
  if (url === undefined) {
    sendProblem(res, 400, `the request target "${req.url}" is not a valid URL path`);
    return;
  }
  const route = findRoute(ctx.routes, url.pathname);
  if (route === undefined) {
    const known = ctx.routes.map((r) => r.prefix).join(', ');
    sendProblem(res, 404, `nothing is served at ${url.pathname}; this listener serves ${known}`);
    return;
  }
  const refusal = refuseBody(req, ctx.maxBodyBytes);
  if (refusal !== undefined) {
    // The unread body would be taken for the next request: close after answering.
    sendProblem(res, refusal.status, refusal.message, { connection: 'close' });
    return;
  }
  try {
    await route.handle(req, res, url);
  } catch (err) {
    if (err instanceof HttpProblem) {
      sendProblem(res, err.status, err.message, err.headers);
      return;
    }
    ctx.logger.error(
      { err, listener: ctx.listener, method: req.method, path: url.pathname },
      'HTTP request failed in its route',
    );
    sendProblem(res, 500, 'the request failed inside the broker; the broker log has the error');
  }
}
