/**
 * `pipit broker --cluster` as child processes on a real redis-server, next to a node in this
 * process that watches them: joining by flag and by the YAML `cluster:` section, messages
 * between child nodes, and a node killed with SIGKILL: its lease expires and the survivors
 * remove its routes and what it left in Redis.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../../src/hooks/password-hash.js';
import {
  connectClient,
  endClient,
  nextMessages,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';
import { cliEntry } from '../helpers/cli-entry.js';
import { runBrokerToExit } from './cli-node.js';
import { routesOf, startNode, waitForRoute } from './cluster-nodes.js';
import { freePort, RedisFixture } from './redis-fixture.js';

interface CliNode {
  child: ChildProcess;
  url: string;
  nodeId: number;
  output: () => string;
}

/** Starts `pipit broker` with `args` on a free port; resolves once it joined and listens. */
async function startCliNode(args: string[]): Promise<CliNode> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [cliEntry(), 'broker', '--memory', '--port', String(port), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${out}`)), 20_000);
    const check = (): void => {
      // The MQTT listener's line (an HTTP listener, if any, says "listening" first).
      if (/"address":"mqtt:\/\/[^\n]*"msg":"listening"/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', () => reject(new Error(`node exited:\n${out}`)));
  });
  const joined = out.match(/"nodeId":(\d+)[^\n]*"msg":"cluster: joined"/);
  assert.ok(joined, `no "cluster: joined" line in:\n${out}`);
  return { child, url: `mqtt://127.0.0.1:${port}`, nodeId: Number(joined[1]), output: () => out };
}

async function killNode(node: CliNode): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  const exited = once(node.child, 'exit');
  node.child.kill('SIGKILL');
  await exited;
}

describe('cluster: pipit broker --cluster child processes', () => {
  let redis: RedisFixture;
  let watcher: TestBroker & { nodeId: number };
  let byFlag: CliNode;
  let byFile: CliNode;
  let httpPort: number;
  const TOKEN = 'pipit_cluster-nodes-test';

  before(async () => {
    redis = await RedisFixture.start();
    watcher = await startNode(redis);
    byFlag = await startCliNode(['--cluster', redis.url]);
    const dir = mkdtempSync(join(tmpdir(), 'pipit-cluster-'));
    const file = join(dir, 'pipit.yaml');
    httpPort = await freePort();
    writeFileSync(
      file,
      [
        `cluster:\n  url: ${redis.url}\n  leaseMs: 1000\n  heartbeatMs: 100`,
        // --port sets the MQTT listener's port; the admin API answers on the http one.
        `listeners:\n  - port: 1883\n  - type: http\n    port: ${httpPort}`,
        `adminApi:\n  tokens:\n    - { name: ci, hash: '${await hashPassword(TOKEN)}', scope: read }`,
        '',
      ].join('\n'),
    );
    byFile = await startCliNode(['-c', file]);
  });

  after(async () => {
    await killNode(byFlag);
    await killNode(byFile);
    await watcher.close();
    await redis.stop();
  });

  it('joins nodes started with --cluster and with cluster: in the YAML file', async () => {
    assert.equal(new Set([watcher.nodeId, byFlag.nodeId, byFile.nodeId]).size, 3);
    const members = (await redis.redis.smembers('pipit:nodes')).map(Number).sort();
    assert.deepEqual(members, [watcher.nodeId, byFlag.nodeId, byFile.nodeId].sort());
  });

  it('delivers QoS 1 from a client on one child node to a client on another', async () => {
    const sub = await connectClient(byFile.url, { protocolVersion: 5 });
    const pub = await connectClient(byFlag.url, { protocolVersion: 5 });
    try {
      await sub.subscribeAsync('cli/t', { qos: 1 });
      // The watcher got the announcement: the publishing node got the same one.
      await waitForRoute(watcher, byFile.nodeId, 'cli/t');
      const got = nextMessages(sub, 1);
      await pub.publishAsync('cli/t', 'across', { qos: 1 });
      const [message] = await got;
      assert.equal(message!.payload.toString(), 'across');
      assert.equal(message!.packet.qos, 1);
    } finally {
      await endClient(sub, true);
      await endClient(pub, true);
    }
  });

  it('GET /api/v1/nodes lists the node that answers, then the other nodes of the cluster', async () => {
    const expected = [byFlag.nodeId, watcher.nodeId].map((id) => `node-${id}`).sort();
    let items: { nodeId: string; self: boolean; version: string | null }[] = [];
    await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/nodes`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        assert.equal(res.status, 200);
        items = ((await res.json()) as { items: typeof items }).items;
        return items.length === 3 && items.every((n) => n.version !== null);
      },
      10_000,
      'three nodes listed, each with its summary',
    );
    assert.deepEqual(items[0]!.nodeId, `node-${byFile.nodeId}`);
    assert.equal(items[0]!.self, true);
    assert.equal(typeof items[0]!.version, 'string');
    const peers = items.slice(1);
    assert.deepEqual(peers.map((n) => n.nodeId).sort(), expected);
    // Each peer as it published itself on its last heartbeat (same package, same version).
    assert.ok(peers.every((n) => !n.self && n.version === items[0]!.version));
  });

  it("removes the routes and Redis traces of a node killed with SIGKILL once its lease expired, and a survivor sends its clients' wills [MQTT-3.1.2-8]", async () => {
    const watcherSub = await connectClient(watcher.url, { protocolVersion: 5 });
    await watcherSub.subscribeAsync('doomed/will', { qos: 1 });
    const sub = await connectClient(byFile.url, {
      protocolVersion: 5,
      clientId: 'doomed',
      will: { topic: 'doomed/will', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    sub.on('error', () => {});
    await sub.subscribeAsync('doomed/#', { qos: 1 });
    await waitForRoute(watcher, byFile.nodeId, 'doomed/#');
    await waitFor(
      async () => (await redis.redis.hexists(`pipit:wills:${byFile.nodeId}`, 'doomed')) === 1,
      5000,
      'the will copied to Redis',
    );
    const will = nextMessages(watcherSub, 1, 15_000);
    await killNode(byFile);
    await endClient(sub, true);
    await waitFor(
      () => !watcher.broker.cluster!.status().peers.some((p) => p.nodeId === byFile.nodeId),
      10_000,
      'the killed node to leave',
    );
    assert.deepEqual(routesOf(watcher, byFile.nodeId), []);
    assert.equal(await redis.redis.exists(`pipit:routes:${byFile.nodeId}`), 0);
    assert.equal(await redis.redis.sismember('pipit:nodes', String(byFile.nodeId)), 0);
    // A missed will failed one CI run of many: say which node took the dead one's traces, and
    // whether a hook there refused the will (it did: issue #11, the listener policy).
    const [message] = await will.catch((err: Error) => {
      const cluster = (out: string): string =>
        out
          .split('\n')
          .filter((l) => l.includes('cluster') || l.includes('publish denied'))
          .join('\n');
      throw new Error(
        `${err.message}; the killed node was ${byFile.nodeId}; the other child (node ${byFlag.nodeId}) logged:\n${cluster(byFlag.output())}`,
      );
    });
    assert.equal(message!.payload.toString(), 'gone');
    assert.equal(await redis.redis.exists(`pipit:wills:${byFile.nodeId}`), 0);
    // The survivors still serve each other.
    assert.ok(watcher.broker.cluster!.status().peers.some((p) => p.nodeId === byFlag.nodeId));
    await endClient(watcherSub, true);
  });
});

describe('cluster: pipit broker --cluster refusals', () => {
  const runBroker = (args: string[]) => runBrokerToExit(['--memory', '--port', '0', ...args]);

  it('refuses a --cluster value that is not a Redis URL, naming the flag and the value', () => {
    const { status, stderr } = runBroker(['--cluster', 'http://127.0.0.1:6379']);
    assert.equal(status, 1);
    assert.match(stderr, /--cluster: "http:\/\/127\.0\.0\.1:6379" is not a Redis URL/);
  });

  it('exits 1 with the reason when Redis cannot be reached', async () => {
    const port = await freePort();
    const { status, stderr } = runBroker(['--cluster', `redis://127.0.0.1:${port}`]);
    assert.equal(status, 1);
    assert.match(
      stderr,
      new RegExp(`cannot join the cluster at redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
  });
});
