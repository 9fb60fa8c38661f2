/**
 * A second node death while the first survivor delivers the dead node's inbox (issue #11).
 * Node D (a `pipit broker` child) holds two persistent sessions, offline, and is frozen while
 * a publisher on node V fills its inbox with more than one page (512 entries) of messages for
 * them, then killed. V removes D, adopts both sessions and delivers D's inbox page by page:
 * the first page is committed with D's inbox position; the position of the second is lost and
 * V's store never answers a commit after it (gated-node-main.ts, `GATE_CURSOR`: the second
 * page's queue writes may still be flushed, without the position); V is killed there. Node W
 * takes the recovery over and reads on from that position, leaving out what a session holds
 * already (by message id): every message comes once, QoS 2 exactly once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import { connectCollecting, startSharedNode } from './cluster-nodes.js';
import {
  type GatedNode,
  kill,
  ownerNode,
  Publisher,
  startGatedNode,
  subscribeOffline,
} from './recovery-fixture.js';
import { RedisFixture } from './redis-fixture.js';

const SESSIONS: IClientOptions[] = [
  {
    protocolVersion: 5,
    clientId: 'rti-a',
    clean: false,
    properties: { sessionExpiryInterval: 300 },
  },
  { protocolVersion: 4, clientId: 'rti-b', clean: false },
];
const topicOf = (clientId: string): string => `rti/${clientId}`;
/** Messages left in D's inbox: one page of the orphan reader (512) and part of another. */
const UNREAD = 600;
const PAGE = 512;

describe('cluster: a second node death while the dead node’s inbox is delivered', () => {
  let redis: RedisFixture;
  let doomed: CliNode;
  let recoverer: GatedNode | undefined;
  let last: (TestBroker & { nodeId: number }) | undefined;

  before(async () => {
    redis = await RedisFixture.start();
    const file = join(mkdtempSync(join(tmpdir(), 'pipit-rti-')), 'pipit.yaml');
    // A lease long enough for the frozen node's inbox to take UNREAD messages.
    writeFileSync(file, `cluster:\n  url: ${redis.url}\n  leaseMs: 10000\n  heartbeatMs: 100\n`);
    doomed = await startCliNode(undefined, ['-c', file]);
  });

  after(async () => {
    if (doomed) await killNode(doomed);
    if (recoverer) await kill(recoverer.child);
    await last?.close();
    await redis?.stop();
  });

  it('the next survivor reads on from the position the dead survivor committed with its deliveries: each message once, QoS 2 exactly once', async () => {
    const r = redis.redis;
    await subscribeOffline(doomed.url, SESSIONS, topicOf);
    const { nodeId: doomedId, instance, inbox } = await ownerNode(r, 'rti-a');
    const position = `pipit:cursor:inbox:${instance}`;
    recoverer = await startGatedNode(redis.url, { GATE_CURSOR: `inbox:${instance}` });
    const lastEntry = async () => (await r.xrevrange(inbox, '+', '-', 'COUNT', 1))[0]?.[0];
    const onV = new Publisher(await connectClient(recoverer.url, { protocolVersion: 5 }));
    for (const { clientId } of SESSIONS) {
      await waitFor(
        async () => {
          const before = await lastEntry();
          await onV.send(topicOf(clientId!), `probe-${clientId}`, 1, false);
          return (await lastEntry()) !== before;
        },
        10_000,
        `node V to route ${clientId} to node D`,
      );
    }
    await waitFor(
      async () => (await r.get(position)) === (await lastEntry()),
      15_000,
      'node D to commit its inbox position',
    );

    const committedByD = (await r.get(position))!;
    doomed.child.kill('SIGSTOP');
    const read = await r.xlen(inbox);
    for (let i = 0; i < UNREAD; i++) {
      const { clientId } = SESSIONS[i % SESSIONS.length]!;
      await onV.send(topicOf(clientId!), `unread-${i}`, i % 4 < 2 ? 2 : 1);
    }
    assert.equal(await r.xlen(inbox), read + UNREAD, 'one entry per message');
    await killNode(doomed);
    await endClient(onV.client);

    // V delivered the first page, committed it with the position, and stops at the second.
    await recoverer.gated;
    const orphan = `pipit:orphan:${doomedId}:${instance}`;
    const page = await r.xrange(orphan, `(${committedByD}`, '+', 'COUNT', PAGE);
    const pageEnd = page[PAGE - 1]?.[0];
    assert.equal(await r.get(position), pageEnd, 'V committed the first page’s position');

    last = await startSharedNode(redis);
    await kill(recoverer.child);
    const status = () => last!.broker.cluster!.status();
    await waitFor(
      async () =>
        status().orphans.takenOver === 1 && (await r.exists(`pipit:recovering:${doomedId}`)) === 0,
      30_000,
      'node W to take D’s recovery over',
    );
    console.log(JSON.stringify(status().orphans), await r.keys('pipit:*orphan*'));
    assert.equal(status().orphans.messages, UNREAD - PAGE, 'W read on from V’s position');
    assert.equal(await r.exists(orphan), 0, 'the renamed inbox is deleted');

    for (const options of SESSIONS) {
      const expected = onV.acked.get(topicOf(options.clientId!)) ?? [];
      const back = await connectCollecting(last.url, options);
      try {
        assert.equal(back.sessionPresent, true, `${options.clientId}: session present`);
        const has = (payload: string) => back.messages.some((m) => m.payload === payload);
        await waitFor(
          () => expected.every((m) => has(m.payload)),
          20_000,
          `${options.clientId}: every acknowledged message`,
        );
        const twice = expected.filter(
          (m) => m.qos === 2 && back.messages.filter((x) => x.payload === m.payload).length !== 1,
        );
        assert.deepEqual(twice, [], `${options.clientId}: QoS 2 messages not exactly once`);
      } finally {
        await endClient(back.client);
      }
    }
  });
});
