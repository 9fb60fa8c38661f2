/**
 * The Redis Cluster keys of the configuration: `cluster.nodes` and `storage.nodes` (seed
 * nodes), mapped to host/port pairs for the cluster and its store with the hash-tagged
 * default prefix, and every value a Redis Cluster rules out refused with a message that
 * names the key and why (sentinels besides, a database other than 0, a prefix without a
 * hash tag, a node that is not host:port, wait); the embedded options checked the same way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveClusterOptions } from '../../src/cluster/index.js';
import { configToPlan, parseConfig } from '../../src/config/index.js';
import { createBroker } from '../../src/index.js';
import { RedisStore } from '../../src/storage/index.js';
import { RedisClusterFixture } from '../cluster/redis-cluster-fixture.js';
import { freePort } from '../cluster/redis-fixture.js';
import { connectClient, endClient } from '../helpers/broker.js';
import { configProblems as problems } from './config-problems.js';

const CTX = { baseDir: '/etc/pipit', cwd: '/home/op' };
const NODES = [
  { host: '10.0.0.1', port: 7000 },
  { host: 'r2.example', port: 7001 },
];

describe('config: Redis Cluster (cluster.nodes, storage.nodes)', () => {
  it('maps cluster.nodes for the cluster and its store, under the default prefix {pipit}:', () => {
    const file = parseConfig(
      'cluster:\n  url: redis://:secret@ignored\n  nodes: [10.0.0.1:7000, "r2.example:7001"]\n',
    );
    const plan = configToPlan(file, CTX);
    assert.deepEqual(plan.options.cluster?.nodes, NODES);
    assert.deepEqual(plan.options.persistence, {
      kind: 'redis',
      url: 'redis://:secret@ignored',
      prefix: '{pipit}:',
      nodes: NODES,
    });
  });

  it('keeps a hash-tagged cluster.keyPrefix for the store', () => {
    const file = parseConfig(
      'cluster:\n  url: redis://h\n  nodes: [10.0.0.1:7000]\n  keyPrefix: "{plant1}:"\n',
    );
    const persistence = configToPlan(file, CTX).options.persistence;
    assert.equal(persistence?.kind === 'redis' ? persistence.prefix : undefined, '{plant1}:');
  });

  it('maps storage.nodes and a tagged storage.prefix for the Redis store', () => {
    const file = parseConfig(
      'storage:\n  type: redis\n  url: rediss://u:p@h\n  nodes: [10.0.0.1:7000]\n  prefix: "{edge}:"\n',
    );
    assert.deepEqual(configToPlan(file, CTX).options.persistence, {
      kind: 'redis',
      url: 'rediss://u:p@h',
      prefix: '{edge}:',
      nodes: [NODES[0]],
    });
  });

  it('refuses a key prefix without a hash tag, naming the key and why, with an example', () => {
    const found = problems(
      'cluster:\n  url: redis://h\n  nodes: [h:7000]\n  keyPrefix: "plant1:"\n',
    );
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, /^cluster\.keyPrefix: the key prefix "plant1:" has no hash tag/);
    assert.match(found[0]!, /one MULTI\/EXEC over many keys/);
    assert.match(found[0]!, /e\.g\. "\{plant1\}:"/);
    const storage = problems(
      'storage:\n  type: redis\n  url: redis://h\n  nodes: [h:7000]\n  prefix: "a{}b"\n',
    );
    assert.equal(storage.length, 1, storage.join('\n'));
    assert.match(storage[0]!, /^storage\.prefix: the key prefix "a\{\}b" has no hash tag/);
  });

  it('refuses a database other than 0, nodes with sentinels, and a node that is not host:port', () => {
    const db = problems('cluster:\n  url: redis://h/3\n  nodes: [h:7000]\n');
    assert.equal(db.length, 1, db.join('\n'));
    assert.match(
      db[0]!,
      /^cluster\.url: database "3" in the URL: Redis Cluster has database 0 only/,
    );
    const both = problems(
      'cluster:\n  url: redis://m\n  nodes: [h:7000]\n  sentinels: [s:26379]\n',
    );
    assert.match(both.join('\n'), /cluster\.nodes: nodes \(a Redis Cluster\) and sentinels/);
    const bad = problems('cluster:\n  url: redis://m\n  nodes: [h]\n');
    assert.match(bad[0]!, /^cluster\.nodes\[0\]: expected host:port of a Redis Cluster node/);
    const empty = problems('storage:\n  type: redis\n  url: redis://m\n  nodes: []\n');
    assert.match(empty[0]!, /^storage\.nodes: expected at least one Redis Cluster node/);
    const storageDb = problems('storage:\n  type: redis\n  url: redis://m/1\n  nodes: [h:1]\n');
    assert.match(storageDb[0]!, /^storage\.url: database "1" in the URL/);
    // storage.wait on a Redis Cluster: taken (WAIT goes to the master of the prefix's slot).
    const wait = configToPlan(
      parseConfig(
        'storage:\n  type: redis\n  url: redis://m\n  nodes: [h:1]\n  wait: { replicas: 1, timeout: 0.5 }\n',
      ),
      CTX,
    );
    assert.deepEqual((wait.options.persistence as { wait?: unknown }).wait, {
      replicas: 1,
      timeoutMs: 500,
    });
    const badWait = problems(
      'storage:\n  type: redis\n  url: redis://m\n  nodes: [h:1]\n  wait: { replicas: 0 }\n',
    );
    assert.match(badWait[0]!, /^storage\.wait\.replicas: /);
    const notRedis = problems('storage:\n  type: memory\n  nodes: [h:1]\n');
    assert.match(notRedis[0]!, /^storage\.nodes: only for storage type redis/);
  });

  it('checks the embedded options the same way (RedisStore, the cluster node)', () => {
    assert.throws(
      () => new RedisStore({ url: 'redis://h', nodes: NODES, prefix: 'flat:' }),
      /the Redis store: the key prefix "flat:" has no hash tag/,
    );
    assert.equal(new RedisStore({ url: 'redis://h', nodes: NODES }).prefix, '{pipit}:');
    // wait on a Redis Cluster: taken (its WAIT rides in each batch's pipeline, to the slot's master).
    assert.equal(
      new RedisStore({ url: 'redis://h', nodes: NODES, wait: { replicas: 1 } }).prefix,
      '{pipit}:',
    );
    assert.throws(
      () => new RedisStore({ url: 'redis://h', prefix: '{pipit}:' }),
      /may not contain '\{' or '\}'/,
    );
    assert.equal(resolveClusterOptions({ url: 'redis://h', nodes: NODES }).keyPrefix, '{pipit}:');
    assert.equal(resolveClusterOptions({ url: 'redis://h' }).keyPrefix, 'pipit:');
    assert.throws(
      () => resolveClusterOptions({ url: 'redis://h/2', nodes: NODES }),
      /cluster\.nodes: database "2" in the URL: Redis Cluster has database 0 only/,
    );
    assert.throws(
      () => resolveClusterOptions({ url: 'redis://h', nodes: [{ host: 'h', port: 0 }] }),
      /cluster\.nodes: "h:0" is not a Redis Cluster node's host and port/,
    );
    assert.throws(
      () => resolveClusterOptions({ url: 'redis://h', nodes: NODES, sentinels: NODES }),
      /cluster\.nodes \(a Redis Cluster\) and cluster\.sentinels \(Redis Sentinel\) cannot both be set/,
    );
    assert.throws(
      () => resolveClusterOptions({ url: 'redis://h', nodes: NODES, keyPrefix: 'x:' }),
      /cluster\.keyPrefix: the key prefix "x:" has no hash tag/,
    );
  });

  it('names the Redis Cluster nodes when none of them can be reached', async () => {
    const port = await freePort();
    const store = new RedisStore({
      url: 'redis://',
      nodes: [{ host: '127.0.0.1', port }],
      connectTimeoutMs: 1000,
    });
    await assert.rejects(
      store.open(),
      new RegExp(
        `the Redis store cannot reach the Redis Cluster at 127\\.0\\.0\\.1:${port} \\(None of startup nodes is available\\)`,
      ),
    );
  });
});

describe('config: cluster.url with and without cluster.nodes', () => {
  it('a Redis Cluster needs no url: the first seed node stands for it, for the cluster and its store', () => {
    const plan = configToPlan(
      parseConfig('cluster:\n  nodes: [10.0.0.1:7000, "r2.example:7001"]\n'),
      CTX,
    );
    assert.equal(plan.options.cluster?.url, 'redis://10.0.0.1:7000');
    assert.deepEqual(plan.options.cluster?.nodes, NODES);
    assert.deepEqual(plan.options.persistence, {
      kind: 'redis',
      url: 'redis://10.0.0.1:7000',
      prefix: '{pipit}:',
      nodes: NODES,
    });
  });

  it('without url or nodes, the cluster section names both', () => {
    assert.deepEqual(problems('cluster:\n  nodeId: 3\n'), [
      'cluster.url: expected a Redis URL such as "redis://127.0.0.1:6379" (or cluster.nodes, the seed nodes of a Redis Cluster), got nothing (line 1)',
    ]);
  });
});

describe('config: storage.url with and without storage.nodes', () => {
  it('a Redis Cluster store needs no url: the first seed node stands for it', () => {
    const plan = configToPlan(
      parseConfig('storage:\n  type: redis\n  nodes: [10.0.0.1:7000, "r2.example:7001"]\n'),
      CTX,
    );
    assert.deepEqual(plan.options.persistence, {
      kind: 'redis',
      url: 'redis://10.0.0.1:7000',
      nodes: NODES,
    });
  });

  it('without url or nodes, storage type redis is refused naming both keys', () => {
    const found = problems('storage:\n  type: redis\n');
    assert.deepEqual(found, [
      'storage.url: required for storage type redis (e.g. "redis://127.0.0.1:6379"), unless storage.nodes names the seed nodes of a Redis Cluster (line 1)',
    ]);
  });

  it('a broker whose file gives storage.nodes alone stores on that Redis Cluster', async () => {
    const redisCluster = await RedisClusterFixture.start();
    const nodes = redisCluster.ports.map((port) => `127.0.0.1:${port}`).join(', ');
    const plan = configToPlan(parseConfig(`storage:\n  type: redis\n  nodes: [${nodes}]\n`), CTX);
    const broker = createBroker({ persistence: plan.options.persistence });
    const redis = redisCluster.client();
    try {
      const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
      const client = await connectClient(`mqtt://127.0.0.1:${port}`);
      await client.publishAsync('stored/here', 'on the Redis Cluster', { qos: 1, retain: true });
      await endClient(client);
      // Acknowledged once committed: the retained message is in the store's hash already.
      assert.equal(await redis.hexists('{pipit}:{r}:m', 'stored/here'), 1);
    } finally {
      redis.disconnect();
      await broker.close();
      await redisCluster.stop();
    }
  });
});
