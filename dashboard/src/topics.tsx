/**
 * The topics page: retained messages under a filter (payloads shown as text, JSON or hex),
 * each deletable; and a form that publishes a message as the host application.
 */
import { useState } from 'preact/hooks';
import { api, segment } from './api.ts';
import { bytes, type PayloadView, payload } from './format.ts';
import { usePoll } from './poll.ts';
import type { Page, RetainedMessage } from './types.ts';

const VIEWS: PayloadView[] = ['text', 'json', 'hex'];

function Retained({
  message,
  view,
  onDelete,
}: {
  message: RetainedMessage;
  view: PayloadView;
  onDelete: () => void;
}) {
  return (
    <tr data-topic={message.topic}>
      <td class="topic">{message.topic}</td>
      <td>{message.qos}</td>
      <td class="num">{bytes(message.payloadBytes)}</td>
      <td>
        <pre class="payload">
          {payload(message.payloadBase64, view)}
          {message.payloadTruncated ? ' …' : ''}
        </pre>
      </td>
      <td>
        <button
          type="button"
          class="danger"
          onClick={onDelete}
          aria-label={`Delete ${message.topic}`}
        >
          Delete
        </button>
      </td>
    </tr>
  );
}

function PublishForm({ onDone }: { onDone: (text: string) => void }) {
  const [topic, setTopic] = useState('');
  const [body, setBody] = useState('');
  const [qos, setQos] = useState(0);
  const [retain, setRetain] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const result = await api<{ deliveries: number }>('POST', '/publish', {
        topic,
        payload: body,
        qos,
        retain,
      });
      onDone(`published to ${topic}: ${result.deliveries} deliveries`);
    } catch (err) {
      onDone(`publish refused: ${(err as Error).message}`);
    }
  };
  return (
    <form class="publish" onSubmit={submit}>
      <h3>Publish</h3>
      <input
        required
        placeholder="topic"
        aria-label="Publish topic"
        value={topic}
        onInput={(e) => setTopic((e.target as HTMLInputElement).value)}
      />
      <textarea
        placeholder="payload (UTF-8)"
        aria-label="Publish payload"
        value={body}
        onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)}
      />
      <label>
        QoS{' '}
        <select value={qos} onChange={(e) => setQos(Number((e.target as HTMLSelectElement).value))}>
          <option value={0}>0</option>
          <option value={1}>1</option>
          <option value={2}>2</option>
        </select>
      </label>
      <label>
        <input
          type="checkbox"
          checked={retain}
          onChange={(e) => setRetain((e.target as HTMLInputElement).checked)}
        />{' '}
        retain
      </label>
      <button type="submit">Publish</button>
    </form>
  );
}

/** The topics page. */
export function Topics() {
  const [filter, setFilter] = useState('#');
  const [view, setView] = useState<PayloadView>('text');
  const [page, setPage] = useState<Page<RetainedMessage> | null>(null);
  const [notice, setNotice] = useState('');
  const [reload, setReload] = useState(0);
  const error = usePoll(
    async () => {
      const query = new URLSearchParams({ filter, limit: '100' });
      setPage(await api<Page<RetainedMessage>>('GET', `/retained?${query}`));
    },
    3000,
    [filter, reload],
  );
  const remove = async (topic: string) => {
    try {
      await api('DELETE', `/retained/${segment(topic)}`);
      setNotice(`deleted the retained message of ${topic}`);
    } catch (err) {
      setNotice(`delete failed: ${(err as Error).message}`);
    }
    setReload((n) => n + 1);
  };
  return (
    <div>
      <div class="toolbar">
        <input
          placeholder="topic filter, e.g. sensors/#"
          aria-label="Retained filter"
          value={filter}
          onChange={(e) => setFilter((e.target as HTMLInputElement).value || '#')}
        />
        {VIEWS.map((v) => (
          <label key={v} class="radio">
            <input type="radio" name="view" checked={view === v} onChange={() => setView(v)} /> {v}
          </label>
        ))}
      </div>
      {error && <p class="error">{error}</p>}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <div class="table-wrap">
        <table data-testid="retained-table">
          <thead>
            <tr>
              <th>Topic</th>
              <th>QoS</th>
              <th>Size</th>
              <th>Payload</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {page?.items.map((m) => (
              <Retained key={m.topic} message={m} view={view} onDelete={() => remove(m.topic)} />
            ))}
          </tbody>
        </table>
      </div>
      {page?.nextCursor && <p class="muted">More than 100 match: narrow the filter.</p>}
      {page !== null && page.items.length === 0 && (
        <p class="muted">No retained message matches.</p>
      )}
      <PublishForm
        onDone={(text) => {
          setNotice(text);
          setReload((n) => n + 1);
        }}
      />
    </div>
  );
}
