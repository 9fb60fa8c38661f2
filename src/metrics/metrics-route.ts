/** `GET /metrics`: the broker's registry in the Prometheus text format. */
import type { Registry } from 'prom-client';
import { checkMethod, checkPath } from '../http/problem.js';
import type { HttpRoute } from '../http/route.js';

/** The route that serves `registry` at `/metrics`. */
export function metricsRoute(registry: Registry): HttpRoute {
  return {
    prefix: '/metrics',
    async handle(req, res, url) {
      checkPath(url, '/metrics');
      checkMethod(req, ['GET']);
      const text = await registry.metrics();
      res.writeHead(200, {
        'content-type': registry.contentType,
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
  };
}
