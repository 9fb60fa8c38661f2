import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { createBroker } from '../../src/index.js';
import {
  connectClient,
  endClient,
  nextMessages,
  startBroker,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';
import { assertProblem } from '../helpers/http.js';
import { type Exposition, parseExposition } from '../helpers/prometheus-text.js';

/** Fetches and strictly parses `url` (a /metrics endpoint). */
async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await res.text());
}

/** The value of a series; fails when the series is missing. */
function read(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const value = exposition.value(name, labels);
  assert.notEqual(value, undefined, `${name}${JSON.stringify(labels)} missing`);
  return value!;
}

/** Every pipit_* family the docs list, with its type. */
const PIPIT_FAMILIES: [string, string][] = [
  ['pipit_connections', 'gauge'],
  ['pipit_connections_open', 'gauge'],
  ['pipit_connections_accepted_total', 'counter'],
  ['pipit_connections_rejected_total', 'counter'],
  ['pipit_messages_received_total', 'counter'],
  ['pipit_messages_sent_total', 'counter'],
  ['pipit_packets_received_total', 'counter'],
  ['pipit_packets_sent_total', 'counter'],
  ['pipit_received_bytes_total', 'counter'],
  ['pipit_sent_bytes_total', 'counter'],
  ['pipit_messages_dropped_total', 'counter'],
  ['pipit_refusals_total', 'counter'],
  ['pipit_auth_failures_total', 'counter'],
  ['pipit_protocol_errors_total', 'counter'],
  ['pipit_output_holds_total', 'counter'],
  ['pipit_sessions', 'gauge'],
  ['pipit_subscriptions', 'gauge'],
  ['pipit_queued_messages', 'gauge'],
  ['pipit_queued_bytes', 'gauge'],
  ['pipit_retained_messages', 'gauge'],
  ['pipit_retained_bytes', 'gauge'],
  ['pipit_memory_budget_bytes', 'gauge'],
  ['pipit_memory_budget_used_bytes', 'gauge'],
  ['pipit_store_commit_seconds', 'histogram'],
  ['pipit_store_fsync_seconds', 'histogram'],
  ['pipit_store_batch_writes', 'histogram'],
];

describe('GET /metrics', () => {
  let tb: TestBroker;
  let metricsUrl: string;

  before(async () => {
    tb = await startBroker();
    tb.broker.addHook({
      name: 'test-auth',
      authenticate: ({ client }) => (client.username === 'intruder' ? 'deny' : 'allow'),
    });
    const http = await tb.broker.listen({ type: 'http', port: 0 });
    metricsUrl = `${http.url}/metrics`;
  });
  after(() => tb.close());

  it('parses as Prometheus text with every pipit_ metric and the process metrics', async () => {
    const exposition = await scrape(metricsUrl);
    for (const [name, type] of PIPIT_FAMILIES) {
      const family = exposition.families.get(name);
      assert.ok(family, `${name} missing`);
      assert.equal(family.type, type, name);
      assert.ok(family.help && family.help.length > 10, `${name} has a help text`);
    }
    for (const [name, type] of [
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['nodejs_gc_duration_seconds', 'histogram'],
      ['process_cpu_user_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
    ] as const) {
      assert.equal(exposition.families.get(name)?.type, type, name);
    }
    assert.ok(read(exposition, 'pipit_memory_budget_bytes') > 0);
    for (const reason of ['queue-full', 'offline-qos0', 'memory-budget']) {
      assert.equal(typeof read(exposition, 'pipit_messages_dropped_total', { reason }), 'number');
    }
    assert.equal(
      typeof read(exposition, 'pipit_refusals_total', { kind: 'connections' }),
      'number',
    );
  });

  it('counts N QoS 1 publishes as N messages received and sent at QoS 1, with their bytes', async () => {
    const sub = await connectClient(tb.url, { protocolVersion: 5 });
    await sub.subscribeAsync('m/qos1', { qos: 1 });
    const pub = await connectClient(tb.url, { protocolVersion: 5 });
    const before = await scrape(metricsUrl);
    const n = 20;
    const arriving = nextMessages(sub, n);
    for (let i = 0; i < n; i++) await pub.publishAsync('m/qos1', Buffer.alloc(100, i), { qos: 1 });
    await arriving;
    const after = await scrape(metricsUrl);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      read(after, name, labels) - read(before, name, labels);
    assert.equal(delta('pipit_messages_received_total', { qos: '1' }), n);
    assert.equal(delta('pipit_messages_received_total', { qos: '0' }), 0);
    assert.equal(delta('pipit_messages_sent_total', { qos: '1' }), n);
    assert.ok(delta('pipit_received_bytes_total') >= n * 100);
    assert.ok(delta('pipit_sent_bytes_total') >= n * 100);
    assert.ok(delta('pipit_packets_received_total') >= 2 * n); // PUBLISH and PUBACK
    await Promise.all([endClient(sub), endClient(pub)]);
  });

  it('counts a refused login as one auth failure and one rejected connection', async () => {
    const before = await scrape(metricsUrl);
    await assert.rejects(connectClient(tb.url, { username: 'intruder', password: 'x' }));
    const after = await scrape(metricsUrl);
    assert.equal(
      read(after, 'pipit_auth_failures_total') - read(before, 'pipit_auth_failures_total'),
      1,
    );
    assert.equal(
      read(after, 'pipit_connections_rejected_total') -
        read(before, 'pipit_connections_rejected_total'),
      1,
    );
  });

  it('counts connections by listener and protocol version', async () => {
    const labels = (protocol_version: string) => ({ listener: 'tcp', protocol_version });
    const before = await scrape(metricsUrl);
    const clients: MqttClient[] = [
      await connectClient(tb.url, { protocolVersion: 5 }),
      await connectClient(tb.url, { protocolVersion: 5 }),
      await connectClient(tb.url, { protocolVersion: 4 }),
      await connectClient(tb.url, { protocolVersion: 3, protocolId: 'MQIsdp' }),
    ];
    const during = await scrape(metricsUrl);
    const delta = (v: string) =>
      read(during, 'pipit_connections', labels(v)) - read(before, 'pipit_connections', labels(v));
    assert.equal(delta('5.0'), 2);
    assert.equal(delta('3.1.1'), 1);
    assert.equal(delta('3.1'), 1);
    assert.equal(
      read(during, 'pipit_connections_accepted_total') -
        read(before, 'pipit_connections_accepted_total'),
      4,
    );
    await Promise.all(clients.map((c) => endClient(c)));
    await waitFor(
      async () =>
        read(await scrape(metricsUrl), 'pipit_connections', labels('5.0')) ===
        read(before, 'pipit_connections', labels('5.0')),
    );
  });

  it('shows what the broker holds: sessions, subscriptions, queued and retained messages, drops', async () => {
    const sessions = async () => read(await scrape(metricsUrl), 'pipit_sessions');
    await waitFor(async () => (await sessions()) === 0, 5000, 'earlier sessions to end');
    const before = await scrape(metricsUrl);
    const away = await connectClient(tb.url, {
      clientId: 'away',
      clean: false,
      protocolVersion: 4,
    });
    await away.subscribeAsync('held/#', { qos: 1 });
    await endClient(away);
    const pub = await connectClient(tb.url, { protocolVersion: 5 });
    await pub.publishAsync('held/q1', 'queued', { qos: 1 }); // queued for the away session
    await pub.publishAsync('held/q0', 'dropped', { qos: 0 }); // QoS 0 is not queued offline
    await pub.publishAsync('retained/1', Buffer.alloc(300), { qos: 1, retain: true });
    await endClient(pub);
    await waitFor(async () => (await sessions()) === 1, 5000, "the publisher's session to end");
    const after = await scrape(metricsUrl);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      read(after, name, labels) - read(before, name, labels);
    assert.equal(delta('pipit_sessions'), 1);
    assert.equal(delta('pipit_subscriptions'), 1);
    assert.equal(delta('pipit_queued_messages'), 1);
    assert.equal(delta('pipit_messages_dropped_total', { reason: 'offline-qos0' }), 1);
    assert.equal(delta('pipit_retained_messages'), 1);
    assert.ok(delta('pipit_retained_bytes') >= 300);
    assert.ok(delta('pipit_memory_budget_used_bytes') >= 300);
  });

  it('answers 405 to a POST and 404 below /metrics', async () => {
    const post = await fetch(metricsUrl, { method: 'POST', body: '' });
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await assertProblem(post, 405, /POST is not supported here/);
    await assertProblem(await fetch(`${metricsUrl}/extra`), 404, /try \/metrics/);
  });
});

describe('GET /metrics: two brokers in one process', () => {
  it('keeps separate metrics for each broker', async () => {
    const a = await startBroker();
    const b = await startBroker();
    try {
      const urlA = `${(await a.broker.listen({ type: 'http', port: 0 })).url}/metrics`;
      const urlB = `${(await b.broker.listen({ type: 'http', port: 0 })).url}/metrics`;
      const beforeB = await scrape(urlB);
      const client = await connectClient(a.url);
      for (let i = 0; i < 5; i++) await client.publishAsync('only/a', 'x', { qos: 1 });
      await endClient(client);
      const qos1 = { qos: '1' };
      assert.ok(read(await scrape(urlA), 'pipit_messages_received_total', qos1) >= 5);
      const afterB = await scrape(urlB);
      // The same registry without HTTP.
      const textB = parseExposition(await b.broker.metricsText());
      assert.equal(
        textB.value('pipit_messages_received_total', qos1),
        read(beforeB, 'pipit_messages_received_total', qos1),
      );
      assert.equal(
        read(afterB, 'pipit_messages_received_total', qos1),
        read(beforeB, 'pipit_messages_received_total', qos1),
      );
      assert.equal(
        read(afterB, 'pipit_connections_accepted_total'),
        read(beforeB, 'pipit_connections_accepted_total'),
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('GET /metrics: which default metrics (option metrics)', () => {
  const HANDLE_FAMILIES = [
    'nodejs_active_handles',
    'nodejs_active_handles_total',
    'process_open_fds',
  ];

  /** The families a broker created with `metrics` serves. */
  async function families(metrics?: { process?: boolean; handles?: boolean }): Promise<string[]> {
    const broker = createBroker(metrics === undefined ? {} : { metrics });
    try {
      return [...parseExposition(await broker.metricsText()).families.keys()];
    } finally {
      await broker.close();
    }
  }

  it('by default: the process metrics, not those that walk every handle at each scrape', async () => {
    const names = await families();
    for (const name of ['nodejs_eventloop_lag_p99_seconds', 'process_cpu_user_seconds_total']) {
      assert.ok(names.includes(name), name);
    }
    for (const name of HANDLE_FAMILIES) assert.ok(!names.includes(name), name);
    assert.ok(names.includes('pipit_connections_open'));
  });

  it('handles: true adds them; process: false leaves only the pipit_ metrics', async () => {
    const withHandles = await families({ handles: true });
    for (const name of HANDLE_FAMILIES) assert.ok(withHandles.includes(name), name);
    const pipitOnly = await families({ process: false });
    assert.deepEqual(
      pipitOnly.filter((name) => !name.startsWith('pipit_')),
      [],
      'no process or nodejs metric',
    );
    assert.ok(pipitOnly.includes('pipit_connections'));
  });
});

describe('GET /metrics: the SQLite store', () => {
  it('times each committed batch in the commit and fsync histograms', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pipit-metrics-'));
    const broker = createBroker({ persistence: { kind: 'sqlite', dataDir } });
    try {
      const mqtt = await broker.listen({ port: 0 });
      const http = await broker.listen({ type: 'http', port: 0 });
      const client = await connectClient(mqtt.url, { clean: false, clientId: 'durable' });
      await client.subscribeAsync('d/#', { qos: 1 });
      for (let i = 0; i < 5; i++) await client.publishAsync('d/x', 'x', { qos: 1 });
      await endClient(client);
      const exposition = await scrape(`${http.url}/metrics`);
      const commits = read(exposition, 'pipit_store_commit_seconds_count');
      assert.ok(commits >= 5, `${commits} commits`); // each QoS 1 PUBLISH waited for one
      assert.equal(read(exposition, 'pipit_store_fsync_seconds_count'), commits);
      assert.ok(read(exposition, 'pipit_store_fsync_seconds_sum') > 0);
      assert.ok(read(exposition, 'pipit_store_batch_writes_sum') >= commits);
      assert.equal(read(exposition, 'pipit_store_commit_seconds_bucket', { le: '+Inf' }), commits);
    } finally {
      await broker.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
