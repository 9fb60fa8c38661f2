/**
 * `pipit broker --cluster <url> --nodes 2` as a child process on a real redis-server: the
 * primary forks two cluster nodes that share one listening port; both join, clients on the
 * one port land on both, a message crosses between them, a node killed with SIGKILL is
 * replaced, and SIGTERM ends them all with exit 0. `--nodes` without a cluster is refused.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, nextMessages, waitFor } from '../helpers/broker.js';
import { cliEntry } from '../helpers/cli-entry.js';
import { runBrokerToExit } from './cli-node.js';
import { freePort, RedisFixture } from './redis-fixture.js';

const READY = /"pid":(\d+)[^\n]*"msg":"nodes: node ready"/g;

/** The pids of the workers that said they listen, in order. */
function readyPids(output: string): number[] {
  return [...output.matchAll(READY)].map((match) => Number(match[1]));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('cluster: pipit broker --cluster <url> --nodes 2 (one node per core)', () => {
  let redis: RedisFixture;
  let primary: ChildProcess;
  let url: string;
  let out = '';
  const clients: MqttClient[] = [];

  /** The node (id) whose route table holds `filter`, once one does. */
  async function nodeHolding(filter: string): Promise<string> {
    let holder: string | undefined;
    await waitFor(
      async () => {
        for (const member of await redis.redis.smembers('pipit:nodes')) {
          if ((await redis.redis.hexists(`pipit:routes:${member}`, filter)) === 1) {
            holder = member;
          }
        }
        return holder !== undefined;
      },
      10_000,
      `a route table holding ${filter}`,
    );
    return holder as string;
  }

  /** Connects a client on the one port and tells which node it landed on. */
  async function connectProbe(index: number): Promise<{ client: MqttClient; node: string }> {
    const client = await connectClient(url, { protocolVersion: 5, clientId: `probe-${index}` });
    clients.push(client);
    await client.subscribeAsync(`probe/${index}`, { qos: 1 });
    return { client, node: await nodeHolding(`probe/${index}`) };
  }

  before(async () => {
    redis = await RedisFixture.start();
    const port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    primary = spawn(
      process.execPath,
      [
        cliEntry(),
        'broker',
        '--port',
        String(port),
        '--cluster',
        redis.url,
        '--nodes',
        '2',
        '--sys-interval',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    primary.stdout!.on('data', (d) => (out += d));
    primary.stderr!.on('data', (d) => (out += d));
    await waitFor(() => readyPids(out).length >= 2, 90_000, `two nodes ready in:\n${out}`);
  });

  after(async () => {
    for (const client of clients) await endClient(client, true);
    if (primary.exitCode === null && primary.signalCode === null) {
      const exited = once(primary, 'exit');
      primary.kill('SIGKILL');
      await exited;
    }
    for (const pid of readyPids(out)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await redis.stop();
  });

  it('starts two cluster nodes, each with its own node id, both joined in Redis', async () => {
    const joinedLines = () => [...out.matchAll(/"nodeId":(\d+)[^\n]*"msg":"cluster: joined"/g)];
    // "node ready" is the supervisor's line (on the node's message); the node's own lines come
    // through its stdout, which may reach the pipe after it: wait for them rather than assume.
    await waitFor(() => joinedLines().length >= 2, 30_000).catch(() => {});
    const joined = joinedLines();
    assert.equal(joined.length, 2, out);
    const ids = new Set(joined.map((match) => match[1]));
    assert.equal(ids.size, 2, 'the two nodes claimed different node ids');
    assert.deepEqual(new Set(await redis.redis.smembers('pipit:nodes')), ids);
    assert.notEqual(readyPids(out)[0], readyPids(out)[1]);
  });

  it('spreads clients on the one port over both nodes; a message crosses from one to the other', async () => {
    const probes: { client: MqttClient; node: string }[] = [];
    for (let i = 0; i < 20 && new Set(probes.map((p) => p.node)).size < 2; i++) {
      probes.push(await connectProbe(i));
    }
    const subscriber = probes[0]!;
    const publisher = probes.find((probe) => probe.node !== subscriber.node);
    assert.ok(publisher, 'some client landed on the second node');
    await subscriber.client.subscribeAsync('cross/#', { qos: 1 });
    await nodeHolding('cross/#');
    const received = nextMessages(subscriber.client, 1, 10_000);
    await publisher.client.publishAsync('cross/1', 'from the other node', { qos: 1 });
    const [message] = await received;
    assert.equal(message!.topic, 'cross/1');
    assert.equal(message!.payload.toString(), 'from the other node');
  });

  it('starts another node when one is killed with SIGKILL; it joins and serves clients', async () => {
    const [victim] = readyPids(out);
    process.kill(victim!, 'SIGKILL');
    await waitFor(() => readyPids(out).length >= 3, 90_000, `a third node ready in:\n${out}`);
    // Replaced at once after 30 s of running, else after the backoff's first delay (1 s).
    const restart = /"restartInMs":(\d+),"msg":"nodes: a node died; starting another"/.exec(out);
    assert.ok(restart, `the restart logged with its delay in:\n${out}`);
    assert.ok(['0', '1000'].includes(restart[1]!), `delay ${restart[1]}`);
    const replacement = readyPids(out)[2]!;
    assert.ok(!readyPids(out).slice(0, 2).includes(replacement));
    assert.equal(isAlive(victim!), false);
    const joined = [...out.matchAll(/"msg":"cluster: joined"/g)];
    assert.equal(joined.length, 3, 'the replacement joined the cluster');
    // Clients still reach a node on the port: probes until one lands on the replacement.
    const replacementId = [...out.matchAll(/"nodeId":(\d+)[^\n]*"msg":"cluster: joined"/g)][2]![1];
    let landed = false;
    for (let i = 100; i < 120 && !landed; i++) {
      landed = (await connectProbe(i)).node === replacementId;
    }
    assert.ok(landed, 'a client landed on the replacement node');
  });

  it('ends every node and exits 0 on SIGTERM', async () => {
    for (const client of clients.splice(0)) await endClient(client, true);
    const workers = readyPids(out).filter(isAlive);
    assert.equal(workers.length, 2);
    const exited = once(primary, 'exit');
    primary.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, out);
    for (const pid of workers) assert.equal(isAlive(pid), false, `node ${pid} exited`);
    assert.equal([...out.matchAll(/"msg":"cluster: drained"/g)].length, 2);
  });
});

describe('cluster: pipit broker --nodes 1 whose supervisor is killed', () => {
  it('the node exits when the primary dies (SIGKILL): no orphan keeps its clients without new connections', async () => {
    const redis = await RedisFixture.start();
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [cliEntry(), 'broker', '--port', String(port)].concat([
        '--cluster',
        redis.url,
        '--nodes',
        '1',
        '--sys-interval',
        '0',
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    try {
      await waitFor(() => readyPids(output).length === 1, 90_000, `a node ready in:\n${output}`);
      const [worker] = readyPids(output);
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      await waitFor(() => !isAlive(worker!), 30_000, 'the orphaned node to exit');
      // node:cluster exits a worker whose primary is gone at once (no drain): as after a kill,
      // its lease expires and a survivor adopts its sessions.
      assert.match(output, /"msg":"cluster: joined"/);
    } finally {
      for (const pid of readyPids(output)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      await redis.stop();
    }
  });
});

describe('cluster: pipit broker --nodes refusals', () => {
  it('refuses --nodes without --cluster: nodes would not share state', () => {
    const run = runBrokerToExit(['--memory', '--port', '0', '--nodes', '2']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /--nodes needs --cluster <url>/);
  });

  it('refuses a --nodes value that is not auto or a count', () => {
    const run = runBrokerToExit(['--cluster', 'redis://127.0.0.1:1', '--nodes', 'many']);
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /--nodes: "many" is not "auto" or a whole number of nodes from 1 to 256/,
    );
  });

  it('refuses --nodes 2 with a fixed cluster.nodeId (--test-config)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipit-nodes-'));
    const file = join(dir, 'pipit.yaml');
    writeFileSync(file, 'cluster:\n  url: redis://127.0.0.1:1\n  nodeId: 7\n');
    const run = runBrokerToExit(['--config', file, '--memory', '--nodes', '2', '--test-config']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /cluster\.nodeId \(7\) names one node/);
  });
});
