/**
 * A drain whose chosen peer just died (`kill -9`): the draining node does not wait for an
 * answer that cannot come (`5 x leaseMs` before): once the peer's lease is gone it hands the
 * sessions to another live peer, or, with none left, leaves them in the shared store as a
 * kill would; then it exits 0. `pipit broker --cluster` children on a real redis-server with
 * a lease of 5 s: the old wait (25 s) outlasts each test's own timeout, the new one is about
 * a lease. Nothing here asserts a duration: a test that does not finish fails by its timeout.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode, stopNode } from './cli-node.js';
import { connectCollecting } from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';

/** Long enough that waiting `5 x leaseMs` for a dead peer outlasts the test's timeout. */
const LEASE_MS = 5000;
/** Each test's timeout: above a lease and the drain, below `5 x LEASE_MS`. */
const TIMEOUT_MS = 20_000;

/** The node id a `pipit broker --cluster` child logged when it joined, and its peers then. */
function joinOf(node: CliNode): { nodeId: number; peers: number[] } {
  const match = /"nodeId":(\d+),"peers":\[([\d,]*)\][^\n]*"msg":"cluster: joined"/.exec(
    node.output(),
  );
  assert.ok(match, `no join logged:\n${node.output()}`);
  const peers = match[2] === '' ? [] : match[2]!.split(',').map(Number);
  return { nodeId: Number(match[1]), peers };
}

describe('cluster: a drain whose peer died', () => {
  let redis: RedisFixture;
  let dir: string;
  let file: string;
  const nodes: CliNode[] = [];
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    dir = mkdtempSync(join(tmpdir(), 'pipit-drain-dead-peer-'));
    file = join(dir, 'pipit.yaml');
    writeFileSync(
      file,
      `cluster:\n  url: ${redis.url}\n  leaseMs: ${LEASE_MS}\n  heartbeatMs: 100\n`,
    );
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    for (const node of nodes) await killNode(node);
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function node(): Promise<CliNode> {
    const started = await startCliNode(undefined, ['-c', file]);
    nodes.push(started);
    return started;
  }

  /**
   * A persistent session subscribed to `<topic>/#` on `on`, its client gone, and one QoS 1
   * message queued for it there.
   */
  async function offlineSession(on: CliNode, clientId: string, topic: string): Promise<void> {
    const client = await connectClient(on.url, persistentClient(clientId));
    await client.subscribeAsync(`${topic}/#`, { qos: 1 });
    await endClient(client);
    const publisher = await connectClient(on.url, { protocolVersion: 5 });
    await publisher.publishAsync(`${topic}/before`, 'queued', { qos: 1 });
    await endClient(publisher);
  }

  /** Kills `peer` (SIGKILL) and drains `drained` (SIGTERM) right after; resolves its exit code. */
  async function drainAfterKill(drained: CliNode, peer: CliNode): Promise<number | null> {
    const exited = once(drained.child, 'exit');
    await killNode(peer);
    drained.child.kill('SIGTERM');
    const [code] = await exited;
    return code as number | null;
  }

  it('hands the sessions to another live peer once the chosen one’s lease is gone, and exits 0', {
    timeout: TIMEOUT_MS,
  }, async () => {
    const first = await node();
    const second = await node();
    // Joining last, it sees both as live peers at once; it picks the one of lower id.
    const drained = await node();
    const byId = [first, second].sort((x, y) => joinOf(x).nodeId - joinOf(y).nodeId);
    const [chosen, other] = [byId[0]!, byId[1]!];
    const [chosenId, otherId] = [joinOf(chosen).nodeId, joinOf(other).nodeId];
    assert.deepEqual(
      [...joinOf(drained).peers].sort((x, y) => x - y),
      [chosenId, otherId],
    );
    await offlineSession(drained, 'ddp-moved', 'ddp/moved');

    assert.equal(await drainAfterKill(drained, chosen), 0);
    assert.match(
      drained.output(),
      new RegExp(`"node":${chosenId},"next":${otherId}[^\\n]*handing the sessions to another`),
    );
    assert.match(drained.output(), /"sessions":1[^\n]*"msg":"cluster: drained"/);
    // The other peer adopted the session: routed there, so what is published now is queued.
    const publisher = await connectClient(other.url, { protocolVersion: 5 });
    clients.push(publisher);
    await publisher.publishAsync('ddp/moved/after', 'routed', { qos: 1 });
    const back = await connectCollecting(other.url, persistentClient('ddp-moved'));
    clients.push(back.client);
    assert.equal(back.sessionPresent, true);
    await waitFor(() => back.messages.length >= 2, 10_000, 'the queued messages');
    assert.deepEqual(
      back.messages.map((m) => m.payload),
      ['queued', 'routed'],
    );
    // The next test starts with no live node: this one leaves (drains: no peer left).
    await Promise.all([endClient(publisher), endClient(back.client)]);
    await stopNode(other);
  });

  it('leaves the sessions in the store when its only peer died, exits 0, and a node started later gives them back', {
    timeout: TIMEOUT_MS,
  }, async () => {
    const only = await node();
    const drained = await node();
    const onlyId = joinOf(only).nodeId;
    assert.ok(joinOf(drained).peers.includes(onlyId));
    await offlineSession(drained, 'ddp-stored', 'ddp/stored');

    assert.equal(await drainAfterKill(drained, only), 0);
    assert.match(drained.output(), /no live peer left, the sessions wait in the store/);
    // As after a kill: a node that starts later restores the session with what it queued.
    const later = await node();
    const back = await connectCollecting(later.url, persistentClient('ddp-stored'));
    clients.push(back.client);
    assert.equal(back.sessionPresent, true);
    await waitFor(() => back.messages.length >= 1, 10_000, 'the queued message');
    assert.deepEqual(
      back.messages.map((m) => m.payload),
      ['queued'],
    );
  });
});
