/**
 * A node's own inbox trimmed by the senders' cap (`cluster.inboxMaxLength`) before the node
 * read it: a reader that fell further behind than the cap (frozen here with SIGSTOP; in life
 * a stalled process or a long loss of Redis). The entries trimmed are lost, though their
 * publishers had their PUBACK; before, the reader read on from what was left and said
 * nothing; now, after a read that long, it looks up the entry it read after, finds it gone,
 * and logs the loss as an error (counted in `status().inbox.trimmedUnread`:
 * src/cluster/trim-check.ts).
 *
 * A `pipit broker --cluster` child (its log is what the test reads) and a publishing node in
 * this process, on a real redis-server whose streams are made of small nodes, so that
 * `MAXLEN ~ 100` trims a few entries at a time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import { leaveSubscriberOn, startSharedNode, type TestNode } from './cluster-nodes.js';
import { numbered } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';

/** The smallest cap the options take. */
const CAP = 100;
const LOSS = /the inbox cap \(cluster\.inboxMaxLength\) trimmed entries before this node read them/;

describe('cluster: the inbox cap trims entries its node has not read', () => {
  let redis: RedisFixture;
  let slow: CliNode;
  let publisherNode: TestNode;

  before(async () => {
    redis = await RedisFixture.start();
    await redis.redis.config('SET', 'stream-node-max-entries', '4');
    const file = join(mkdtempSync(join(tmpdir(), 'pipit-slow-')), 'pipit.yaml');
    // A lease long enough that the frozen node is not counted dead meanwhile.
    writeFileSync(
      file,
      `cluster:\n  url: ${redis.url}\n  leaseMs: 10000\n  heartbeatMs: 100\n  inboxMaxLength: ${CAP}\n`,
    );
    slow = await startCliNode(redis.url, ['-c', file]);
    publisherNode = await startSharedNode(redis, {
      cluster: { url: redis.url, leaseMs: 10_000, heartbeatMs: 100, inboxMaxLength: CAP },
    });
  });

  after(async () => {
    await killNode(slow);
    await publisherNode?.close();
    await redis?.stop();
  });

  it('logs the loss when a read finds the entry it read after trimmed away', async () => {
    const r = redis.redis;
    const slowId = await leaveSubscriberOn(redis, slow.url, publisherNode, 'slow-sub', 'slow/t');
    const inbox = `pipit:inbox:${slowId}`;
    const publisher = await connectClient(publisherNode.url, { protocolVersion: 5 });
    const read = numbered('read', 3);
    for (const payload of read) await publisher.publishAsync('slow/t', payload, { qos: 1 });
    // Read: the stream holds the last entry read only (the node trimmed up to it when idle).
    await waitFor(async () => (await r.xlen(inbox)) === 1, 15_000, 'the first reads');
    const [[readUpTo]] = (await r.xrange(inbox, '-', '+')) as [[string, string[]]];
    assert.equal(LOSS.test(slow.output()), false);

    slow.child.kill('SIGSTOP');
    const unread = numbered('unread', 2 * CAP);
    for (const payload of unread) await publisher.publishAsync('slow/t', payload, { qos: 1 });
    await endClient(publisher);
    assert.equal((await r.xrange(inbox, readUpTo, readUpTo)).length, 0, 'the cap trimmed it');
    slow.child.kill('SIGCONT');
    // The read blocked when the node was frozen got the first unread entry (Redis answered it
    // meanwhile): the next read, after that one, finds it trimmed.
    await waitFor(() => LOSS.test(slow.output()), 15_000, 'the loss to be logged');
  });
});
