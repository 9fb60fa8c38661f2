/**
 * A cluster node starts only on Redis 6.2 or later (forwards are `XADD ... NOMKSTREAM`): an
 * older server's `INFO server` is refused with the reason, a newer one (the redis-server the
 * tests run) is not, nor a reply that names no version.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireRedisVersion, tooOldRedis } from '../../src/cluster/redis-version.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: the Redis version', () => {
  let redis: RedisFixture;

  before(async () => {
    redis = await RedisFixture.start();
  });

  after(async () => {
    await redis.stop();
  });

  it('accepts the redis-server the tests run (7.0 on Debian 12)', async () => {
    await requireRedisVersion(redis.redis);
  });

  it('refuses a server older than 6.2, saying why, and accepts 6.2 and later', () => {
    const info = (version: string) =>
      `# Server\r\nredis_version:${version}\r\nredis_mode:standalone\r\n`;
    assert.match(
      tooOldRedis(info('6.0.16'))!,
      /Redis 6\.0 is too old: .*6\.2 or later \(XADD NOMKSTREAM/,
    );
    assert.match(tooOldRedis(info('5.0.14'))!, /Redis 5\.0 is too old/);
    assert.equal(tooOldRedis(info('6.2.0')), undefined);
    assert.equal(tooOldRedis(info('7.0.15')), undefined);
    assert.equal(tooOldRedis(info('10.1.0')), undefined);
    assert.equal(tooOldRedis('# Server\r\n'), undefined);
  });
});
