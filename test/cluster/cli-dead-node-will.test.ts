/**
 * The will of a client of a `pipit broker --cluster` node killed with SIGKILL, sent by a
 * survivor that is a `pipit broker` too (issue #11). The survivor authorizes the will under
 * the client's listener, which is the dead node's: on one host the nodes listen on different
 * ports, so its default name (`mqtt:<port>`) is not one of the survivor's. The survivor's
 * listener policy denied it and the will was dropped ("publish denied", warn); the flaky
 * cli-nodes test saw this whenever its child, not the in-process node (no hooks), won the
 * dead node's traces. Here the child is the only survivor, so it always sends the will: its
 * listener policy still defers the unknown listener, and the verdict the dead node recorded
 * with the will's copy (allow: no ACL there) decides (cli-will-verdict.test.ts has ACLs).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient, endClient, nextMessages, waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import { joinedNodeId } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: a pipit broker survivor sends the will of a dead node’s client', () => {
  let redis: RedisFixture;
  let doomed: CliNode;
  let survivor: CliNode;

  before(async () => {
    redis = await RedisFixture.start();
    const file = join(mkdtempSync(join(tmpdir(), 'pipit-dnw-')), 'pipit.yaml');
    writeFileSync(file, `cluster:\n  url: ${redis.url}\n  leaseMs: 1000\n  heartbeatMs: 100\n`);
    doomed = await startCliNode(undefined, ['-c', file]);
    survivor = await startCliNode(undefined, ['-c', file]);
  });

  after(async () => {
    await killNode(doomed);
    await killNode(survivor);
    await redis.stop();
  });

  it('[MQTT-3.1.2-8] publishes it although the client’s listener is the dead node’s', async () => {
    const doomedId = joinedNodeId(doomed);
    const watcher = await connectClient(survivor.url, { protocolVersion: 5 });
    await watcher.subscribeAsync('dnw/will', { qos: 1 });
    const client = await connectClient(doomed.url, {
      protocolVersion: 5,
      clientId: 'dnw-client',
      reconnectPeriod: 0,
      will: { topic: 'dnw/will', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    client.on('error', () => {});
    await waitFor(
      async () => (await redis.redis.hexists(`pipit:wills:${doomedId}`, 'dnw-client')) === 1,
      5000,
      'the will copied to Redis',
    );
    const will = nextMessages(watcher, 1, 15_000);
    await killNode(doomed);
    await endClient(client, true);
    const [message] = await will.catch((err: Error) => {
      throw new Error(`${err.message}; the survivor logged:\n${survivor.output()}`);
    });
    assert.equal(message!.payload.toString(), 'gone');
    assert.equal(message!.topic, 'dnw/will');
    assert.doesNotMatch(survivor.output(), /publish denied/);
    await endClient(watcher, true);
  });
});
