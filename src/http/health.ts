/**
 * `GET /healthz` and `GET /readyz`, for load balancers and Kubernetes probes. `/healthz` says
 * the process serves (200 while it can answer at all). `/readyz` runs a list of readiness
 * checks (listeners up, store open, not shutting down; a cluster adds "Redis reachable") and
 * answers 200 when every one passes, 503 with what is not ready otherwise.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkMethod, checkPath } from './problem.js';
import type { HttpRoute } from './route.js';

/**
 * One condition for serving traffic. `check` resolves undefined when it holds, or a short
 * sentence saying what is not ready (e.g. "restoring the store").
 */
export interface ReadinessCheck {
  /** Short name in the answer, e.g. `store`, `listeners`, `redis`. */
  readonly name: string;
  check(): string | undefined | Promise<string | undefined>;
}

/** The answer of `/readyz`: each check with `ok` or what is wrong. */
export interface ReadinessReport {
  status: 'ready' | 'not ready';
  checks: { name: string; ready: boolean; detail: string }[];
}

/** A check that has not answered in this time counts as not ready. */
export const READINESS_CHECK_TIMEOUT_MS = 2000;

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => check.check()), late]);
  } catch (err) {
    return `check failed: ${(err as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check (at once, each bounded in time). */
export async function readiness(
  checks: readonly ReadinessCheck[],
  timeoutMs = READINESS_CHECK_TIMEOUT_MS,
): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map((c) => runCheck(c, timeoutMs)));
  const report = checks.map((c, i) => ({
    name: c.name,
    ready: results[i] === undefined,
    detail: results[i] ?? 'ok',
  }));
  return { status: report.every((c) => c.ready) ? 'ready' : 'not ready', checks: report };
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** `/healthz`: 200 `{"status":"alive"}` whenever the process answers. */
export function livenessRoute(): HttpRoute {
  return {
    prefix: '/healthz',
    handle(req, res, url) {
      checkPath(url, '/healthz');
      checkMethod(req, ['GET']);
      sendJson(req, res, 200, { status: 'alive' });
    },
  };
}

/** `/readyz`: 200 when every check passes, 503 otherwise; the body lists each check. */
export function readinessRoute(checks: readonly ReadinessCheck[]): HttpRoute {
  return {
    prefix: '/readyz',
    async handle(req, res, url) {
      checkPath(url, '/readyz');
      checkMethod(req, ['GET']);
      const report = await readiness(checks);
      sendJson(req, res, report.status === 'ready' ? 200 : 503, report);
    },
  };
}
