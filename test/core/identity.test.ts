/**
 * Identity injected into the core: message ids unique across the nodes that share state
 * (node id in the high bits, a counter below, continued after the store's last id across a
 * restart), and randomness through the Random port (assigned client ids, [MQTT-3.1.3-6]).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/core/index.js';
import {
  BLOCK_BITS,
  BLOCKS_PER_NODE,
  BrokerCore,
  COUNTER_BITS,
  idBlock,
  MAX_NODE_ID,
  MessageIds,
} from '../../src/core/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { connectV5, FakeClient, flush, publish } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** Ids of the messages `core` routes, in order. */
function recordIds(core: BrokerCore): number[] {
  const ids: number[] = [];
  core.addHook({ onPublished: (_client, message: Message) => ids.push(message.id) });
  return ids;
}

describe('core: message ids', () => {
  it('node 0 numbers 1, 2, 3... as a single broker always did; node n starts at n * 2^45 + 1', () => {
    const single = new MessageIds();
    assert.deepEqual([single.take(), single.take(), single.take()], [1, 2, 3]);
    const node = new MessageIds(3);
    assert.equal(node.take(), 3 * 2 ** COUNTER_BITS + 1);
    assert.equal(node.first, 3 * 2 ** COUNTER_BITS + 1);
    assert.equal(new MessageIds(MAX_NODE_ID).last, Number.MAX_SAFE_INTEGER);
    assert.throws(() => new MessageIds(MAX_NODE_ID + 1), RangeError);
    assert.throws(() => new MessageIds(-1), RangeError);
    assert.throws(() => new MessageIds(1.5), RangeError);
  });

  it('two nodes never hand out the same id', () => {
    const a = new MessageIds(1);
    const b = new MessageIds(2);
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      seen.add(a.take());
      seen.add(b.take());
    }
    assert.equal(seen.size, 20_000);
    assert.ok([...seen].every((id) => Number.isSafeInteger(id)));
  });

  it("a node continues after its own last stored id and ignores other nodes' ids", () => {
    const ids = new MessageIds(1);
    ids.continueAfter(new MessageIds(2).first + 500); // another node's id: ignored
    assert.equal(ids.take(), ids.first);
    ids.continueAfter(ids.first + 41);
    assert.equal(ids.take(), ids.first + 42);
    ids.continueAfter(ids.first + 10); // lower than what it handed out: no step back
    assert.equal(ids.take(), ids.first + 43);
  });

  it('after the last id of its range a node starts again at its first', () => {
    const ids = new MessageIds(7);
    ids.continueAfter(ids.last - 1);
    assert.deepEqual([ids.take(), ids.take()], [ids.last, ids.first]);
    assert.equal(ids.owns(ids.last), true);
    assert.equal(ids.owns(ids.last + 1), false);
  });

  it('a broker stamps the messages it creates with its node id, and two brokers of different nodes do not collide', () => {
    const a = new BrokerCore({ nodeId: 1, clock: new FakeClock() });
    const b = new BrokerCore({ nodeId: 2, clock: new FakeClock() });
    const idsA = recordIds(a);
    const idsB = recordIds(b);
    for (const core of [a, b]) {
      const pub = connectV5(core, 'pub');
      for (let i = 0; i < 3; i++) publish(pub, { topic: 't' });
    }
    assert.deepEqual(
      idsA,
      [1, 2, 3].map((n) => a.messageIds.first - 1 + n),
    );
    assert.ok(idsA.every((id) => a.messageIds.owns(id) && !b.messageIds.owns(id)));
    assert.ok(idsB.every((id) => b.messageIds.owns(id)));
  });

  it("ids continue after the store's last id across a restart (a queued message keeps its id)", async () => {
    const store = new MemoryStore();
    const first = new BrokerCore({ nodeId: 4, clock: new FakeClock(), store });
    await first.start();
    const sub = new FakeClient(first, 5);
    sub.connect({ clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 3600 } });
    await flush();
    sub.take();
    sub.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 'q', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await flush(); // the SUBACK follows the commit of the stored subscription
    assert.equal(sub.take()[0]?.type, 'suback');
    sub.connection.transportClosed();
    const pub = connectV5(first, 'pub');
    const before = recordIds(first);
    for (let i = 0; i < 5; i++) publish(pub, { topic: 'q', qos: 1 });
    await flush();
    first.close();

    const second = new BrokerCore({ nodeId: 4, clock: new FakeClock(), store });
    await second.start();
    const delivered: number[] = [];
    second.addHook({ onDelivered: (_clientId, message) => delivered.push(message.id) });
    const back = new FakeClient(second, 5);
    back.connect({ clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 3600 } });
    await flush();
    assert.deepEqual(delivered, before, 'the queued messages come back with their ids');
    const after = recordIds(second);
    publish(connectV5(second, 'pub'), { topic: 'q', qos: 1 });
    assert.equal(after.length, 1);
    assert.ok(after[0]! > before.at(-1)!, `${after[0]} after ${before.at(-1)}`);
    assert.ok(second.messageIds.owns(after[0]!));
  });
});

describe('core: randomness through the Random port', () => {
  it('[MQTT-3.1.3-6] assigned client ids carry the tag drawn from the injected Random', () => {
    const drawn: number[] = [];
    const core = new BrokerCore({
      clock: new FakeClock(),
      random: {
        bytes: (size) => {
          drawn.push(size);
          return Uint8Array.from({ length: size }, (_, i) => 0xa0 + i);
        },
      },
    });
    const client = new FakeClient(core, 5);
    client.connect({ clientId: '' });
    const connack = client.received.shift();
    assert.ok(connack?.type === 'connack' && connack.reasonCode === 0);
    assert.equal(connack.properties?.assignedClientIdentifier, 'pipit-a0a1a2-1');
    assert.deepEqual(drawn, [3]);
  });

  it('blocks of ids follow each other through a node range, the first starting at its first id, and start again after the last', () => {
    const ids = new MessageIds(9);
    assert.deepEqual(idBlock(9, 1), {
      first: ids.first,
      last: ids.first - 1 + 2 ** BLOCK_BITS - 1,
    });
    assert.deepEqual(idBlock(9, 2), {
      first: ids.first - 1 + 2 ** BLOCK_BITS,
      last: ids.first - 1 + 2 * 2 ** BLOCK_BITS - 1,
    });
    assert.equal(idBlock(9, BLOCKS_PER_NODE).last, ids.last);
    assert.deepEqual(idBlock(9, BLOCKS_PER_NODE + 1), idBlock(9, 1));
    assert.equal(idBlock(0, 1).first, 1); // node 0 never hands out id 0
  });

  it('a node numbering from a reserved block asks for the next from its middle on, and goes on with it after the last id', () => {
    const ids = new MessageIds(2);
    let asked = 0;
    ids.onLow = () => asked++;
    const base = ids.first + 1000;
    ids.use({ first: base, last: base + 9 });
    assert.deepEqual(
      [1, 2, 3, 4].map(() => ids.take()),
      [base, base + 1, base + 2, base + 3],
    );
    assert.equal(asked, 0);
    ids.take(); // base + 4: the middle
    ids.take();
    assert.equal(asked, 2, 'asked on each take until a block is queued');
    ids.queue({ first: base + 500, last: base + 509 });
    const rest = [1, 2, 3, 4, 5].map(() => ids.take());
    assert.deepEqual(rest, [base + 6, base + 7, base + 8, base + 9, base + 500]);
    assert.equal(asked, 2, 'not asked while the next block is queued');
    assert.equal(ids.pastReserved, false);
  });

  it('without a next block in time the ids run on past the block (told), and a block reserved later that holds them keeps them taken', () => {
    const ids = new MessageIds(2);
    const base = ids.first + 1000;
    ids.use({ first: base, last: base + 3 });
    const taken = [1, 2, 3, 4, 5, 6].map(() => ids.take());
    assert.deepEqual(taken, [base, base + 1, base + 2, base + 3, base + 4, base + 5]);
    assert.equal(ids.pastReserved, true);
    ids.queue({ first: base + 4, last: base + 7 }); // the block the ids ran into
    assert.equal(ids.take(), base + 6);
    assert.equal(ids.pastReserved, false);
    ids.queue({ first: base + 100, last: base + 103 });
    assert.deepEqual([ids.take(), ids.take()], [base + 7, base + 100]);
  });

  it('a stored id of its own beyond the reserved block moves the ids past it and asks for a block at once', () => {
    const ids = new MessageIds(2);
    let asked = 0;
    ids.onLow = () => asked++;
    ids.use(idBlock(2, 1));
    ids.continueAfter(ids.first + 10); // inside the block: the ids go on inside it
    assert.equal(ids.take(), ids.first + 11);
    assert.equal(ids.pastReserved, false);
    const beyond = idBlock(2, 4).first + 41;
    ids.continueAfter(beyond);
    assert.equal(ids.pastReserved, true);
    assert.equal(ids.position, beyond + 1);
    assert.equal(ids.take(), beyond + 1);
    assert.ok(asked > 0);
    ids.queue(idBlock(2, 4)); // the block holding them (message-id-blocks.ts asks for it)
    assert.equal(ids.take(), beyond + 2);
  });
});
