/**
 * Output backpressure in the core, on a fake clock: a connection whose unsent output is over
 * maxSocketBufferBytes is not read (packets after the one that filled it wait), QoS 1/2
 * deliveries wait in the session, reading and sending resume once the transport has drained,
 * and a client that takes none of its output for outputStallTimeoutMs is closed (MQTT 5 with
 * DISCONNECT 0x97). The keep alive does not close a connection the broker is not reading.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdminApi } from '../../src/admin/index.js';
import { BrokerCore, type CoreOptions, type Verdict } from '../../src/core/index.js';
import type { Logger } from '../../src/ports/index.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/index.js';
import { encode } from '../../src/protocol/index.js';
import {
  FakeClient,
  flush,
  openTestStore,
  publish,
  publishes,
  subscribe,
} from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** Log lines at warn, as `message` strings. */
function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    error: () => {},
    warn: (_fields, message) => lines.push(message),
    info: () => {},
    debug: () => {},
    child: () => logger,
  };
  return logger;
}

function setup(options: Partial<CoreOptions> = {}) {
  const clock = new FakeClock();
  const warnings: string[] = [];
  const core = new BrokerCore({
    options,
    clock,
    logger: recordingLogger(warnings),
    store: openTestStore(),
  });
  const connect = (clientId: string, version: ProtocolVersion = 5, keepAlive = 0): FakeClient => {
    const client = new FakeClient(core, version);
    client.connect({ clientId, keepAlive });
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack' && connack.reasonCode === 0, 'CONNACK 0x00');
    return client;
  };
  return { core, clock, warnings, connect, admin: new AdminApi(core) };
}

/** Sends `count` PINGREQs in one chunk, as a flooding client does. */
function pingFlood(client: FakeClient, count: number): void {
  const one = encode({ type: 'pingreq' }, client.version);
  client.connection.receive(Buffer.concat(Array.from({ length: count }, () => one)));
}

function count(packets: Packet[], type: Packet['type']): number {
  return packets.filter((p) => p.type === type).length;
}

describe('core: output backpressure', () => {
  it('a client that sends but does not read: the packets after the one that filled its output wait, and reading pauses', () => {
    const { core, connect } = setup({ maxSocketBufferBytes: 8 });
    const client = connect('flood');
    client.reading = false;
    pingFlood(client, 20);
    // [MQTT-3.12.4-1] each PINGREQ handled gets its PINGRESP; the fifth took the output to 10 bytes.
    assert.equal(count(client.take(), 'pingresp'), 5);
    assert.equal(client.paused, true, 'the transport is paused');
    assert.equal(core.metrics.outputHolds, 1);
    pingFlood(client, 3); // bytes still in flight when the pause began: they wait too
    assert.equal(count(client.take(), 'pingresp'), 0);
  });

  it('once the transport has drained, the waiting packets are handled in order and reading resumes', () => {
    const { connect } = setup({ maxSocketBufferBytes: 8 });
    const client = connect('flood');
    client.reading = false;
    pingFlood(client, 20);
    client.take();
    client.drainOutput(); // still not reading: five more answers fill the output again
    assert.equal(count(client.take(), 'pingresp'), 5);
    assert.equal(client.paused, true);
    client.reading = true;
    client.drainOutput();
    assert.equal(count(client.take(), 'pingresp'), 10);
    assert.equal(client.paused, false, 'the transport reads again');
  });

  it('[MQTT-3.14.2-1] MQTT 5: a client that reads none of its output for outputStallTimeoutMs gets DISCONNECT 0x97 and is closed; counted and logged', async () => {
    const { core, clock, warnings, connect, admin } = setup({
      maxSocketBufferBytes: 8,
      outputStallTimeoutMs: 30_000,
    });
    const client = connect('stalled');
    client.reading = false;
    pingFlood(client, 20);
    client.take();
    clock.advance(29_999);
    assert.equal(client.ended, false, 'not before the stall time');
    clock.advance(1);
    const packets = client.take();
    const disconnect = packets.at(-1);
    assert.ok(disconnect?.type === 'disconnect', 'DISCONNECT is the last packet');
    assert.equal(disconnect.reasonCode, 0x97);
    assert.equal(client.ended, true);
    assert.equal(core.metrics.refused['output-stalled'], 1);
    assert.ok(
      warnings.some((w) => w.includes('outputStallTimeout')),
      warnings.join('\n'),
    );
    assert.equal((await admin.counters()).connectionsOpen, 0);
  });

  it('MQTT 3.1.1: the same stall closes the connection without a DISCONNECT', () => {
    const { core, clock, connect } = setup({ maxSocketBufferBytes: 8, outputStallTimeoutMs: 5000 });
    const client = connect('stalled3', 4);
    client.reading = false;
    pingFlood(client, 20);
    client.take();
    clock.advance(5000);
    assert.equal(count(client.take(), 'disconnect'), 0);
    assert.equal(client.ended, true);
    assert.equal(core.metrics.refused['output-stalled'], 1);
  });

  it('a client that reads some of its output within the stall time gets another period', () => {
    const { clock, connect } = setup({ maxSocketBufferBytes: 8, outputStallTimeoutMs: 5000 });
    const client = connect('trickle');
    client.reading = false;
    pingFlood(client, 20);
    client.take();
    client.bufferedBytes -= 1; // it read one byte: still over the bound
    clock.advance(5000);
    assert.equal(client.ended, false, 'progress keeps it');
    clock.advance(5000);
    assert.equal(client.ended, true, 'no progress in the next period closes it');
  });

  it('outputStallTimeoutMs 0: a stalled client is held but never closed for it', () => {
    const { clock, connect } = setup({ maxSocketBufferBytes: 8, outputStallTimeoutMs: 0 });
    const client = connect('patient');
    client.reading = false;
    pingFlood(client, 20);
    clock.advance(3_600_000);
    assert.equal(client.ended, false);
    assert.equal(client.paused, true);
  });

  it('[MQTT-3.1.2-22] the keep alive does not close a connection the broker is not reading; the stall timeout does', () => {
    const { clock, connect } = setup({ maxSocketBufferBytes: 8, outputStallTimeoutMs: 60_000 });
    const client = connect('ka', 5, 10);
    client.reading = false;
    pingFlood(client, 20);
    client.take();
    clock.advance(45_000); // three times 1.5 x keep alive
    assert.equal(client.ended, false, 'not closed for keep alive while not read');
    clock.advance(15_000);
    const disconnect = client.take().find((p) => p.type === 'disconnect');
    assert.ok(disconnect?.type === 'disconnect');
    assert.equal(disconnect.reasonCode, 0x97);
  });

  it('after the output drains, the keep alive counts from then, not from the last packet read', () => {
    const { clock, connect } = setup({ maxSocketBufferBytes: 8 });
    const client = connect('ka2', 5, 10);
    client.reading = false;
    pingFlood(client, 20);
    clock.advance(40_000);
    client.reading = true;
    client.drainOutput();
    client.take();
    clock.advance(14_000);
    assert.equal(client.ended, false);
    clock.advance(1000);
    const disconnect = client.take().find((p) => p.type === 'disconnect');
    assert.ok(disconnect?.type === 'disconnect', 'keep alive applies again once reading');
    assert.equal(disconnect.reasonCode, 0x8d);
  });

  it('QoS 1 deliveries to a congested subscriber wait in its session and go out in order once it drains', async () => {
    const { connect, admin } = setup({ maxSocketBufferBytes: 1000 });
    const sub = connect('sub');
    subscribe(sub, 't', 1);
    const pub = connect('pub');
    sub.bufferedBytes = 1001;
    for (let i = 0; i < 3; i++) {
      publish(pub, { qos: 1, packetId: i + 1, payload: Buffer.from(`m${i}`) });
    }
    assert.equal(publishes(sub.take()).length, 0, 'nothing written while congested');
    const waiting = await admin.session('sub');
    assert.equal(waiting?.queuedMessages, 3);
    assert.equal(waiting?.inflight, 0, 'no packet id taken, nothing encoded');
    assert.equal(sub.paused, true, 'the congested subscriber is not read either');
    sub.drainOutput();
    const sent = publishes(sub.take());
    assert.deepEqual(
      sent.map((p) => p.payload.toString()),
      ['m0', 'm1', 'm2'],
    );
    assert.equal((await admin.session('sub'))?.queuedMessages, 0);
    assert.equal(sub.paused, false);
  });

  it('QoS 1 deliveries stop at the bound: each waits until the one before has drained', async () => {
    const { connect, admin } = setup({ maxSocketBufferBytes: 1000 });
    const sub = connect('sub');
    subscribe(sub, 't', 1);
    sub.reading = false;
    const pub = connect('pub');
    const payload = Buffer.alloc(600, 1);
    for (let i = 0; i < 4; i++) publish(pub, { qos: 1, packetId: i + 1, payload });
    // The second PUBLISH takes the output over 1000 bytes; the others wait.
    assert.equal(publishes(sub.take()).length, 2);
    assert.equal((await admin.session('sub'))?.queuedMessages, 2);
    sub.drainOutput();
    assert.equal(publishes(sub.take()).length, 2);
  });

  it('QoS 0 to a congested subscriber that may be reading is sent, and its publisher is not read until it has drained', () => {
    const { core, connect } = setup({ maxSocketBufferBytes: 1000 });
    const sub = connect('sub');
    subscribe(sub, 't', 0);
    const pub = connect('pub');
    sub.bufferedBytes = 1001;
    publish(pub, { qos: 0 });
    assert.equal(publishes(sub.take()).length, 1, 'sent over the bound');
    assert.equal(core.metrics.dropped['socket-congested'], 0);
    assert.equal(pub.paused, true, 'the publisher is held');
    publish(pub, { qos: 0 }); // it was on its way: it waits
    assert.equal(publishes(sub.take()).length, 0);
    sub.drainOutput();
    assert.equal(pub.paused, false, 'read again once the subscriber has drained');
    assert.equal(publishes(sub.take()).length, 1, 'the waiting message went out');
    assert.equal(core.metrics.dropped['socket-congested'], 0);
  });

  it('a subscriber that has not drained within qos0DrainWaitMs lets its publisher go and loses QoS 0 messages until it drains', () => {
    const { core, clock, connect } = setup({ maxSocketBufferBytes: 1000, qos0DrainWaitMs: 500 });
    const sub = connect('sub');
    subscribe(sub, 't', 0);
    const pub = connect('pub');
    sub.bufferedBytes = 1001;
    publish(pub, { qos: 0 });
    assert.equal(publishes(sub.take()).length, 1);
    clock.advance(499);
    assert.equal(pub.paused, true, 'held for qos0DrainWaitMs');
    clock.advance(1);
    assert.equal(pub.paused, false, 'then let go');
    publish(pub, { qos: 0 });
    assert.equal(publishes(sub.take()).length, 0);
    assert.equal(core.metrics.dropped['socket-congested'], 1, 'behind: dropped and counted');
    assert.equal(pub.paused, false, 'and the publisher is not held again');
    sub.drainOutput();
    publish(pub, { qos: 0 });
    assert.equal(publishes(sub.take()).length, 1, 'drained: sent again');
  });

  it('QoS 0 is dropped past twice the bound, and when a subscriber closes its held publishers go on', () => {
    const { core, connect } = setup({ maxSocketBufferBytes: 1000 });
    const sub = connect('sub');
    subscribe(sub, 't', 0);
    const pub = connect('pub');
    sub.bufferedBytes = 2001;
    publish(pub, { qos: 0 });
    assert.equal(core.metrics.dropped['socket-congested'], 1, 'over twice the bound');
    assert.equal(pub.paused, false);
    sub.bufferedBytes = 1001;
    publish(pub, { qos: 0 });
    assert.equal(pub.paused, true);
    sub.connection.transportClosed();
    assert.equal(pub.paused, false, 'the closed subscriber no longer holds it');
  });

  it('with qos0DrainWaitMs 0, QoS 0 to a congested subscriber is dropped and counted, and its reading is held', () => {
    const { core, connect } = setup({ maxSocketBufferBytes: 1000, qos0DrainWaitMs: 0 });
    const sub = connect('sub');
    subscribe(sub, 't', 0);
    const pub = connect('pub');
    sub.bufferedBytes = 1001;
    publish(pub, { qos: 0 });
    assert.equal(publishes(sub.take()).length, 0);
    assert.equal(core.metrics.dropped['socket-congested'], 1);
    assert.equal(sub.paused, true);
    sub.drainOutput();
    assert.equal(sub.paused, false);
    publish(pub, { qos: 0 });
    assert.equal(publishes(sub.take()).length, 1);
  });

  it('an async step and a full output both hold reading: it resumes only once both are over', async () => {
    const { core, connect } = setup({ maxSocketBufferBytes: 8 });
    let allow: ((v: Verdict) => void) | undefined;
    core.addHook({
      name: 'slow',
      authorizePublish: () => new Promise<Verdict>((resolve) => (allow = resolve)),
    });
    const client = connect('both');
    client.reading = false;
    publish(client, { qos: 1, packetId: 1 });
    assert.equal(client.paused, true, 'held by the async authorization');
    pingFlood(client, 10); // waits behind the publish
    allow!('allow');
    await flush();
    // PUBACK 0x10 No matching subscribers (5 bytes), then PINGRESPs until the output passed
    // 8 bytes (two), then held for output.
    const answered = client.take();
    assert.equal(count(answered, 'puback'), 1);
    assert.equal(count(answered, 'pingresp'), 2);
    assert.equal(client.paused, true, 'still held: the output is over its bound');
    client.reading = true;
    client.drainOutput();
    assert.equal(count(client.take(), 'pingresp'), 8);
    assert.equal(client.paused, false);
  });
});
