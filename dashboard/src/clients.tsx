/**
 * The clients page: connected clients by client id, searched by client id prefix, a page of
 * {@link PAGE_SIZE} at a time (the API's cursors), with each one's session figures; a row
 * opens the client's page.
 */
import { useState } from 'preact/hooks';
import { api, segment } from './api.ts';
import { time } from './format.ts';
import { usePoll } from './poll.ts';
import type { ClientSummary, Page, SessionSummary } from './types.ts';

/** Clients per page. */
export const PAGE_SIZE = 20;

interface Row extends ClientSummary {
  session: SessionSummary | undefined;
}

async function loadPage(search: string, cursor: string | null): Promise<Page<Row>> {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (search !== '') query.set('clientIdPrefix', search);
  if (cursor !== null) query.set('cursor', cursor);
  const page = await api<Page<ClientSummary>>('GET', `/clients?${query}`);
  // The session figures (subscriptions, inflight, queue) are per client: one call each.
  const sessions = await Promise.all(
    page.items.map((c) =>
      api<SessionSummary>('GET', `/sessions/${segment(c.clientId)}`).catch(() => undefined),
    ),
  );
  return {
    items: page.items.map((c, i) => ({ ...c, session: sessions[i] })),
    nextCursor: page.nextCursor,
  };
}

function ClientRow({ row }: { row: Row }) {
  const href = `#/clients/${segment(row.clientId)}`;
  return (
    <tr data-client={row.clientId}>
      <td>
        <a href={href}>{row.clientId}</a>
      </td>
      <td>{row.username ?? ''}</td>
      <td>{row.address ?? ''}</td>
      <td>
        MQTT {row.protocolVersion === 5 ? '5' : row.protocolVersion === 4 ? '3.1.1' : '3.1'} (
        {row.listener})
      </td>
      <td>{time(row.connectedAt)}</td>
      <td class="num">{row.session?.subscriptions ?? ''}</td>
      <td class="num">{row.session?.inflight ?? ''}</td>
      <td class="num">{row.session?.queuedMessages ?? ''}</td>
    </tr>
  );
}

/** The clients page. */
export function Clients() {
  const [search, setSearch] = useState('');
  // The cursors of the pages before this one (null: the first page).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page<Row> | null>(null);
  const cursor = cursors[cursors.length - 1]!;
  const error = usePoll(async () => setPage(await loadPage(search, cursor)), 3000, [
    search,
    cursor,
  ]);
  return (
    <div>
      <div class="toolbar">
        <input
          type="search"
          placeholder="Search by client id prefix"
          aria-label="Search clients"
          value={search}
          onInput={(e) => {
            setSearch((e.target as HTMLInputElement).value);
            setCursors([null]);
          }}
        />
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors([null])}>
          First page
        </button>
        <button
          type="button"
          disabled={!page?.nextCursor}
          onClick={() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}
        >
          Next page
        </button>
      </div>
      {error && <p class="error">{error}</p>}
      <div class="table-wrap">
        <table data-testid="clients-table">
          <thead>
            <tr>
              <th>Client id</th>
              <th>Username</th>
              <th>Address</th>
              <th>Protocol</th>
              <th>Connected since</th>
              <th>Subs</th>
              <th>Inflight</th>
              <th>Queued</th>
            </tr>
          </thead>
          <tbody>
            {page?.items.map((row) => (
              <ClientRow key={row.clientId} row={row} />
            ))}
          </tbody>
        </table>
      </div>
      {page !== null && page.items.length === 0 && <p class="muted">No client matches.</p>}
    </div>
  );
}
