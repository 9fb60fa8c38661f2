/**
 * The page's only way to the broker: the admin API (`/api/v1`) on the origin that served the
 * page, with the token the user typed in, kept in sessionStorage (gone with the tab).
 */

const TOKEN_KEY = 'pipit.token';
/** The API's path prefix. */
export const API = '/api/v1';

/** A refusal or failure of the API, with its problem document's detail. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${status}: ${detail}`);
  }
}

/** The token of this tab's session, if logged in. */
export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Called when the API refuses the saved token (401): the app goes back to the login form. */
let onUnauthorized: (detail: string) => void = () => {};
export function whenUnauthorized(handler: (detail: string) => void): void {
  onUnauthorized = handler;
}

/** The Authorization header of `token` (default: the saved one). */
export function authHeader(token = savedToken()): Record<string, string> {
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

async function problemDetail(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { detail?: string; title?: string };
    return body.detail ?? body.title ?? response.statusText;
  } catch {
    return response.statusText;
  }
}

/** Calls the API; resolves with the parsed JSON answer (undefined for 204). */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = authHeader(token ?? savedToken());
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${API}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const detail = await problemDetail(response);
    if (response.status === 401 && token === undefined) onUnauthorized(detail);
    throw new ApiError(response.status, detail);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** A path segment, encoded (client ids and topics may hold `/`, `#`, spaces). */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
