/**
 * The inbox's XREAD framed by hand (src/cluster/read-frame.ts) on a real redis-server: its
 * bytes are those ioredis writes for the same arguments; it reads the entries after the given
 * position as Buffers (what the inbox decodes), blocks until an entry comes when there is
 * none, and a key with characters beyond ASCII is framed by its byte length.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Command } from 'ioredis';
import { StreamReadFrames } from '../../src/cluster/read-frame.js';
import { RedisFixture } from './redis-fixture.js';

type Reply = [Buffer, [Buffer, Buffer[]][]][] | null;

describe('cluster: the inbox read frame', () => {
  let redis: RedisFixture;
  let reader: ReturnType<RedisFixture['redis']['duplicate']>;

  before(async () => {
    redis = await RedisFixture.start();
    reader = redis.redis.duplicate();
  });

  after(async () => {
    reader.disconnect();
    await redis.stop();
  });

  it('writes the bytes ioredis writes for the same XREAD', () => {
    for (const key of ['pipit:inbox:3', '{pipit}:inbox:ü']) {
      const from = '1765000000000-12';
      const args = ['COUNT', '512', 'BLOCK', '1000', 'STREAMS', key, from];
      const theirs = new Command('XREAD', args, { replyEncoding: null });
      const ours = new StreamReadFrames(key, 512, 1000).from(from);
      assert.equal(ours.toWritable({} as never), theirs.toWritable({} as never));
      assert.deepEqual(ours.args, theirs.args); // what a Redis Cluster routes by
      assert.equal(ours.name, theirs.name);
      for (const c of [ours, theirs]) c.reject(new Error('not sent')); // settle them
      for (const c of [ours, theirs]) c.promise.catch(() => {});
    }
  });

  it('reads the entries after a position as Buffers, and blocks until one comes', async () => {
    const key = 'pipit:inbox:ü';
    const first = (await redis.redis.xadd(key, '*', 'm', 'one'))!;
    const second = (await redis.redis.xadd(key, '*', 'm', Buffer.from([0xff, 0x00])))!;
    const frames = new StreamReadFrames(key, 512, 1000);

    const all = (await reader.sendCommand(frames.from('0-0'))) as Reply;
    assert.deepEqual(
      all?.[0]?.[1].map(([id, fields]) => [id.toString(), fields]),
      [
        [first, [Buffer.from('m'), Buffer.from('one')]],
        [second, [Buffer.from('m'), Buffer.from([0xff, 0x00])]],
      ],
    );
    assert.equal(all?.[0]?.[0].toString(), key);

    const after = (await reader.sendCommand(frames.from(first))) as Reply;
    assert.deepEqual(
      after?.[0]?.[1].map(([id]) => id.toString()),
      [second],
    );

    // Nothing after `second`: the read waits in Redis until an entry is added.
    const waiting = reader.sendCommand(new StreamReadFrames(key, 512, 5000).from(second));
    const third = (await redis.redis.xadd(key, '*', 'm', 'three'))!;
    const woke = (await waiting) as Reply;
    assert.deepEqual(
      woke?.[0]?.[1].map(([id]) => id.toString()),
      [third],
    );
  });

  it('answers null when nothing comes within its block', async () => {
    const key = 'pipit:inbox:quiet';
    const id = (await redis.redis.xadd(key, '*', 'm', 'x'))!;
    const reply = (await reader.sendCommand(new StreamReadFrames(key, 512, 50).from(id))) as Reply;
    assert.equal(reply, null);
  });
});
