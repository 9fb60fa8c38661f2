/**
 * The admin API's message and broker routes over real HTTP and MQTT: retained messages (list
 * by filter over several pages, get and delete by a topic with slashes), publishing to a real
 * subscriber with MQTT 5 properties, the counters moving with traffic, the node list, and
 * unknown routes and methods; each with its bad requests.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import {
  type AdminApiHarness,
  allApiPages,
  assertProblem,
  startAdminApi,
} from '../helpers/admin-http.js';
import { connectClient, endClient, nextMessages } from '../helpers/broker.js';

let harness: AdminApiHarness | undefined;
const mqttClients: MqttClient[] = [];

afterEach(async () => {
  for (const client of mqttClients.splice(0)) await endClient(client, true);
  await harness?.close();
  harness = undefined;
});

async function start(api: Parameters<typeof startAdminApi>[0] = {}): Promise<AdminApiHarness> {
  harness = await startAdminApi(api);
  return harness;
}

async function subscriber(clientId: string, filter: string): Promise<MqttClient> {
  const client = await connectClient(harness!.tb.url, { clientId, protocolVersion: 5 });
  mqttClients.push(client);
  await client.subscribeAsync(filter, { qos: 1 });
  return client;
}

/**
 * Subscribes a new client and resolves with the first `count` messages it gets, retained ones
 * included (the collector is in place before the SUBSCRIBE goes out).
 */
async function firstMessages(clientId: string, filter: string, count = 1) {
  const client = await connectClient(harness!.tb.url, { clientId, protocolVersion: 5 });
  mqttClients.push(client);
  const messages = nextMessages(client, count);
  await client.subscribeAsync(filter, { qos: 1 });
  return messages;
}

async function retain(topic: string, payload: string): Promise<void> {
  await harness!.tb.broker.publish({ topic, payload, retain: true, qos: 1 });
}

describe('admin API: retained messages', () => {
  it('[MQTT-4.7.2-1] GET /retained lists by topic under a filter, through several pages', async () => {
    const api = await start();
    for (const topic of ['r/a', 'r/b', 'r/c/d', 'other/x', '$SYS/own']) await retain(topic, topic);
    const all = await allApiPages(api, '/retained', 2);
    assert.equal(all.pages, 2);
    assert.deepEqual(
      all.items.map((m) => m.topic),
      ['other/x', 'r/a', 'r/b', 'r/c/d'],
      '# does not match $ topics [MQTT-4.7.2-1]',
    );
    const under = await allApiPages(api, `/retained?filter=${encodeURIComponent('r/+')}`, 1);
    assert.equal(under.pages, 2);
    assert.deepEqual(
      under.items.map((m) => m.topic),
      ['r/a', 'r/b'],
    );
    const first = all.items[1];
    assert.equal(Buffer.from(first.payloadBase64, 'base64').toString(), 'r/a');
    assert.equal(first.qos, 1);
  });

  it('GET /retained: a malformed filter or an unknown parameter is 400', async () => {
    const api = await start();
    assertProblem(
      await api.call('GET', `/retained?filter=${encodeURIComponent('a/#/b')}`),
      400,
      'bad-request',
      /filter/,
    );
    assertProblem(
      await api.call('GET', '/retained?topic=a'),
      400,
      'bad-request',
      /unknown query parameter "topic" \(this route takes: filter, limit, cursor\)/,
    );
  });

  it('GET /retained/{topic}: the whole message, the topic encoded or with its slashes', async () => {
    const api = await start();
    const big = 'x'.repeat(1000);
    await retain('plant/line 1/temp', big);
    const encoded = await api.call('GET', `/retained/${encodeURIComponent('plant/line 1/temp')}`);
    assert.equal(encoded.status, 200);
    assert.equal(encoded.body.topic, 'plant/line 1/temp');
    assert.equal(encoded.body.payloadTruncated, false);
    assert.equal(Buffer.from(encoded.body.payloadBase64, 'base64').toString(), big);
    const slashes = await api.call('GET', '/retained/plant/line%201/temp');
    assert.deepEqual(slashes.body, encoded.body);
    assert.deepEqual(
      encoded.body,
      JSON.parse(JSON.stringify(await api.tb.broker.admin.retainedMessage('plant/line 1/temp'))),
    );
    assertProblem(
      await api.call('GET', '/retained/plant/none'),
      404,
      'not-found',
      /no retained message on topic "plant\/none"/,
    );
    assertProblem(
      await api.call('GET', `/retained/${encodeURIComponent('plant/+')}`),
      400,
      'bad-request',
    );
  });

  it('DELETE /retained/{topic}: new subscribers get nothing for it; 404 when none', async () => {
    const api = await start();
    await retain('keep/me', 'kept');
    await retain('drop/me', 'dropped');
    assert.equal((await api.call('DELETE', '/retained/drop%2Fme')).status, 204);
    assertProblem(await api.call('DELETE', '/retained/drop/me'), 404, 'not-found');
    assertProblem(
      await api.call('DELETE', `/retained/${encodeURIComponent('drop/#')}`),
      400,
      'bad-request',
      /not a valid topic name: "drop\/#"/,
    );
    const [got] = await firstMessages('late', '+/me');
    assert.equal(got!.topic, 'keep/me');
    const left = await api.call('GET', '/retained');
    assert.deepEqual(
      left.body.items.map((m: { topic: string }) => m.topic),
      ['keep/me'],
    );
  });
});

describe('admin API: POST /publish', () => {
  it('reaches a real subscriber with its MQTT 5 properties', async () => {
    const api = await start();
    const client = await subscriber('listener', 'cmd/#');
    const arriving = nextMessages(client, 1);
    const answer = await api.call('POST', '/publish', {
      json: {
        topic: 'cmd/lamp',
        payload: Buffer.from([0, 1, 2, 255]).toString('base64'),
        payloadEncoding: 'base64',
        qos: 1,
        contentType: 'application/octet-stream',
        responseTopic: 'reply/lamp',
        correlationData: Buffer.from('req-7').toString('base64'),
        messageExpiryInterval: 60,
        userProperties: [
          ['source', 'admin'],
          ['source', 'again'],
        ],
      },
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { deliveries: 1 });
    const [message] = await arriving;
    assert.equal(message!.topic, 'cmd/lamp');
    assert.deepEqual([...message!.payload], [0, 1, 2, 255]);
    assert.equal(message!.packet.qos, 1);
    const props = message!.packet.properties!;
    assert.equal(props.contentType, 'application/octet-stream');
    assert.equal(props.responseTopic, 'reply/lamp');
    assert.equal(Buffer.from(props.correlationData!).toString(), 'req-7');
    assert.ok(props.messageExpiryInterval! <= 60 && props.messageExpiryInterval! > 0);
    assert.deepEqual({ ...props.userProperties }, { source: ['admin', 'again'] });
  });

  it('[MQTT-3.3.2-4] a text payload, retained, with the UTF-8 format indicator', async () => {
    const api = await start();
    const answer = await api.call('POST', '/publish', {
      json: { topic: 'status/one', payload: 'héllo', retain: true, payloadIsUtf8: true },
    });
    assert.deepEqual(answer.body, { deliveries: 0 });
    const [message] = await firstMessages('later', 'status/#');
    assert.equal(message!.payload.toString(), 'héllo');
    assert.equal(message!.packet.retain, true);
    assert.equal(message!.packet.properties?.payloadFormatIndicator, true);
  });

  it('[MQTT-4.7.0-1] bad requests: wildcard topic, bad qos, $SYS, missing topic, bad base64, not UTF-8', async () => {
    const api = await start();
    const cases: [unknown, RegExp][] = [
      [{ topic: 'a/+' }, /field topic: .*wildcard/i],
      [{ topic: 'a/#' }, /field topic: .*wildcard/i],
      [{ topic: '' }, /field topic:/],
      [{ topic: 'a', qos: 3 }, /field qos: expected an integer 0-2, got 3/],
      [{ topic: 'a', qos: '1' }, /field qos: expected an integer 0-2, got "1"/],
      [{ topic: '$SYS/broker/uptime' }, /\$SYS topics are written by the broker only/],
      [{ payload: 'x' }, /field topic is required/],
      [
        { topic: 'a', payload: 'not base64!', payloadEncoding: 'base64' },
        /field payload: not valid base64/,
      ],
      [
        { topic: 'a', payloadEncoding: 'hex' },
        /field payloadEncoding: expected one of utf8, base64/,
      ],
      [
        { topic: 'a', payload: '/w==', payloadEncoding: 'base64', payloadIsUtf8: true },
        /payloadIsUtf8: the payload is not valid UTF-8/,
      ],
      [{ topic: 'a', responseTopic: 'r/#' }, /field responseTopic: .*wildcard/i],
      [{ topic: 'a', userProperties: { k: 'v' } }, /list of \[name, value\] string pairs/],
      [{ topic: 'a', messageExpiryInterval: -1 }, /messageExpiryInterval: expected an integer/],
      [{ topic: 'a', colour: 'red' }, /unknown field "colour"/],
    ];
    for (const [json, detail] of cases) {
      assertProblem(await api.call('POST', '/publish', { json }), 400, 'bad-request', detail);
    }
    assertProblem(
      await api.call('POST', '/publish'),
      400,
      'bad-request',
      /a JSON body is required/,
    );
    const counters = await api.call('GET', '/counters');
    assert.equal(counters.body.messagesReceived, 0, 'nothing was published');
  });
});

describe('admin API: counters, nodes, routes', () => {
  it('GET /counters: moves with the traffic the test makes', async () => {
    const api = await start();
    const before = await api.call('GET', '/counters');
    assert.equal(before.status, 200);
    assert.equal(before.body.connectionsCurrent, 0);
    const client = await subscriber('counted', 'c/#');
    await api.call('POST', '/publish', { json: { topic: 'c/1', payload: 'one', qos: 1 } });
    await nextMessages(client, 1);
    const after = await api.call('GET', '/counters');
    assert.equal(after.body.connectionsCurrent, 1);
    assert.equal(after.body.subscriptions, 1);
    assert.equal(after.body.sessions, 1);
    assert.equal(after.body.messagesSent - before.body.messagesSent, 1);
    assert.ok(after.body.bytesSent > before.body.bytesSent);
    assert.equal(typeof after.body.dropped['queue-full'], 'number');
    assertProblem(
      await api.call('GET', '/counters?verbose=true'),
      400,
      'bad-request',
      /unknown query parameter "verbose": this route takes none/,
    );
  });

  it('GET /nodes: this node with its state, version, uptime, figures and listeners', async () => {
    let now = 1_000_000;
    const api = await start({
      node: { id: 'node-a', version: '9.9.9', startedAt: 1_000_000 - 61_500 },
      now: () => now,
    });
    const answer = await api.call('GET', '/nodes');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, {
      items: [
        {
          nodeId: 'node-a',
          self: true,
          state: 'up',
          version: '9.9.9',
          startedAt: 938_500,
          uptimeSeconds: 61,
          address: null,
          connections: 0,
          messagesReceived: 0,
          messagesSent: 0,
          listeners: [
            {
              protocol: 'mqtt',
              host: '127.0.0.1',
              port: api.tb.port,
              url: `mqtt://127.0.0.1:${api.tb.port}`,
            },
          ],
        },
      ],
      nextCursor: null,
    });
    now += 10_000;
    assert.equal((await api.call('GET', '/nodes')).body.items[0].uptimeSeconds, 71);
    assertProblem(await api.call('GET', '/nodes?limit=5'), 400, 'bad-request', /"limit"/);
  });

  it('POST /reload without a configuration: 501', async () => {
    const api = await start();
    assertProblem(
      await api.call('POST', '/reload'),
      501,
      'not-configured',
      /not started from a configuration/,
    );
  });

  it('an unknown route is 404, a known one with another method 405 with Allow', async () => {
    const api = await start();
    assertProblem(
      await api.call('GET', '/clientz'),
      404,
      'no-such-route',
      /no route \/clientz in the admin API \(see \/api\/v1\/openapi\.json\)/,
    );
    assertProblem(await api.call('GET', ''), 404, 'no-such-route');
    assertProblem(await api.call('GET', '/clients/a/b'), 404, 'no-such-route');
    const wrong = await api.call('PUT', '/clients');
    assertProblem(wrong, 405, 'method-not-allowed', /PUT \/clients: allowed GET/);
    assert.equal(wrong.headers.get('allow'), 'GET');
    const both = await api.call('POST', '/sessions/x');
    assertProblem(both, 405, 'method-not-allowed');
    assert.equal(both.headers.get('allow'), 'GET, DELETE');
    const document = await api.call('POST', '/openapi.json', { token: null });
    assertProblem(document, 405, 'method-not-allowed', /POST \/openapi\.json: allowed GET/);
  });
});
