/**
 * Reads the live tap (`GET /api/v1/tap`): server-sent events over `fetch`, since a browser's
 * EventSource cannot send the bearer token. Aborting the fetch closes the connection, which
 * ends the tap in the broker.
 */
import { API, ApiError, authHeader } from './api.ts';
import type { TapCounts, TapMessage } from './types.ts';

/** What a tap reports to the page. */
export interface TapHandlers {
  ready(info: { filter: string; maxRate: number }): void;
  message(message: TapMessage): void;
  stats(counts: TapCounts): void;
}

function dispatch(block: string, handlers: TapHandlers): void {
  let name = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) name = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (data === '') return;
  const value = JSON.parse(data);
  if (name === 'ready') handlers.ready(value);
  else if (name === 'message') handlers.message(value);
  else if (name === 'stats') handlers.stats(value);
}

/**
 * Opens a tap on `filter`; resolves when it ends (the server closed it, or `signal` aborted).
 * @throws ApiError when the API refuses it (bad filter, read-only token, too many taps).
 */
export async function runTap(filter: string, handlers: TapHandlers, signal: AbortSignal) {
  const response = await fetch(`${API}/tap?filter=${encodeURIComponent(filter)}`, {
    headers: { ...authHeader(), accept: 'text/event-stream' },
    signal,
  });
  if (!response.ok || response.body === null) {
    let detail = response.statusText;
    try {
      detail = ((await response.json()) as { detail: string }).detail;
    } catch {
      // Not a problem document: the status says it.
    }
    throw new ApiError(response.status, detail);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let end = buffered.indexOf('\n\n');
      while (end >= 0) {
        dispatch(buffered.slice(0, end), handlers);
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf('\n\n');
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}
