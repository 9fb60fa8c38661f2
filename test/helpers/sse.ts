/**
 * A reader of server-sent events over `fetch` (the way the dashboard reads the live tap: a
 * browser's EventSource cannot send a bearer token): events are parsed as they arrive, and
 * tests wait for the ones they expect.
 */
import { waitFor } from './broker.js';

/** One event: its name (`message` by default) and its data, parsed as JSON. */
export interface SseEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: event data is untyped JSON the tests check
  data: any;
}

/** An open event stream. */
export interface SseStream {
  status: number;
  headers: Headers;
  /** Every event received so far, in order. */
  events: SseEvent[];
  /** Waits until an event satisfies `predicate` and returns it. */
  next(predicate: (e: SseEvent) => boolean, what: string, timeoutMs?: number): Promise<SseEvent>;
  /** Ends the stream from the client's side (as a closed browser tab does). */
  close(): void;
  /** Resolves when the server ended the stream (or the client closed it). */
  ended: Promise<void>;
}

/** Parses one event block (`event:` and `data:` lines); comments give undefined. */
function parseBlock(block: string): SseEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  return data.length === 0 ? undefined : { event, data: JSON.parse(data.join('\n')) };
}

/** Opens `url` with the bearer `token` and reads its events in the background. */
export async function openSse(url: string, token: string): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: abort.signal,
  });
  const events: SseEvent[] = [];
  const ended = (async () => {
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let end = buffered.indexOf('\n\n');
        while (end >= 0) {
          const parsed = parseBlock(buffered.slice(0, end));
          if (parsed !== undefined) events.push(parsed);
          buffered = buffered.slice(end + 2);
          end = buffered.indexOf('\n\n');
        }
      }
    } catch {
      // Aborted by close(): the stream ends here.
    }
  })();
  return {
    status: response.status,
    headers: response.headers,
    events,
    async next(predicate, what, timeoutMs = 10_000) {
      await waitFor(() => events.some(predicate), timeoutMs, what);
      return events.find(predicate)!;
    },
    close: () => abort.abort(),
    ended,
  };
}
