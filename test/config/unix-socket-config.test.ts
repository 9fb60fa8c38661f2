/**
 * A Redis over a Unix socket in the settings (`unix:///path/to/redis.sock`, docs/cluster.md
 * "Redis over a Unix socket"): `cluster.url`, `storage.url` and the embedded options take it,
 * with the database and credentials in the query; a malformed one, or one with Sentinel or a
 * Redis Cluster (found and reached over TCP), is refused with a message naming the key.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveClusterOptions } from '../../src/cluster/index.js';
import { configToPlan, parseConfig } from '../../src/config/index.js';
import { readUnixUrl } from '../../src/redis/unix-url.js';
import { checkRedisUrl } from '../../src/storage/index.js';
import { redactUrl } from '../../src/storage/redis/redis-url.js';
import { configProblems as problems } from './config-problems.js';

const CTX = { baseDir: '/etc/pipit', cwd: '/home/op' };

describe('unix:// Redis URLs', () => {
  it('reads the socket path, the database and the credentials of the query', () => {
    assert.deepEqual(readUnixUrl('unix:///run/redis/redis.sock'), {
      path: '/run/redis/redis.sock',
    });
    assert.deepEqual(readUnixUrl('unix:///tmp/my%20dir/r.sock?db=2&username=app&password=s%3Dx'), {
      path: '/tmp/my dir/r.sock',
      db: 2,
      username: 'app',
      password: 's=x',
    });
  });

  it('refuses what is not an absolute socket path with a known query, saying what is wrong', () => {
    const wrong = (url: string) => {
      const result = readUnixUrl(url);
      assert.equal(typeof result, 'string', url);
      return result as string;
    };
    assert.match(
      wrong('unix://run/redis.sock'),
      /must be absolute, after "unix:\/\/" \(three slashes/,
    );
    assert.match(wrong('unix:/run/redis.sock'), /must be absolute/);
    assert.match(wrong('unix:///'), /names a directory, not a socket file/);
    assert.match(wrong('unix:///run/redis/'), /names a directory/);
    assert.match(wrong('unix:///run/r.sock?timeout=5'), /unknown query parameter "timeout"/);
    assert.match(wrong('unix:///run/r.sock?db=two'), /db "two" is not a database number/);
    assert.match(wrong('unix:///run/r.sock?password='), /password is empty/);
    assert.match(wrong('unix:///run/r.sock#x'), /"#" is not part of a socket path/);
    assert.match(wrong('unix:///run/%zz.sock'), /no %XX escape/);
  });

  it('refuses credentials before the path (no URL form), without showing them', () => {
    const result = readUnixUrl('unix://app:hunter2@/run/r.sock');
    assert.equal(typeof result, 'string');
    assert.match(result as string, /^unix:\/\/\*\*\*@\/run\/r\.sock: credentials go in the query/);
    assert.doesNotMatch(result as string, /hunter2/);
    assert.doesNotMatch(redactUrl('unix://:hunter2@/run/r.sock'), /hunter2/);
  });

  it('never shows the password: in its errors and where logs show the URL', () => {
    const result = readUnixUrl('unix:///run/r.sock?password=hunter2&bad=1');
    assert.equal(typeof result, 'string');
    assert.doesNotMatch(result as string, /hunter2/);
    assert.match(result as string, /password=\*\*\*/);
    assert.equal(
      redactUrl('unix:///run/r.sock?db=1&password=hunter2'),
      'unix:///run/r.sock?db=1&password=***',
    );
  });

  it('is a Redis URL for the store check, which still refuses other schemes', () => {
    assert.equal(checkRedisUrl('unix:///run/r.sock?db=3'), undefined);
    assert.match(checkRedisUrl('unix://r.sock') ?? '', /must be absolute/);
    assert.match(
      checkRedisUrl('http://127.0.0.1:6379') ?? '',
      /expected a redis:\/\/, rediss:\/\/ or unix:\/\/\/path\/to\/redis\.sock URL/,
    );
  });
});

describe('config: cluster.url and storage.url over a Unix socket', () => {
  it('a cluster on a socket: its store (the Redis store it implies) takes the same URL', () => {
    const plan = configToPlan(
      parseConfig('cluster:\n  url: unix:///run/redis/redis.sock?db=1\n'),
      CTX,
    );
    assert.equal(plan.options.cluster?.url, 'unix:///run/redis/redis.sock?db=1');
    assert.deepEqual(plan.options.persistence, {
      kind: 'redis',
      url: 'unix:///run/redis/redis.sock?db=1',
      prefix: 'pipit:',
    });
  });

  it('refuses a malformed unix:// cluster.url, naming the key and the fault', () => {
    assert.deepEqual(problems('cluster:\n  url: unix://redis.sock\n'), [
      'cluster.url: unix://redis.sock: the socket path must be absolute, after "unix://" (three slashes: unix:///run/redis.sock); expected unix:///path/to/redis.sock[?db=N&password=...&username=...], got "unix://redis.sock" (line 2)',
    ]);
    const [only, ...rest] = problems('cluster:\n  url: http://127.0.0.1:6379\n');
    assert.deepEqual(rest, []);
    assert.match(
      only!,
      /^cluster\.url: expected a Redis URL such as "redis:\/\/127\.0\.0\.1:6379" or "unix:\/\/\/run\/redis\/redis\.sock"/,
    );
  });

  it('refuses a malformed unix:// storage.url, naming the key', () => {
    const found = problems('storage:\n  type: redis\n  url: unix:///run/r.sock?dbs=1\n');
    assert.equal(found.length, 1);
    assert.match(
      found[0]!,
      /^storage\.url: unix:\/\/\/run\/r\.sock\?dbs=1: unknown query parameter "dbs"/,
    );
  });

  it('refuses a socket with Sentinel or a Redis Cluster, which reach their servers over TCP', () => {
    const sentinel = problems(
      'cluster:\n  url: unix:///run/r.sock\n  sentinels: ["10.0.0.1:26379"]\n',
    );
    assert.equal(sentinel.length, 1);
    assert.match(
      sentinel[0]!,
      /^cluster\.sentinels: cannot be used with a unix:\/\/ url: .*Sentinel finds its servers and reaches them over TCP/,
    );
    const cluster = problems(
      'storage:\n  type: redis\n  url: unix:///run/r.sock\n  nodes: ["10.0.0.1:7000"]\n',
    );
    assert.equal(cluster.length, 1);
    assert.match(
      cluster[0]!,
      /^storage\.nodes: cannot be used with a unix:\/\/ url: .*a Redis Cluster finds its servers/,
    );
  });
});

describe('embedded: cluster.url over a Unix socket', () => {
  it('takes a unix:// URL, and refuses a malformed one or one with sentinels or nodes, naming cluster.url', () => {
    assert.equal(resolveClusterOptions({ url: 'unix:///run/r.sock' }).url, 'unix:///run/r.sock');
    assert.throws(
      () => resolveClusterOptions({ url: 'unix:///run/r.sock?db=-1' }),
      /^RangeError: cluster\.url: unix:\/\/\/run\/r\.sock\?db=-1: db "-1" is not a database number/,
    );
    assert.throws(
      () =>
        resolveClusterOptions({ url: 'unix:///run/r.sock', sentinels: [{ host: 'a', port: 1 }] }),
      /^RangeError: cluster\.url: a unix:\/\/ socket reaches one Redis server; with cluster\.sentinels/,
    );
    assert.throws(
      () => resolveClusterOptions({ url: 'unix:///run/r.sock', nodes: [{ host: 'a', port: 1 }] }),
      /with cluster\.nodes the servers are found and reached over TCP/,
    );
    assert.throws(
      () => resolveClusterOptions({ url: 'tcp://127.0.0.1:6379' }),
      /^RangeError: cluster\.url: "tcp:\/\/127\.0\.0\.1:6379" is not a redis:\/\/, rediss:\/\/ or unix:\/\/\/path\/to\/redis\.sock URL/,
    );
  });
});
