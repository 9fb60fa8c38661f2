/**
 * Answers of the admin API: JSON bodies, and errors as `application/problem+json` (RFC 9457:
 * `type`, `title`, `status`, `detail`). Every refusal is an {@link ApiProblem} thrown by the
 * step that found the problem and written by one function, so that every error looks the same.
 */
import type { ServerResponse } from 'node:http';

/** What kinds of problem the API reports; each has its own `type` URI and title. */
export const PROBLEM_KINDS = {
  'bad-request': { status: 400, title: 'Bad request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'no-token-configured': { status: 403, title: 'No API token configured' },
  'not-found': { status: 404, title: 'Not found' },
  'no-such-route': { status: 404, title: 'No such route' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  'body-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'too-many-attempts': { status: 429, title: 'Too many failed attempts' },
  'internal-error': { status: 500, title: 'Internal error' },
  'not-configured': { status: 501, title: 'Not configured' },
  busy: { status: 503, title: 'Busy' },
} as const;

/** One kind of problem (the last part of its `type` URI). */
export type ProblemKind = keyof typeof PROBLEM_KINDS;

/** The `type` URI of a problem kind, e.g. `urn:pipit:problem:bad-request`. */
export function problemType(kind: ProblemKind): string {
  return `urn:pipit:problem:${kind}`;
}

/** The body of an error answer. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  /** What exactly was wrong, naming the parameter, field or value. */
  detail: string;
}

/** A request the API refuses, with the status, the explanation and any extra headers. */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';

  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
  }

  /** The HTTP status of this problem. */
  get status(): number {
    return PROBLEM_KINDS[this.kind].status;
  }

  /** The problem+json body. */
  body(): ProblemBody {
    const { status, title } = PROBLEM_KINDS[this.kind];
    return { type: problemType(this.kind), title, status, detail: this.detail };
  }
}

/** Headers every answer of the API carries: nothing is cached, nothing is sniffed. */
const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

/** Writes a JSON answer (`body` undefined: no content). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status, COMMON_HEADERS).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      ...COMMON_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}

/** Writes a problem answer with its extra headers. */
export function sendProblem(res: ServerResponse, problem: ApiProblem): void {
  const text = JSON.stringify(problem.body());
  res
    .writeHead(problem.status, {
      ...COMMON_HEADERS,
      ...problem.headers,
      'content-type': 'application/problem+json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}
