/**
 * The contract between the HTTP listener and what it serves: each part of the broker's HTTP
 * surface (metrics, health checks, the admin API, the dashboard) is a route under one path
 * prefix, and the listener only dispatches to them. Parts can then be built, tested and
 * mounted independently.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Requests under one path prefix of the HTTP listener. */
export interface HttpRoute {
  /** The path prefix this route answers, e.g. `/metrics` or `/api/v1` (no trailing slash). */
  readonly prefix: string;
  /**
   * Answers one request whose path is `prefix` or starts with `prefix/`. `url` is the request
   * URL parsed against the listener's address. The route writes the whole response; a thrown
   * error or rejected promise is answered 500 by the listener and logged.
   */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> | void;
}
