/**
 * The outbox's writes on a real redis-server: each node's batch, encoded as the messages were
 * forwarded and framed around its own bytes (batch-builder.ts, forward-frame.ts), lands as one
 * inbox entry that decodes to exactly what was forwarded, in order, with shared groups merged;
 * a batch that outgrew its first buffer arrives whole; a node that is not a member (no inbox
 * stream: it never joined, or was removed) is refused (not acknowledged); a marker follows the batch of its turn; a Redis that lost its script
 * cache (SCRIPT FLUSH, as after a restart) still takes the writes; and a write that fails
 * fails the commit of its turn's messages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NUMBERED, ResentBatches } from '../../src/cluster/batch-number.js';
import { decodeBatch as decodeData, type ForwardedMessage } from '../../src/cluster/envelope.js';
import { entryData, markerOf } from '../../src/cluster/inbox.js';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { Outbox } from '../../src/cluster/outbox.js';
import { RemoteNode } from '../../src/cluster/remote-node.js';
import { type Delivery, type Message, WriteRefused } from '../../src/core/index.js';
import type { Logger } from '../../src/ports/index.js';
import { testMessage } from '../helpers/message.js';
import { joinAs } from './join-as.js';
import { RedisFixture } from './redis-fixture.js';

const quiet: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  child: () => quiet,
} as unknown as Logger;

/** An entry's data: its sender's number, then the batch (src/cluster/batch-number.ts). */
function decodeBatch(data: Buffer): ForwardedMessage[] {
  assert.equal(data[0], NUMBERED);
  return decodeData(new ResentBatches().fresh(data)!);
}

let nextId = 1;
function message(topic: string, payload: Buffer, overrides: Partial<Message> = {}): Message {
  return testMessage({ id: nextId++, topic, payload, ...overrides });
}

function delivery(m: Message, shareFilter?: string): Delivery {
  return { message: m, qos: m.qos, retain: m.retain, subscriptionIds: undefined, shareFilter };
}

/** What travels of a forwarded message, for comparison. */
function wire({ message: m, shareFilters }: ForwardedMessage) {
  return {
    id: m.id,
    topic: m.topic,
    payload: m.payload.toString('hex'),
    qos: m.qos,
    properties: m.properties,
    shareFilters,
  };
}

describe('cluster: the outbox writes framed batches', () => {
  let redis: RedisFixture;
  let outbox: Outbox;
  let connection: ReturnType<RedisFixture['redis']['duplicate']>;
  const keys = new ClusterKeys('pipit-frames');
  const two = (): RemoteNode => new RemoteNode(2, outbox);
  const three = (): RemoteNode => new RemoteNode(3, outbox);

  /** The entries of node `id`'s inbox, as [fields] lists, oldest first. */
  async function inbox(id: number): Promise<Buffer[][]> {
    const entries = await redis.redis.xrangeBuffer(keys.inbox(id), '-', '+');
    return entries.map(([, fields]) => fields);
  }

  before(async () => {
    redis = await RedisFixture.start();
    await joinAs(redis.redis, keys, 2, 3);
    connection = redis.redis.duplicate();
    outbox = new Outbox(connection, keys, quiet);
  });

  after(async () => {
    connection.disconnect();
    await redis.stop();
  });

  it('writes one entry per node per turn that decodes to what was forwarded, groups merged', async () => {
    const [a, b, c] = [
      message('t/ü', Buffer.from('one')),
      message('t/b', Buffer.alloc(0), {
        properties: { contentType: 'x', userProperties: [['k', 'v']] },
      }),
      message('t/c', Buffer.from('three'), { qos: 0 }),
    ];
    const [toTwo, toThree] = [two(), three()];
    toTwo.deliver(delivery(a));
    toTwo.deliver(delivery(b, '$share/g1/t/b'));
    toTwo.deliver(delivery(b, '$share/g2/#'));
    toTwo.deliver(delivery(b)); // the merged ordinary subscriptions: nothing more
    toThree.deliver(delivery(c));
    toTwo.deliver(delivery(c));
    await outbox.commit();
    const atTwo = await inbox(2);
    assert.equal(atTwo.length, 1);
    assert.deepEqual(decodeBatch(entryData(atTwo[0]!)).map(wire), [
      wire({ message: a, shareFilters: undefined }),
      wire({ message: b, shareFilters: ['$share/g1/t/b', '$share/g2/#'] }),
      wire({ message: c, shareFilters: undefined }),
    ]);
    const atThree = await inbox(3);
    assert.deepEqual(decodeBatch(entryData(atThree[0]!)).map(wire), [
      wire({ message: c, shareFilters: undefined }),
    ]);
    assert.equal(outbox.counters.forwarded, 4);
  });

  it('sends a batch that outgrew its first buffer whole and in order', async () => {
    const node = two();
    const sent = Array.from({ length: 3000 }, (_, i) =>
      message(`big/${i}`, Buffer.alloc(200 + (i % 7), i % 256)),
    );
    for (const m of sent) node.deliver(delivery(m));
    await outbox.commit();
    const entries = await inbox(2);
    const last = decodeBatch(entryData(entries[entries.length - 1]!));
    assert.deepEqual(
      last.map(wire),
      sent.map((m) => wire({ message: m, shareFilters: undefined })),
    );
  });

  it('writes each turn into a buffer of its own while earlier writes are under way, and reuses one once answered', async () => {
    // The frames the outbox hands the connection: a buffer is filled again only after the
    // command that carried it was answered (batch-builder.ts, recycle).
    const frames: Buffer[] = [];
    const send = connection.sendCommand.bind(connection);
    connection.sendCommand = ((command: { toWritable(socket: object): Buffer }) => {
      frames.push(command.toWritable({}));
      return send(command as never);
    }) as typeof connection.sendCommand;
    try {
      const node = two();
      const before = (await inbox(2)).length;
      const turn = async (name: string) => {
        for (let i = 0; i < 50; i++) node.deliver(delivery(message(name, Buffer.alloc(100, i))));
        await new Promise((resolve) => setImmediate(resolve)); // the turn's flush
      };
      // Redis holds the writes (CLIENT PAUSE WRITE) until UNPAUSE: three turns under way at once.
      await redis.redis.call('CLIENT', 'PAUSE', '60000', 'WRITE');
      try {
        await turn('paused/1');
        await turn('paused/2');
        await turn('paused/3');
      } finally {
        await redis.redis.call('CLIENT', 'UNPAUSE');
      }
      await outbox.commit();
      const entries = (await inbox(2)).slice(before);
      assert.deepEqual(
        entries.map((e) => [...new Set(decodeBatch(entryData(e)).map((f) => f.message.topic))]),
        [['paused/1'], ['paused/2'], ['paused/3']],
      );
      const under = frames.slice(-3);
      const overlap = (a: Buffer, b: Buffer) =>
        a.buffer === b.buffer &&
        a.byteOffset < b.byteOffset + b.length &&
        b.byteOffset < a.byteOffset + a.length;
      assert.ok(!overlap(under[0]!, under[1]!) && !overlap(under[0]!, under[2]!));
      assert.ok(!overlap(under[1]!, under[2]!));
      await turn('after');
      await outbox.commit();
      const reused = frames[frames.length - 1]!;
      assert.ok(
        under.some((f) => f.buffer === reused.buffer && f.byteOffset === reused.byteOffset),
      );
    } finally {
      connection.sendCommand = send;
    }
  });

  it('refuses a forward to a node that is not a member: the commit rejects, nothing is written', async () => {
    const departed = new RemoteNode(250, outbox);
    departed.deliver(delivery(message('gone', Buffer.from('x'))));
    await assert.rejects(outbox.commit(), WriteRefused);
    assert.equal((await inbox(250)).length, 0);
    assert.equal(outbox.counters.refused, 1);
  });

  it('appends a marker of the same turn after the batch', async () => {
    const before = (await inbox(3)).length;
    three().deliver(delivery(message('before/marker', Buffer.from('m'))));
    outbox.mark(3, '1 move-7');
    await outbox.commit();
    const entries = (await inbox(3)).slice(before);
    assert.equal(entries.length, 2);
    assert.equal(decodeBatch(entryData(entries[0]!))[0]!.message.topic, 'before/marker');
    assert.equal(markerOf(entries[1]!), '1 move-7');
  });

  it('still writes after Redis lost its script cache (SCRIPT FLUSH)', async () => {
    await redis.redis.script('FLUSH');
    const before = (await inbox(2)).length;
    two().deliver(delivery(message('after/flush', Buffer.from('y'))));
    await outbox.commit();
    const entries = await inbox(2);
    assert.equal(entries.length, before + 1);
    assert.equal(decodeBatch(entryData(entries[before]!))[0]!.message.topic, 'after/flush');
  });

  it('fails the commit of a turn whose write fails (connection closed) and counts its messages', async () => {
    const closed = redis.redis.duplicate();
    await closed.ping();
    closed.disconnect();
    const lost = new Outbox(closed, keys, quiet);
    const before = (await inbox(2)).length;
    const node = new RemoteNode(2, lost);
    node.deliver(delivery(message('lost/1', Buffer.from('a'))));
    node.deliver(delivery(message('lost/2', Buffer.from('b'))));
    await assert.rejects(lost.commit(), /Connection is closed/);
    assert.equal(lost.counters.failed, 2);
    assert.equal(lost.counters.refused, 0);
    assert.equal((await inbox(2)).length, before);
  });
});
