/**
 * One client's page: who it is, its session's figures (inflight, queue, output buffer), its
 * subscriptions and will, and a button that disconnects it (MQTT 5: DISCONNECT 0x98).
 */
import { useState } from 'preact/hooks';
import { ApiError, api, segment } from './api.ts';
import { bytes, time } from './format.ts';
import { usePoll } from './poll.ts';
import type { ClientDetails } from './types.ts';

function Field({ label, value }: { label: string; value: string | number }) {
  return (
    <div class="field">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function Subscriptions({ client }: { client: ClientDetails }) {
  return (
    <div class="table-wrap">
      <table data-testid="subscriptions">
        <thead>
          <tr>
            <th>Filter</th>
            <th>QoS</th>
            <th>No local</th>
            <th>Retain as published</th>
            <th>Share group</th>
          </tr>
        </thead>
        <tbody>
          {client.subscriptions.map((s) => (
            <tr key={s.filter}>
              <td>{s.filter}</td>
              <td>{s.qos}</td>
              <td>{s.noLocal ? 'yes' : 'no'}</td>
              <td>{s.retainAsPublished ? 'yes' : 'no'}</td>
              <td>{s.shareGroup ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The page of the client `clientId`. */
export function ClientPage({ clientId }: { clientId: string }) {
  const [client, setClient] = useState<ClientDetails | null>(null);
  const [gone, setGone] = useState('');
  const [action, setAction] = useState('');
  const error = usePoll(
    async () => {
      try {
        setClient(await api<ClientDetails>('GET', `/clients/${segment(clientId)}`));
        setGone('');
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) setGone(err.detail);
        else throw err;
      }
    },
    2000,
    [clientId],
  );
  const disconnect = async () => {
    try {
      await api('POST', `/clients/${segment(clientId)}/disconnect`, {});
      setAction(`${clientId} was disconnected`);
      setClient(null);
      setGone('not connected');
    } catch (err) {
      setAction(`disconnect failed: ${(err as Error).message}`);
    }
  };
  return (
    <div>
      <p>
        <a href="#/clients">← Clients</a>
      </p>
      <h2>{clientId}</h2>
      {error && <p class="error">{error}</p>}
      {action && (
        <p class="notice" role="status">
          {action}
        </p>
      )}
      {gone && <p class="muted">This client is not connected ({gone}).</p>}
      {client && (
        <>
          <button type="button" class="danger" onClick={disconnect}>
            Disconnect
          </button>
          <dl class="fields">
            <Field label="Username" value={client.username ?? ''} />
            <Field label="Address" value={`${client.address ?? ''} (${client.listener})`} />
            <Field label="Protocol" value={client.protocolVersion} />
            <Field label="Connected since" value={time(client.connectedAt)} />
            <Field label="Keep alive" value={`${client.keepAlive} s`} />
            <Field label="Session expiry" value={`${client.sessionExpiryInterval} s`} />
            <Field label="Inflight" value={client.inflight} />
            <Field
              label="Queued"
              value={`${client.queuedMessages} (${bytes(client.queuedBytes)})`}
            />
            <Field label="Output buffered" value={bytes(client.outputBufferedBytes)} />
            <Field label="Receive maximum" value={client.receiveMaximum} />
            <Field label="Last activity" value={time(client.lastActivity)} />
            <Field
              label="Will"
              value={client.will ? `${client.will.topic} (QoS ${client.will.qos})` : 'none'}
            />
          </dl>
          <h3>Subscriptions ({client.subscriptions.length})</h3>
          <Subscriptions client={client} />
        </>
      )}
    </div>
  );
}
