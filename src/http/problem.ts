/**
 * Error answers of the HTTP listener and its routes as RFC 9457 problem documents
 * (`application/problem+json` with `type`, `title`, `status`, `detail`), and the method check
 * every route makes.
 */
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';

/** The media type of a problem document (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A problem document: what went wrong with a request, for people and programs. */
export interface Problem {
  /** `about:blank`: the status code says it all (RFC 9457 section 4.2.1). */
  type: string;
  /** The status code's reason phrase, e.g. `Not Found`. */
  title: string;
  status: number;
  /** What was wrong with this request and what to do instead. */
  detail: string;
  [extension: string]: unknown;
}

/**
 * An error a route throws to answer with a problem (the listener writes it); anything else
 * thrown is answered 500 and logged.
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    detail: string,
    /** Headers to send with it, e.g. `{ allow: 'GET, HEAD' }` for a 405. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

/** The problem document for `status` with `detail`. */
export function problemOf(status: number, detail: string): Problem {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail };
}

/**
 * Answers with a problem document (no body for HEAD). When the response has begun already,
 * the connection is cut instead: a half-written body must not look complete.
 */
export function sendProblem(
  res: ServerResponse,
  status: number,
  detail: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problemOf(status, detail));
  res.writeHead(status, {
    ...headers,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/**
 * True when `req.method` is one of `methods` (HEAD counts as GET). Otherwise throws a 405
 * problem with the `Allow` header, which the listener answers.
 */
export function checkMethod(req: IncomingMessage, methods: readonly string[]): void {
  const method = req.method === 'HEAD' && methods.includes('GET') ? 'GET' : req.method;
  if (method !== undefined && methods.includes(method)) return;
  const allowed = methods.includes('GET') ? [...methods, 'HEAD'] : [...methods];
  throw new HttpProblem(405, `${req.method} is not supported here; use ${allowed.join(' or ')}`, {
    allow: allowed.join(', '),
  });
}

/** Throws a 404 problem unless the request is for exactly `path` (not one below it). */
export function checkPath(url: URL, path: string): void {
  if (url.pathname !== path) {
    throw new HttpProblem(404, `nothing is served at ${url.pathname}; try ${path}`);
  }
}
