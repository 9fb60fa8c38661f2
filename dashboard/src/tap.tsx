/**
 * The live tap page: type a filter, watch matching messages arrive as they are published
 * (newest first, the last {@link SHOWN} kept), with what the broker dropped to hold the tap
 * to its rate cap. Leaving the page or pressing Stop closes the stream.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { type PayloadView, payload } from './format.ts';
import { runTap } from './tap-client.ts';
import type { TapCounts, TapMessage } from './types.ts';

/** Messages kept on the page. */
export const SHOWN = 200;

/** The messages received, newest first. */
function TapList({
  messages,
  view,
  received,
}: {
  messages: TapMessage[];
  view: PayloadView;
  received: number;
}) {
  return (
    <ul class="tap-list" data-testid="tap-list">
      {messages.map((m, i) => (
        <li key={`${m.at}-${received - i}`}>
          <span class="topic">{m.topic}</span>{' '}
          <span class="muted">
            QoS {m.qos}
            {m.retain ? ' retained' : ''} · {m.publisherClientId ?? 'host'} ·{' '}
            {new Date(m.at).toLocaleTimeString()}
          </span>
          <pre class="payload">
            {payload(m.payloadBase64, view)}
            {m.payloadTruncated ? ` … (${m.payloadBytes} bytes)` : ''}
          </pre>
        </li>
      ))}
    </ul>
  );
}

/** The live tap page. */
export function Tap() {
  const [filter, setFilter] = useState('#');
  const [running, setRunning] = useState<string | null>(null);
  const [messages, setMessages] = useState<TapMessage[]>([]);
  const [received, setReceived] = useState(0);
  const [counts, setCounts] = useState<TapCounts>({ sent: 0, droppedRate: 0, droppedSlow: 0 });
  const [maxRate, setMaxRate] = useState(0);
  const [status, setStatus] = useState('');
  const [view, setView] = useState<PayloadView>('text');
  const abort = useRef<AbortController | null>(null);

  const stop = () => {
    abort.current?.abort();
    abort.current = null;
    setRunning(null);
  };
  useEffect(() => stop, []);

  const start = (e: Event) => {
    e.preventDefault();
    stop();
    const controller = new AbortController();
    abort.current = controller;
    setMessages([]);
    setReceived(0);
    setCounts({ sent: 0, droppedRate: 0, droppedSlow: 0 });
    setStatus('connecting…');
    setRunning(filter);
    runTap(
      filter,
      {
        ready: (info) => {
          setMaxRate(info.maxRate);
          setStatus(`watching ${info.filter}`);
        },
        message: (m) => {
          setReceived((n) => n + 1);
          setMessages((list) => [m, ...list].slice(0, SHOWN));
        },
        stats: setCounts,
      },
      controller.signal,
    )
      .then(() => !controller.signal.aborted && setStatus('the broker ended the tap'))
      .catch((err: Error) => setStatus(`refused: ${err.message}`))
      .finally(() => abort.current === controller && setRunning(null));
  };

  const dropped = counts.droppedRate + counts.droppedSlow;
  return (
    <div>
      <form class="toolbar" onSubmit={start}>
        <input
          aria-label="Tap filter"
          placeholder="topic filter, e.g. sensors/#"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
        <button type="submit">{running === null ? 'Start' : 'Restart'}</button>
        <button type="button" disabled={running === null} onClick={stop}>
          Stop
        </button>
        <select
          aria-label="Payload view"
          value={view}
          onChange={(e) => setView((e.target as HTMLSelectElement).value as PayloadView)}
        >
          <option value="text">text</option>
          <option value="json">json</option>
          <option value="hex">hex</option>
        </select>
      </form>
      <p class="muted" data-testid="tap-status">
        {status}
      </p>
      <p class="tap-counts">
        received <b data-testid="tap-received">{received}</b> · dropped{' '}
        <b data-testid="tap-dropped">{dropped}</b>
        {maxRate > 0 &&
          ` (at most ${maxRate} messages/s are shown; slow reader: ${counts.droppedSlow})`}
      </p>
      <TapList messages={messages} view={view} received={received} />
    </div>
  );
}
