/**
 * A dead node's inbox the senders' cap (`cluster.inboxMaxLength`) trimmed past the position
 * the node had committed: the entries it had not read are gone, though their publishers had
 * their PUBACK. The survivor cannot deliver them; before, it read on from what was left and
 * said nothing; now it counts the loss (`status().orphans.trimmed`) and logs it as an error
 * (src/cluster/orphan-reader.ts, src/cluster/trim-check.ts), and delivers what is left.
 *
 * A `pipit broker --cluster` child holds a persistent session and commits a first read; it
 * is frozen (SIGSTOP) while the survivor, in this process, publishes more than the cap to
 * it, then killed. A real redis-server whose streams are made of small nodes, so that
 * `MAXLEN ~ 100` trims a few entries at a time (with the default, 100 per stream node, it
 * would trim nothing below 200).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import {
  connectCollecting,
  leaveSubscriberOn,
  startSharedNode,
  type TestNode,
} from './cluster-nodes.js';
import { movingClient, numbered } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';

/** The smallest cap the options take. */
const CAP = 100;

describe('cluster: a dead node’s inbox trimmed by the cap', () => {
  let redis: RedisFixture;
  let doomed: CliNode;
  let survivor: TestNode;
  const lines: string[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    await redis.redis.config('SET', 'stream-node-max-entries', '4');
    const dir = mkdtempSync(join(tmpdir(), 'pipit-trimmed-'));
    const file = join(dir, 'pipit.yaml');
    // A lease long enough for the publishes while the child is frozen.
    writeFileSync(
      file,
      `cluster:\n  url: ${redis.url}\n  leaseMs: 10000\n  heartbeatMs: 100\n  inboxMaxLength: ${CAP}\n`,
    );
    doomed = await startCliNode(redis.url, ['-c', file]);
    survivor = await startSharedNode(redis, {
      cluster: { url: redis.url, inboxMaxLength: CAP },
      logger: capturingLogger(lines, ['error']),
    });
  });

  after(async () => {
    await killNode(doomed);
    await survivor?.close();
    await redis?.stop();
  });

  it('counts and logs the loss of the entries trimmed past the dead node’s position, and delivers the rest once', async () => {
    const r = redis.redis;
    const doomedId = await leaveSubscriberOn(
      redis,
      doomed.url,
      survivor,
      'trimmed-sub',
      'trimmed/t',
    );
    const instance = (await r.hget('pipit:instances', String(doomedId)))!;
    const inbox = `pipit:inbox:${doomedId}`;
    const cursor = `pipit:cursor:inbox:${instance}`;

    const publisher = await connectClient(survivor.url, { protocolVersion: 5 });
    const read = numbered('read', 3);
    for (const payload of read) await publisher.publishAsync('trimmed/t', payload, { qos: 1 });
    await waitFor(
      async () => {
        const [last] = await r.xrevrange(inbox, '+', '-', 'COUNT', 1);
        return last !== undefined && (await r.get(cursor)) === last[0];
      },
      15_000,
      'the doomed node to commit its inbox position',
    );
    const position = (await r.get(cursor))!;

    doomed.child.kill('SIGSTOP');
    const unread = numbered('unread', 2 * CAP);
    for (const payload of unread) await publisher.publishAsync('trimmed/t', payload, { qos: 1 });
    await endClient(publisher);
    assert.equal((await r.xrange(inbox, position, position)).length, 0, 'the cap trimmed it');
    const left = await r.xlen(inbox);
    await killNode(doomed);

    const status = () => survivor.broker.cluster!.status().orphans;
    await waitFor(() => status().inboxes === 1, 30_000, 'the inbox to be read');
    assert.equal(status().trimmed, 1);
    assert.equal(status().messages, left, 'what the cap left is delivered');
    assert.ok(
      lines.some((l) => /trimmed entries it had not read of a dead node’s inbox/.test(l)),
      `logged: ${lines.join(' | ')}`,
    );
    const back = await connectCollecting(survivor.url, movingClient('trimmed-sub'));
    try {
      assert.equal(back.sessionPresent, true);
      const kept = [...read, ...unread.slice(unread.length - left)];
      const got = () => back.messages.map((m) => m.payload);
      await waitFor(() => kept.every((p) => got().includes(p)), 15_000, 'what was left');
      assert.deepEqual(
        got().filter((p, i) => got().indexOf(p) !== i),
        [],
        'delivered twice',
      );
    } finally {
      await endClient(back.client);
    }
  });
});
