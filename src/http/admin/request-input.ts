/**
 * What a request brings, checked: its query parameters against the route's list (an unknown
 * or repeated one is refused, so that a typo never silently widens a listing), and its JSON
 * body, read up to a size limit.
 */
import type { IncomingMessage } from 'node:http';
import { ApiProblem } from './problem.js';

/** A query parameter a route takes. */
export interface QueryParam {
  name: string;
  type: 'string' | 'boolean' | 'integer';
  description: string;
}

/** Parsed query values by name (absent parameters are absent). */
export type QueryValues = Record<string, string | number | boolean>;

function parseValue(param: QueryParam, text: string): string | number | boolean {
  switch (param.type) {
    case 'string':
      return text;
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new ApiProblem(
        'bad-request',
        `query parameter ${param.name}: expected true or false, got "${text}"`,
      );
    case 'integer':
      if (!/^-?[0-9]{1,15}$/.test(text)) {
        throw new ApiProblem(
          'bad-request',
          `query parameter ${param.name}: expected an integer, got "${text}"`,
        );
      }
      return Number(text);
  }
}

/**
 * The query of `url`, checked against `params`.
 * @throws ApiProblem 400 for an unknown or repeated parameter or a value of the wrong type.
 */
export function parseQuery(url: URL, params: readonly QueryParam[]): QueryValues {
  const values: QueryValues = {};
  for (const [name, text] of url.searchParams) {
    const param = params.find((p) => p.name === name);
    if (param === undefined) {
      const known = params.map((p) => p.name).join(', ');
      throw new ApiProblem(
        'bad-request',
        `unknown query parameter "${name}"${known === '' ? ': this route takes none' : ` (this route takes: ${known})`}`,
      );
    }
    if (name in values) {
      throw new ApiProblem('bad-request', `query parameter ${name} is given more than once`);
    }
    values[name] = parseValue(param, text);
  }
  return values;
}

/** The string value of a query parameter, if given. */
export function queryString(values: QueryValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** The boolean value of a query parameter, if given. */
export function queryBoolean(values: QueryValues, name: string): boolean | undefined {
  const value = values[name];
  return typeof value === 'boolean' ? value : undefined;
}

/** The integer value of a query parameter, if given. */
export function queryInteger(values: QueryValues, name: string): number | undefined {
  const value = values[name];
  return typeof value === 'number' ? value : undefined;
}

/** Why a Content-Type is not JSON, or undefined when it is (`application/json`, `+json`). */
function notJson(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return 'no Content-Type';
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    return undefined;
  }
  return `Content-Type ${type}`;
}

function tooLarge(limit: number): ApiProblem {
  return new ApiProblem('body-too-large', `the request body is larger than ${limit} bytes`);
}

/**
 * The bytes of a request body, refused once over `limit`. The rest of a body refused is read
 * and thrown away, so that the client, still sending, gets the answer rather than a reset
 * connection (and the connection stays usable). Read with events rather than an async
 * iterator: leaving an iterator early destroys the request, and its socket with it.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = (err?: Error) => {
      req.off('data', onData).off('end', onEnd).off('error', done);
      if (err === undefined) return resolve(Buffer.concat(chunks, length));
      req.resume(); // discard the rest
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) done(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) return done(tooLarge(limit));
    req.on('data', onData).on('end', onEnd).on('error', done);
  });
}

/**
 * The request's JSON body; `undefined` when it has none (no bytes at all).
 * @throws ApiProblem 413 over `limit` bytes, 415 when it is not JSON, 400 when it does not parse.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const bytes = await readBody(req, limit);
  if (bytes.length === 0) return undefined;
  const problem = notJson(req.headers['content-type']);
  if (problem !== undefined) {
    throw new ApiProblem(
      'unsupported-media-type',
      `the request body must be JSON (Content-Type: application/json), got ${problem}`,
    );
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ApiProblem(
      'bad-request',
      `the request body is not valid JSON: ${(err as Error).message}`,
    );
  }
}
