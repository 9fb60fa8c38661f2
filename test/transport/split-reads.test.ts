/**
 * Packets split across TCP reads, over a real socket: the decoder makes its split-packet
 * state only when a packet first straddles reads (an idle connection holds none), and then
 * reuses it. Each piece is written and flushed before the next, so the broker reads them
 * apart (the result must be the same if the kernel merges some).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode, type Packet } from '../../src/protocol/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

/** Writes `bytes` in pieces of the given sizes (the rest in one piece), one write at a time. */
async function writeInPieces(client: RawClient, bytes: Buffer, sizes: number[]): Promise<void> {
  let pos = 0;
  for (const size of [...sizes, bytes.length]) {
    if (pos >= bytes.length) break;
    const piece = bytes.subarray(pos, Math.min(bytes.length, pos + size));
    pos += piece.length;
    await new Promise<void>((resolve, reject) =>
      client.socket.write(piece, (err) => (err ? reject(err) : resolve())),
    );
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('packets split across reads (TCP)', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(async () => {
    await b.close();
  });

  it('an idle connection decodes split headers and bodies, then whole packets, then splits again', async () => {
    const client = await RawClient.connected(b.port, 4, 'split-reads');
    client.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 'split/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await client.next('suback');
    const payload = Buffer.alloc(100 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    const publish = (packetId: number): Packet => ({
      type: 'publish',
      topic: `split/${packetId}`,
      payload,
      qos: 1,
      retain: false,
      dup: false,
      packetId,
    });
    // A header split after its first byte, then the body in uneven pieces.
    await writeInPieces(client, encode(publish(10), 4), [1, 2, 700, 30_000]);
    const first = await client.next('publish');
    assert.equal(first.topic, 'split/10');
    assert.ok(first.payload.equals(payload), 'the payload arrives whole');
    // A whole small packet after the split ones.
    client.send({ type: 'pingreq' });
    await client.next('pingresp');
    // And a second split packet: the state kept from the first is reused.
    await writeInPieces(client, encode(publish(11), 4), [3, 9]);
    const second = await client.next('publish');
    assert.equal(second.topic, 'split/11');
    assert.ok(second.payload.equals(payload));
    const acks = [await client.next('puback'), await client.next('puback')];
    assert.deepEqual(acks.map((a) => a.packetId).sort(), [10, 11]);
    client.destroy();
  });
});
