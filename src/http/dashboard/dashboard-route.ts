/**
 * The dashboard (docs/dashboard.md) as an HTTP route at the root of the listener: `/` is its
 * page, `/assets/...` its scripts and styles, from the built files in dist/dashboard. The page
 * calls only the admin API (`/api/v1`), with the token the user types in. Hashed assets are
 * cached for a year, the page itself is revalidated (ETag), text is sent gzipped to clients
 * that accept it. Any other path is a 404 problem; without a built dashboard (a broker run
 * from its sources before `npm run build`) `/` answers 503 saying so.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { checkMethod, HttpProblem } from '../problem.js';
import type { HttpRoute } from '../route.js';
import { loadStaticFiles, type StaticFile } from './static-files.js';

/**
 * Where the built dashboard is: dist/dashboard of this package, the same from src/http/dashboard
 * (run from sources) and from dist/http/dashboard (the package).
 */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(
  new URL('../../../dist/dashboard/', import.meta.url),
);

/** Options of {@link createDashboardRoute}. */
export interface DashboardRouteOptions {
  /** The folder of the built dashboard (default {@link DEFAULT_DASHBOARD_DIR}). */
  dir?: string;
}

/** True when the request accepts a gzip body. */
function acceptsGzip(req: IncomingMessage): boolean {
  const accept = req.headers['accept-encoding'];
  return typeof accept === 'string' && /\bgzip\b/i.test(accept);
}

/** Writes one file (304 when the client has it, gzip when it takes it). */
function sendFile(req: IncomingMessage, res: ServerResponse, file: StaticFile): void {
  const headers: Record<string, string | number> = {
    'content-type': file.contentType,
    etag: file.etag,
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
    'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (file.path === '/index.html') {
    // The page loads only its own assets and talks only to this listener.
    headers['content-security-policy'] =
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
    headers['referrer-policy'] = 'no-referrer';
  }
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const gzip = file.gzip !== undefined && acceptsGzip(req) ? file.gzip : undefined;
  if (gzip !== undefined) headers['content-encoding'] = 'gzip';
  const body = gzip ?? file.body;
  headers['content-length'] = body.length;
  res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The dashboard route (see the file comment). Its files are read and compressed once, at the
 * first request: a broker that serves no HTTP pays nothing for it.
 */
export function createDashboardRoute(options: DashboardRouteOptions = {}): HttpRoute {
  let files: Map<string, StaticFile> | undefined | null = null;
  return {
    prefix: '',
    handle(req, res, url) {
      if (files === null) files = loadStaticFiles(options.dir ?? DEFAULT_DASHBOARD_DIR);
      const path = url.pathname === '/' ? '/index.html' : url.pathname;
      const file = files?.get(path);
      if (file === undefined && files === undefined && path === '/index.html') {
        throw new HttpProblem(
          503,
          'the dashboard is not built: run `npm run build` (or `npm run build:dashboard`) and restart the broker',
          { 'retry-after': '60' },
        );
      }
      if (file === undefined) {
        throw new HttpProblem(
          404,
          `nothing is served at ${url.pathname}; the dashboard is at / and the admin API at /api/v1`,
        );
      }
      checkMethod(req, ['GET']);
      sendFile(req, res, file);
    },
  };
}
