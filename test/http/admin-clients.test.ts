/**
 * The admin API's client routes over real HTTP and MQTT: listing connected clients (filters,
 * paging over several pages), one client's details as `broker.admin` gives them, and the
 * disconnect command as the clients see it on the wire; each with its bad requests.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { subscribeRaw } from '../helpers/admin-fixture.js';
import {
  type AdminApiHarness,
  allApiPages,
  assertProblem,
  startAdminApi,
} from '../helpers/admin-http.js';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let harness: AdminApiHarness | undefined;
const mqttClients: MqttClient[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  for (const client of mqttClients.splice(0)) await endClient(client, true);
  for (const raw of raws.splice(0)) raw.destroy();
  await harness?.close();
  harness = undefined;
});

async function start(): Promise<AdminApiHarness> {
  harness = await startAdminApi();
  return harness;
}

async function mqtt(options: Parameters<typeof connectClient>[1]): Promise<MqttClient> {
  const client = await connectClient(harness!.tb.url, { protocolVersion: 5, ...options });
  mqttClients.push(client);
  return client;
}

async function raw(
  clientId: string,
  version: 4 | 5,
  fields: Parameters<typeof RawClient.connected>[3] = {},
): Promise<RawClient> {
  const client = await RawClient.connected(harness!.tb.port, version, clientId, fields);
  raws.push(client);
  return client;
}

describe('admin API: GET /clients', () => {
  it('lists connected clients by client id, through several pages', async () => {
    const api = await start();
    for (let i = 1; i <= 5; i++) {
      await mqtt({ clientId: `c-${i}`, username: i <= 2 ? 'alice' : 'bob' });
    }
    const { items, pages } = await allApiPages(api, '/clients', 2);
    assert.equal(pages, 3);
    assert.deepEqual(
      items.map((c) => c.clientId),
      ['c-1', 'c-2', 'c-3', 'c-4', 'c-5'],
    );
    const first = items[0];
    assert.equal(first.username, 'alice');
    assert.equal(first.address, '127.0.0.1');
    assert.equal(first.listener, 'tcp');
    assert.equal(first.protocolVersion, 5);
  });

  it('filters by client id prefix, username, address and listener (combined)', async () => {
    const api = await start();
    await mqtt({ clientId: 'dev-1', username: 'carol' });
    await mqtt({ clientId: 'dev-2', username: 'dave' });
    await mqtt({ clientId: 'ops-1', username: 'carol' });
    const ids = async (query: string) =>
      (await api.call('GET', `/clients?${query}`)).body.items.map(
        (c: { clientId: string }) => c.clientId,
      );
    assert.deepEqual(await ids('clientIdPrefix=dev-'), ['dev-1', 'dev-2']);
    assert.deepEqual(await ids('username=carol'), ['dev-1', 'ops-1']);
    assert.deepEqual(await ids('username=carol&clientIdPrefix=ops'), ['ops-1']);
    assert.deepEqual(await ids('address=127.0.0.1'), ['dev-1', 'dev-2', 'ops-1']);
    assert.deepEqual(await ids('address=10.9.9.9'), []);
    assert.deepEqual(await ids('listener=tcp'), ['dev-1', 'dev-2', 'ops-1']);
    assert.deepEqual(await ids('listener=ws'), []);
  });

  it('bad requests: limit, cursor, unknown or repeated parameter -> 400 naming it', async () => {
    const api = await start();
    assertProblem(
      await api.call('GET', '/clients?limit=0'),
      400,
      'bad-request',
      /limit must be an integer from 1 to 1000/,
    );
    assertProblem(
      await api.call('GET', '/clients?limit=1001'),
      400,
      'bad-request',
      /limit must be an integer from 1 to 1000/,
    );
    assertProblem(
      await api.call('GET', '/clients?limit=ten'),
      400,
      'bad-request',
      /query parameter limit: expected an integer, got "ten"/,
    );
    assertProblem(
      await api.call('GET', '/clients?cursor=not-ours'),
      400,
      'bad-request',
      /not a cursor of this API/,
    );
    assertProblem(
      await api.call('GET', '/clients?user=alice'),
      400,
      'bad-request',
      /unknown query parameter "user" \(this route takes: clientIdPrefix, username, address, listener, limit, cursor\)/,
    );
    assertProblem(
      await api.call('GET', '/clients?username=a&username=b'),
      400,
      'bad-request',
      /query parameter username is given more than once/,
    );
  });
});

describe('admin API: GET /clients/{clientId}', () => {
  it("one client's details (subscriptions, inflight, queue depth), as broker.admin gives them", async () => {
    const api = await start();
    const sub = await raw('detail/1', 5, {
      properties: { receiveMaximum: 1, sessionExpiryInterval: 60 },
    });
    await subscribeRaw(sub, 'd/#', 1, {}, 7);
    const pub = await raw('detail-pub', 4);
    for (let i = 1; i <= 3; i++) {
      pub.send({
        type: 'publish',
        topic: 'd/x',
        payload: Buffer.alloc(10, i),
        qos: 1,
        retain: false,
        dup: false,
        packetId: i,
      });
      await pub.next('puback');
    }
    // The subscriber never acknowledges: one in flight (its Receive Maximum), two queued.
    await sub.until(() => sub.received.some((p) => p.type === 'publish'), 5000);
    const answer = await api.call('GET', `/clients/${encodeURIComponent('detail/1')}`);
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(answer.body.inflight, 1);
    assert.equal(answer.body.queuedMessages, 2);
    assert.equal(answer.body.queuedBytes, 20);
    assert.deepEqual(
      answer.body.subscriptions.map(
        (s: { filter: string; qos: number; subscriptionId: number }) => [
          s.filter,
          s.qos,
          s.subscriptionId,
        ],
      ),
      [['d/#', 1, 7]],
    );
    const direct = await api.tb.broker.admin.client('detail/1');
    assert.deepEqual(answer.body, JSON.parse(JSON.stringify(direct)), 'unchanged');
  });

  it('a client that is not connected: 404 naming it', async () => {
    const api = await start();
    assertProblem(
      await api.call('GET', '/clients/nobody'),
      404,
      'not-found',
      /no connected client with client id "nobody"/,
    );
  });

  it('a malformed URL encoding: 400', async () => {
    const api = await start();
    assertProblem(
      await api.call('GET', '/clients/bad%E0%A4%A'),
      400,
      'bad-request',
      /path parameter clientId: malformed URL encoding/,
    );
  });
});

describe('admin API: POST /clients/{clientId}/disconnect', () => {
  /** Resolves with the reason code of the DISCONNECT the broker sends `client`. */
  const disconnectReason = (client: MqttClient) =>
    new Promise<number | undefined>((resolve) =>
      client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );

  it('[MQTT-3.14.2-1] MQTT 5: DISCONNECT 0x98 Administrative action, no will, the session stays', async () => {
    const api = await start();
    const watcher = await mqtt({ clientId: 'watcher' });
    await watcher.subscribeAsync('will/#', { qos: 1 });
    const target = await mqtt({
      clientId: 'target',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
      will: { topic: 'will/target', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    const reason = disconnectReason(target);
    const topics: string[] = [];
    watcher.on('message', (topic) => topics.push(topic));
    const answer = await api.call('POST', '/clients/target/disconnect');
    assert.equal(answer.status, 204);
    assert.equal(answer.body, undefined);
    assert.equal(await reason, 0x98);
    const session = await api.call('GET', '/sessions/target');
    assert.equal(session.status, 200);
    assert.equal(session.body.connected, false);
    // A will would have been published before this probe, so it would arrive before it.
    await watcher.publishAsync('will/probe', 'p', { qos: 1 });
    await waitFor(() => topics.includes('will/probe'), 5000, 'the probe');
    assert.deepEqual(topics, ['will/probe'], 'no will');
  });

  it('[MQTT-3.14.2-1] another reason code a server may send, and the will on request', async () => {
    const api = await start();
    const watcher = await mqtt({ clientId: 'watcher2' });
    await watcher.subscribeAsync('will/#', { qos: 1 });
    const target = await mqtt({
      clientId: 'target2',
      will: { topic: 'will/target2', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    const reason = disconnectReason(target);
    const will = new Promise<string>((resolve) =>
      watcher.once('message', (_topic, payload) => resolve(payload.toString())),
    );
    const answer = await api.call('POST', '/clients/target2/disconnect', {
      json: { reasonCode: 0x8b, sendWill: true },
    });
    assert.equal(answer.status, 204);
    assert.equal(await reason, 0x8b);
    assert.equal(await will, 'gone');
  });

  it('MQTT 3.1.1: the connection is closed', async () => {
    const api = await start();
    const client = await raw('old-client', 4);
    assert.equal((await api.call('POST', '/clients/old-client/disconnect')).status, 204);
    await client.waitClose();
  });

  it('[MQTT-3.14.2-1] bad requests: reason code, field types, unknown field, JSON, media type, size; 404', async () => {
    const api = await start();
    await raw('victim', 5);
    const path = '/clients/victim/disconnect';
    const clientOnly = await api.call('POST', path, { json: { reasonCode: 0x04 } });
    assertProblem(
      clientOnly,
      400,
      'bad-request',
      /reasonCode: 0x04 is not a DISCONNECT reason code a server may send/,
    );
    assert.ok(clientOnly.body.detail.endsWith('[MQTT-3.14.2-1]'), 'the rule is named');
    assertProblem(
      await api.call('POST', path, { json: { reasonCode: 0x05 } }),
      400,
      'bad-request',
      /0x05 is not a DISCONNECT reason code/,
    );
    assertProblem(
      await api.call('POST', path, { json: { reasonCode: 300 } }),
      400,
      'bad-request',
      /field reasonCode: expected an integer 0-255, got 300/,
    );
    assertProblem(
      await api.call('POST', path, { json: { sendWill: 'yes' } }),
      400,
      'bad-request',
      /field sendWill: expected true or false, got "yes"/,
    );
    assertProblem(
      await api.call('POST', path, { json: { reason: 'x' } }),
      400,
      'bad-request',
      /unknown field "reason" in the request body \(known: reasonCode, sendWill\)/,
    );
    assertProblem(
      await api.call('POST', path, { json: [1, 2] }),
      400,
      'bad-request',
      /the request body must be a JSON object/,
    );
    assertProblem(
      await api.call('POST', path, {
        raw: '{"reasonCode":',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'bad-request',
      /the request body is not valid JSON/,
    );
    assertProblem(
      await api.call('POST', path, {
        raw: 'reasonCode=152',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'unsupported-media-type',
      /must be JSON .* got Content-Type text\/plain/,
    );
    assertProblem(
      await api.call('POST', path, {
        json: { reasonCode: 0x98, pad: 'x'.repeat(2 * 1024 * 1024) },
      }),
      413,
      'body-too-large',
      /larger than 1048576 bytes/,
    );
    assertProblem(
      await api.call('POST', '/clients/absent/disconnect'),
      404,
      'not-found',
      /no connected client with client id "absent"/,
    );
    const still = await api.call('GET', '/clients/victim');
    assert.equal(still.status, 200, 'none of the bad requests disconnected it');
  });
});
