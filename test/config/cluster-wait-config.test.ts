/**
 * `cluster.wait` (docs/cluster.md, docs/configuration.md): mapped from the file (timeout in
 * seconds) to the cluster's options and to the store the cluster implies on its Redis; every
 * bad value refused with a message that names the key; the embedded options checked the same
 * way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterPersistence } from '../../src/broker-options.js';
import { resolveClusterOptions } from '../../src/cluster/index.js';
import { configToPlan, parseConfig } from '../../src/config/index.js';
import { configProblems as problems } from './config-problems.js';

const CTX = { baseDir: '/etc/pipit', cwd: '/home/op' };

describe('config: cluster.wait', () => {
  it('maps to the cluster and to the store on its Redis (timeout in seconds)', () => {
    const plan = configToPlan(
      parseConfig('cluster:\n  url: redis://r:6379\n  wait: { replicas: 2, timeout: 0.5 }\n'),
      CTX,
    );
    assert.deepEqual(plan.options.cluster?.wait, { replicas: 2, timeoutMs: 500 });
    assert.deepEqual(plan.options.persistence, {
      kind: 'redis',
      url: 'redis://r:6379',
      prefix: 'pipit:',
      wait: { replicas: 2, timeoutMs: 500 },
    });
    const plain = configToPlan(
      parseConfig('cluster:\n  url: redis://r\n  wait:\n    replicas: 1\n'),
      CTX,
    );
    assert.deepEqual(plain.options.cluster?.wait, { replicas: 1 });
    const none = configToPlan(parseConfig('cluster:\n  url: redis://r\n'), CTX);
    assert.equal(none.options.cluster?.wait, undefined);
    assert.equal((none.options.persistence as { wait?: unknown }).wait, undefined);
  });

  it('leaves a store of its own (storage.type redis) to storage.wait', () => {
    const text =
      'cluster:\n  url: redis://r\n  wait: { replicas: 1 }\nstorage:\n  type: redis\n  url: redis://s\n  wait: { replicas: 2 }\n';
    const plan = configToPlan(parseConfig(text), CTX);
    assert.deepEqual(plan.options.cluster?.wait, { replicas: 1 });
    assert.deepEqual((plan.options.persistence as { wait?: unknown }).wait, { replicas: 2 });
  });

  it('storage.wait beside a cluster that implies its store points at cluster.wait', () => {
    const found = problems('cluster:\n  url: redis://r\nstorage:\n  wait: { replicas: 1 }\n');
    assert.deepEqual(found, [
      'storage.wait: only for storage type redis (this one is sqlite); the store a cluster uses on its Redis takes cluster.wait (line 4)',
    ]);
  });

  it('refuses bad values, naming the key', () => {
    const cluster = 'cluster:\n  url: redis://r\n';
    assert.match(
      problems(`${cluster}  wait: { replicas: 0 }\n`)[0]!,
      /^cluster\.wait\.replicas: expected an integer 1-100, got 0/,
    );
    assert.match(
      problems(`${cluster}  wait: { replicas: 1.5 }\n`)[0]!,
      /^cluster\.wait\.replicas: expected an integer 1-100/,
    );
    assert.match(problems(`${cluster}  wait: { timeout: 1 }\n`)[0]!, /^cluster\.wait\.replicas: /);
    assert.match(
      problems(`${cluster}  wait: { replicas: 1, timeout: 0 }\n`)[0]!,
      /^cluster\.wait\.timeout: expected a number of seconds greater than 0, at most 60/,
    );
    assert.match(
      problems(`${cluster}  wait: { replicas: 1, timeout: 61 }\n`)[0]!,
      /^cluster\.wait\.timeout: expected a number of seconds greater than 0, at most 60/,
    );
    assert.match(
      problems(`${cluster}  wait: { replicas: 1, timeoutMs: 5 }\n`)[0]!,
      /^cluster\.wait\.timeoutMs: unknown key \(did you mean "timeout"\?\)/,
    );
    assert.match(problems(`${cluster}  wait: 1\n`)[0]!, /^cluster\.wait: /);
  });

  it('refuses a timeout that leaves the heartbeats no room within the lease, and a Redis Cluster', () => {
    const tight = problems(
      'cluster:\n  url: redis://r\n  leaseMs: 1000\n  heartbeatMs: 100\n  wait: { replicas: 1, timeout: 0.9 }\n',
    );
    assert.equal(tight.length, 1, tight.join('\n'));
    assert.match(
      tight[0]!,
      /^cluster\.wait\.timeout: expected a timeout that leaves room for a heartbeat within the lease: 900 ms plus heartbeatMs \(100\) must be below leaseMs \(1000\)/,
    );
    // The default timeout (1 s) against the default lease (10 s, heartbeats 2.5 s) is fine,
    // and so is 0.8 s within 1000 ms with heartbeats every 100 ms.
    parseConfig('cluster:\n  url: redis://r\n  wait: { replicas: 1 }\n');
    parseConfig(
      'cluster:\n  url: redis://r\n  leaseMs: 1000\n  heartbeatMs: 100\n  wait: { replicas: 1, timeout: 0.8 }\n',
    );
    // On a Redis Cluster: taken, for the cluster and the store it implies (the WAIT goes to
    // the master of the prefix's hash slot), with the same timeout check.
    const onRedisCluster = configToPlan(
      parseConfig(
        'cluster:\n  url: redis://r\n  nodes: [h:7000]\n  keyPrefix: "{p}:"\n  wait: { replicas: 1 }\n',
      ),
      CTX,
    );
    assert.deepEqual(onRedisCluster.options.cluster?.wait, { replicas: 1 });
    assert.deepEqual((onRedisCluster.options.persistence as { wait?: unknown }).wait, {
      replicas: 1,
    });
    const tightOnRedisCluster = problems(
      'cluster:\n  url: redis://r\n  nodes: [h:7000]\n  leaseMs: 1000\n  heartbeatMs: 100\n  wait: { replicas: 1, timeout: 0.9 }\n',
    );
    assert.match(
      tightOnRedisCluster[0]!,
      /^cluster\.wait\.timeout: expected a timeout that leaves room/,
    );
  });

  it('embedded: the store a cluster gets by default takes cluster.wait; a store named keeps its own', () => {
    const wait = { replicas: 1, timeoutMs: 250 };
    assert.deepEqual(clusterPersistence({ url: 'redis://r', wait }, undefined), {
      kind: 'redis',
      url: 'redis://r',
      prefix: 'pipit:',
      wait,
    });
    const named = { kind: 'redis', url: 'redis://s' } as const;
    assert.equal(clusterPersistence({ url: 'redis://r', wait }, named), named);
  });

  it('checks the embedded options the same way', () => {
    const url = 'redis://h';
    assert.equal(resolveClusterOptions({ url }).wait, undefined);
    assert.deepEqual(resolveClusterOptions({ url, wait: { replicas: 1 } }).wait, {
      replicas: 1,
      timeoutMs: 1000,
    });
    // On a Redis Cluster too (the WAIT goes to the master of the prefix's hash slot).
    const nodes = [{ host: 'h', port: 7000 }];
    assert.deepEqual(resolveClusterOptions({ url, nodes, wait: { replicas: 1 } }).wait, {
      replicas: 1,
      timeoutMs: 1000,
    });
    const refused: [Parameters<typeof resolveClusterOptions>[0], RegExp][] = [
      [
        { url, wait: { replicas: 0 } },
        /^cluster\.wait\.replicas: 0 is not a whole number from 1 to 100$/,
      ],
      [{ url, wait: { replicas: 101 } }, /^cluster\.wait\.replicas: 101 /],
      [
        { url, wait: { replicas: 1, timeoutMs: 0 } },
        /^cluster\.wait\.timeoutMs: 0 is not a whole number of ms from 1 to 60000$/,
      ],
      [{ url, wait: { replicas: 1, timeoutMs: 2.5 } }, /^cluster\.wait\.timeoutMs: 2\.5 /],
      [
        { url, leaseMs: 1000, heartbeatMs: 100, wait: { replicas: 1, timeoutMs: 900 } },
        /^cluster\.wait\.timeoutMs: 900 plus heartbeatMs \(100\) must be below leaseMs \(1000\)/,
      ],
      [
        {
          url,
          nodes: [{ host: 'h', port: 7000 }],
          leaseMs: 1000,
          heartbeatMs: 100,
          wait: { replicas: 1, timeoutMs: 900 },
        },
        /^cluster\.wait\.timeoutMs: 900 plus heartbeatMs \(100\) must be below leaseMs \(1000\)/,
      ],
    ];
    for (const [options, message] of refused) {
      assert.throws(
        () => resolveClusterOptions(options),
        (err: Error) => {
          assert.ok(err instanceof RangeError);
          assert.match(err.message, message);
          return true;
        },
      );
    }
  });
});
