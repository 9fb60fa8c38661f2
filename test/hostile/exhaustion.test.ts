/**
 * Resource exhaustion over real TCP: a CONNECT trickled byte by byte, connection floods past
 * the global and per-listener caps, a subscriber that never reads, thousands of
 * subscriptions and retained topics, a takeover storm, and packets announcing 200 MB. Each
 * case checks the limit's answer and counter, that the broker still serves a new client, and
 * that memory stayed within a generous bound.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryBudget } from '../../src/core/memory-budget.js';
import type { BrokerOptions } from '../../src/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker, waitFor } from '../helpers/broker.js';
import { connectBytes, RawClient, roundTrip, varint } from '../helpers/raw-client.js';
import { growthMiB, memoryNow } from './memory.js';

/** Generous bounds: the cases would grow memory by hundreds of MiB if a limit failed. */
const MAX_HEAP_GROWTH_MIB = 64;
const MAX_RSS_GROWTH_MIB = 160;

describe('hostile: resource exhaustion', () => {
  let tb: TestBroker | undefined;
  const raws: RawClient[] = [];
  let baseline = memoryNow();

  async function start(options: BrokerOptions): Promise<TestBroker> {
    baseline = memoryNow();
    tb = await startBroker(options);
    return tb;
  }

  /** The broker still serves, and memory grew less than the bounds since start(). */
  async function assertHealthy(tag: string): Promise<void> {
    assert.ok(tb);
    await roundTrip(tb.port, tag);
    const growth = growthMiB(baseline);
    assert.ok(
      growth.heapUsed < MAX_HEAP_GROWTH_MIB,
      `heapUsed grew ${growth.heapUsed.toFixed(1)} MiB`,
    );
    assert.ok(growth.rss < MAX_RSS_GROWTH_MIB, `rss grew ${growth.rss.toFixed(1)} MiB`);
  }

  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    await tb?.close();
    tb = undefined;
  });

  it('a CONNECT trickled one byte every 50 ms is cut off at the connect timeout, without CONNACK', async () => {
    const { port, broker } = await start({ connectTimeoutMs: 600 });
    const raw = await RawClient.open(port, 4);
    raws.push(raw);
    const bytes = connectBytes(4, 'x'.repeat(200)); // 200+ bytes: 10 s at 50 ms a byte
    let sent = 0;
    while (raw.isOpen && sent < bytes.length) {
      raw.write(bytes.subarray(sent, sent + 1));
      sent++;
      await new Promise((r) => setTimeout(r, 50));
    }
    await raw.waitClose(5000);
    assert.ok(sent < bytes.length, `closed after ${sent} of ${bytes.length} bytes`);
    assert.deepEqual(raw.received, [], 'no CONNACK');
    assert.equal(broker.core.metrics.connectionsRejected, 1);
    await assertHealthy('trickle');
  });

  it('a connection flood past maxConnections: the extra sockets are closed at once and counted', async () => {
    const { port, broker } = await start({ maxConnections: 40 });
    const opened = await Promise.all(Array.from({ length: 100 }, () => RawClient.open(port, 5)));
    raws.push(...opened);
    await waitFor(() => opened.filter((r) => !r.isOpen).length >= 60, 5000, '60 refused sockets');
    assert.equal(opened.filter((r) => r.isOpen).length, 40);
    assert.equal(broker.core.metrics.refused.connections, 60);
    assert.ok(
      opened.every((r) => r.received.length === 0),
      'nothing was answered to a refused socket',
    );
    // The admitted ones are served normally.
    const admitted = opened.find((r) => r.isOpen)!;
    admitted.write(connectBytes(5, 'admitted'));
    assert.equal((await admitted.next('connack')).reasonCode, 0);
    for (const r of opened) r.destroy();
    await waitFor(() => broker.core.admission.open === 0, 5000, 'all sockets released');
    await assertHealthy('flood');
  });

  it('a listener maxConnections caps that listener only', async () => {
    const { broker, port } = await start({});
    const capped = await broker.listen({
      port: 0,
      host: '127.0.0.1',
      maxConnections: 5,
      name: 'capped',
    });
    const opened = await Promise.all(
      Array.from({ length: 12 }, () => RawClient.open(capped.port, 4)),
    );
    raws.push(...opened);
    await waitFor(() => opened.filter((r) => !r.isOpen).length >= 7, 5000, '7 refused sockets');
    assert.equal(opened.filter((r) => r.isOpen).length, 5);
    assert.equal(broker.core.metrics.refused['listener-connections'], 7);
    const other = await Promise.all(Array.from({ length: 10 }, () => RawClient.open(port, 4)));
    raws.push(...other);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(
      other.every((r) => r.isOpen),
      'the other listener is not capped',
    );
    for (const r of [...opened, ...other]) r.destroy();
    await assertHealthy('listener-cap');
  });

  it('a subscriber that never reads while 2000 QoS 0 messages flow: its drops are counted, its buffer bounded', async () => {
    const maxSocketBufferBytes = 64 * 1024;
    const { port, broker } = await start({ maxSocketBufferBytes });
    const stalled = await RawClient.connected(port, 4, 'stalled');
    raws.push(stalled);
    const reader = await RawClient.connected(port, 4, 'reader');
    raws.push(reader);
    for (const r of [stalled, reader]) {
      r.send({
        type: 'subscribe',
        packetId: 1,
        subscriptions: [
          {
            filter: 'flood/#',
            qos: 0,
            noLocal: false,
            retainAsPublished: false,
            retainHandling: 0,
          },
        ],
      });
      await r.next('suback');
    }
    stalled.socket.pause(); // never reads again
    const publisher = await RawClient.connected(port, 4, 'publisher');
    raws.push(publisher);
    const payload = Buffer.alloc(4096, 1);
    let maxBuffered = 0;
    for (let i = 0; i < 2000; i++) {
      publisher.send({
        type: 'publish',
        topic: 'flood/t',
        payload,
        qos: 0,
        retain: false,
        dup: false,
      });
      if (i % 100 === 99) {
        await new Promise((r) => setImmediate(r));
        const stalledClient = await broker.admin.client('stalled');
        maxBuffered = Math.max(maxBuffered, stalledClient!.outputBufferedBytes);
      }
    }
    await reader.until(
      () => reader.received.filter((p) => p.type === 'publish').length === 2000,
      20_000,
      '2000 messages',
    );
    assert.ok(
      broker.core.metrics.dropped['socket-congested'] > 0,
      'drops to the stalled subscriber are counted',
    );
    // A QoS 0 message may go over the bound while the subscriber might be reading (the
    // publisher is held instead, qos0DrainWaitMs): never past twice the bound plus one message.
    assert.ok(
      maxBuffered <= 2 * maxSocketBufferBytes + payload.length + 64,
      `buffered ${maxBuffered}`,
    );
    reader.received.length = 0;
    await assertHealthy('stalled');
  });

  it('10000 subscriptions from one client: maxSubscriptionsPerClient grants 1000, the rest get SUBACK 0x97', async () => {
    const { port, broker } = await start({ maxSubscriptionsPerClient: 1000 });
    const raw = await RawClient.connected(port, 5, 'greedy');
    raws.push(raw);
    const codes: number[] = [];
    for (let batch = 0; batch < 100; batch++) {
      raw.send({
        type: 'subscribe',
        packetId: batch + 1,
        subscriptions: Array.from({ length: 100 }, (_, i) => ({
          filter: `s/${batch}/${i}`,
          qos: 0 as const,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0 as const,
        })),
      });
      codes.push(...(await raw.next('suback')).reasonCodes);
    }
    assert.equal(codes.filter((c) => c === 0).length, 1000);
    assert.equal(codes.filter((c) => c === 0x97).length, 9000);
    assert.equal((await broker.admin.session('greedy'))?.subscriptions, 1000);
    await assertHealthy('subscriptions');
  });

  it('5000 retained topics: maxRetainedMessages keeps 1000 and counts 4000 refusals', async () => {
    const { port, broker } = await start({ maxRetainedMessages: 1000 });
    const raw = await RawClient.connected(port, 4, 'retainer');
    raws.push(raw);
    for (let i = 0; i < 5000; i++) {
      raw.send({
        type: 'publish',
        topic: `r/${i}`,
        payload: Buffer.from('v'),
        qos: 0,
        retain: true,
        dup: false,
      });
    }
    raw.send({ type: 'pingreq' });
    await raw.next('pingresp', 10_000);
    assert.equal((await broker.admin.counters()).retainedMessages, 1000);
    assert.equal(broker.core.metrics.dropped['retained-limit'], 4000);
    await assertHealthy('retained');
  });

  it('maxRetainedBytes: retained messages past the total (topic, payload, overhead) are refused and counted', async () => {
    const each = MemoryBudget.retainedCost('rb/10', 1024);
    const { port, broker } = await start({ maxRetainedBytes: 10 * each });
    const raw = await RawClient.connected(port, 4, 'retainer');
    raws.push(raw);
    for (let i = 0; i < 30; i++) {
      raw.send({
        type: 'publish',
        topic: `rb/${i}`,
        payload: Buffer.alloc(1024),
        qos: 0,
        retain: true,
        dup: false,
      });
    }
    raw.send({ type: 'pingreq' });
    await raw.next('pingresp');
    // rb/0 .. rb/9 have shorter topics than rb/10: the eleventh (rb/10) does not fit.
    assert.equal((await broker.admin.counters()).retainedMessages, 10);
    assert.equal((await broker.admin.counters()).memory.retainedBytes, 10 * each - 10);
    assert.equal(broker.core.metrics.dropped['retained-bytes'], 20);
    assert.equal(broker.core.metrics.refused['retained-bytes'], 20);
    await assertHealthy('retained-bytes');
  });

  it('[MQTT-3.1.4-3] (v5) a takeover storm: 50 connections with one client id leave exactly one session and one connection', async () => {
    const { port, broker } = await start({});
    const storm = await Promise.all(Array.from({ length: 50 }, () => RawClient.open(port, 5)));
    raws.push(...storm);
    for (const r of storm) r.write(connectBytes(5, 'same-id'));
    await waitFor(() => storm.filter((r) => r.isOpen).length === 1, 10_000, 'one connection left');
    const survivor = storm.find((r) => r.isOpen)!;
    await survivor.until(() => survivor.received.some((p) => p.type === 'connack'), 5000);
    for (const r of storm.filter((s) => s !== survivor)) {
      const types = r.received.map((p) =>
        p.type === 'disconnect' ? `disconnect 0x${p.reasonCode?.toString(16)}` : p.type,
      );
      assert.ok(
        types.length === 0 ||
          (types[0] === 'connack' && types.slice(1).every((t) => t === 'disconnect 0x8e')),
        `a taken-over connection got ${types.join(', ')}`,
      );
    }
    assert.equal((await broker.admin.counters()).connectionsOpen, 1);
    const sessions = (await broker.admin.sessions()).items;
    assert.equal(sessions.filter((s) => s.clientId === 'same-id').length, 1);
    await assertHealthy('takeover');
  });

  it('packets announcing 200 MB are refused from the fixed header: nothing is buffered before or after CONNECT', async () => {
    const { port, broker } = await start({ maximumPacketSize: 1024 * 1024 });
    const announce = Buffer.concat([Buffer.from([0x10]), varint(200 * 1024 * 1024)]);
    const junk = Buffer.alloc(1024 * 1024, 0x61);
    const before = await Promise.all(Array.from({ length: 20 }, () => RawClient.open(port, 4)));
    raws.push(...before);
    for (const r of before) {
      r.write(announce);
      for (let i = 0; i < 4; i++) r.write(junk); // keeps sending after the header
    }
    await Promise.all(before.map((r) => r.waitClose(5000)));
    assert.ok(
      before.every((r) => r.received.length === 0),
      'closed without CONNACK',
    );
    const v5 = await RawClient.connected(port, 5, 'announcer');
    raws.push(v5);
    v5.write(Buffer.concat([Buffer.from([0x30]), varint(200 * 1024 * 1024), junk]));
    await v5.waitClose(5000);
    const disconnect = v5.received.find((p) => p.type === 'disconnect');
    assert.equal(disconnect?.reasonCode, 0x95, 'DISCONNECT 0x95 Packet too large');
    await waitFor(
      async () => (await broker.admin.counters()).connectionsOpen === 0,
      5000,
      'connections closed',
    );
    await assertHealthy('announce');
  });
});
