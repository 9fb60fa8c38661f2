/**
 * The admin API's session and subscription routes over real HTTP and MQTT: listing (filters,
 * several pages), one session, deleting one (the next connection finds none), and listing
 * subscriptions by client or filter; each with its bad requests.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import mqttjs, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import {
  type AdminApiHarness,
  allApiPages,
  assertProblem,
  startAdminApi,
} from '../helpers/admin-http.js';
import { connectClient, endClient } from '../helpers/broker.js';

let harness: AdminApiHarness | undefined;
const mqttClients: MqttClient[] = [];

afterEach(async () => {
  for (const client of mqttClients.splice(0)) await endClient(client, true);
  await harness?.close();
  harness = undefined;
});

async function start(): Promise<AdminApiHarness> {
  harness = await startAdminApi();
  return harness;
}

const persistent = {
  protocolVersion: 5,
  clean: false,
  properties: { sessionExpiryInterval: 300 },
} as const;

async function mqtt(options: IClientOptions): Promise<MqttClient> {
  const client = await connectClient(harness!.tb.url, { protocolVersion: 5, ...options });
  mqttClients.push(client);
  return client;
}

/** A persistent session whose client has left. */
async function awaySession(clientId: string, filter?: string): Promise<void> {
  const client = await connectClient(harness!.tb.url, { clientId, ...persistent });
  if (filter !== undefined) await client.subscribeAsync(filter, { qos: 1 });
  await endClient(client);
}

/** Connects MQTT.js and resolves with its CONNACK. */
function connack(options: IClientOptions): Promise<IConnackPacket> {
  return new Promise((resolve, reject) => {
    const client = mqttjs.connect(harness!.tb.url, { reconnectPeriod: 0, ...options });
    mqttClients.push(client);
    client.once('error', reject);
    client.once('connect', resolve);
  });
}

describe('admin API: sessions', () => {
  it('GET /sessions lists sessions, connected or not, through several pages and by filter', async () => {
    const api = await start();
    for (const id of ['s-1', 's-2', 's-3']) await awaySession(id);
    await mqtt({ clientId: 's-4', ...persistent });
    await mqtt({ clientId: 't-1', ...persistent });
    const { items, pages } = await allApiPages(api, '/sessions', 2);
    assert.equal(pages, 3);
    assert.deepEqual(
      items.map((s) => [s.clientId, s.connected]),
      [
        ['s-1', false],
        ['s-2', false],
        ['s-3', false],
        ['s-4', true],
        ['t-1', true],
      ],
    );
    const away = await allApiPages(api, '/sessions?connected=false&clientIdPrefix=s-', 2);
    assert.deepEqual(
      away.items.map((s) => s.clientId),
      ['s-1', 's-2', 's-3'],
    );
    const here = await api.call('GET', '/sessions?connected=true');
    assert.deepEqual(
      here.body.items.map((s: { clientId: string }) => s.clientId),
      ['s-4', 't-1'],
    );
  });

  it('GET /sessions: a bad query is 400 naming the parameter', async () => {
    const api = await start();
    assertProblem(
      await api.call('GET', '/sessions?connected=maybe'),
      400,
      'bad-request',
      /query parameter connected: expected true or false, got "maybe"/,
    );
    assertProblem(
      await api.call('GET', '/sessions?limit=-1'),
      400,
      'bad-request',
      /limit must be an integer from 1 to 1000/,
    );
  });

  it('GET /sessions/{clientId}: one session as broker.admin gives it; 404 for none', async () => {
    const api = await start();
    await awaySession('away-1', 'a/#');
    const answer = await api.call('GET', '/sessions/away-1');
    assert.equal(answer.status, 200);
    assert.equal(answer.body.connected, false);
    assert.equal(answer.body.subscriptions, 1);
    assert.equal(answer.body.expiryInterval, 300);
    assert.deepEqual(
      answer.body,
      JSON.parse(JSON.stringify(await api.tb.broker.admin.session('away-1'))),
    );
    assertProblem(
      await api.call('GET', '/sessions/none'),
      404,
      'not-found',
      /no session with client id "none"/,
    );
    assertProblem(
      await api.call('GET', '/sessions/away-1?connected=true'),
      400,
      'bad-request',
      /unknown query parameter "connected": this route takes none/,
    );
  });

  it('[MQTT-3.2.2-3] DELETE /sessions/{clientId}: the next connection gets Session Present 0', async () => {
    const api = await start();
    await awaySession('gone-1', 'g/#');
    const present = await connack({ clientId: 'gone-1', ...persistent });
    assert.equal(present.sessionPresent, true, 'the session is there before');
    await endClient(mqttClients.pop()!);
    const answer = await api.call('DELETE', '/sessions/gone-1');
    assert.equal(answer.status, 204);
    assertProblem(await api.call('GET', '/sessions/gone-1'), 404, 'not-found');
    const after = await connack({ clientId: 'gone-1', ...persistent });
    assert.equal(after.sessionPresent, false);
  });

  it('[MQTT-3.14.2-1] DELETE /sessions/{clientId} of a connected client: DISCONNECT 0x98 first', async () => {
    const api = await start();
    const client = await mqtt({ clientId: 'live-1', ...persistent });
    const reason = new Promise<number | undefined>((resolve) =>
      client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    assert.equal((await api.call('DELETE', '/sessions/live-1')).status, 204);
    assert.equal(await reason, 0x98);
    assertProblem(await api.call('GET', '/sessions/live-1'), 404, 'not-found');
  });

  it('DELETE /sessions/{clientId}: 404 for none, 400 for a bad sendWill', async () => {
    const api = await start();
    assertProblem(
      await api.call('DELETE', '/sessions/nobody'),
      404,
      'not-found',
      /no session with client id "nobody"/,
    );
    await awaySession('kept');
    assertProblem(
      await api.call('DELETE', '/sessions/kept?sendWill=1'),
      400,
      'bad-request',
      /query parameter sendWill: expected true or false, got "1"/,
    );
    assert.equal((await api.call('GET', '/sessions/kept')).status, 200, 'not deleted');
  });
});

describe('admin API: GET /subscriptions', () => {
  it('lists subscriptions by client id then filter, through several pages, and filters', async () => {
    const api = await start();
    const a = await mqtt({ clientId: 'sub-a' });
    await a.subscribeAsync(['x/1', 'x/2', '$share/g/x/#'], { qos: 1 });
    const b = await mqtt({ clientId: 'sub-b' });
    await b.subscribeAsync('x/1', { qos: 0 });
    const { items, pages } = await allApiPages(api, '/subscriptions', 3);
    assert.equal(pages, 2);
    assert.deepEqual(
      items.map((s) => [s.clientId, s.filter, s.qos, s.shareGroup]),
      [
        ['sub-a', '$share/g/x/#', 1, 'g'],
        ['sub-a', 'x/1', 1, null],
        ['sub-a', 'x/2', 1, null],
        ['sub-b', 'x/1', 0, null],
      ],
    );
    const byClient = await api.call('GET', '/subscriptions?clientId=sub-b');
    assert.deepEqual(
      byClient.body.items.map((s: { filter: string }) => s.filter),
      ['x/1'],
    );
    const byFilter = await api.call('GET', `/subscriptions?filter=${encodeURIComponent('x/1')}`);
    assert.deepEqual(
      byFilter.body.items.map((s: { clientId: string }) => s.clientId),
      ['sub-a', 'sub-b'],
    );
  });

  it('a bad query is 400 naming the parameter', async () => {
    const api = await start();
    assertProblem(
      await api.call('GET', '/subscriptions?client=sub-a'),
      400,
      'bad-request',
      /unknown query parameter "client" \(this route takes: clientId, filter, limit, cursor\)/,
    );
    assertProblem(
      await api.call('GET', '/subscriptions?cursor=%3F%3F'),
      400,
      'bad-request',
      /not a cursor of this API/,
    );
  });
});
