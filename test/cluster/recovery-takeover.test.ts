/**
 * A second node death during the recovery of the first (issue #11: nothing acknowledged is
 * lost when a node dies). Node D (a `pipit broker` child) holds three persistent sessions,
 * offline; a publisher on node V forwards messages to them through D's inbox. D reads and
 * commits the first ones, is frozen (its inbox fills) and killed. V removes it and starts
 * adopting its sessions, and dies in the middle: V is a child whose store never answers
 * the read of the second session it adopts (gated-node-main.ts), and it is killed (SIGKILL)
 * there. So one session of D is adopted by V, one has its owner key taken by V and was never
 * read, one still names D, and D's inbox was not read. Node W (in this process, joined while
 * V was stuck) removes V and takes D's recovery over: every session is adopted and every
 * acknowledged message reaches its subscriber, QoS 2 ones exactly once.
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

/** D's persistent sessions: 5.0 and 3.1.1, each subscribed to its own topic with QoS 2. */
const SESSIONS: IClientOptions[] = [
  {
    protocolVersion: 5,
    clientId: 'rt-a',
    clean: false,
    properties: { sessionExpiryInterval: 300 },
  },
  { protocolVersion: 4, clientId: 'rt-b', clean: false },
  {
    protocolVersion: 5,
    clientId: 'rt-c',
    clean: false,
    properties: { sessionExpiryInterval: 300 },
  },
];
const topicOf = (clientId: string): string => `rt/${clientId}`;

/**
 * Who finishes: a survivor W that removes V (`removes`), or a node that claims V's node id
 * before anyone removed V (`claims`: it inherits V's inbox and restores V's sessions).
 */
for (const mode of ['removes', 'claims'] as const) {
  describe(`cluster: a second node death during the recovery of the first (the next node ${mode === 'removes' ? 'removes the dead recoverer' : 'claims the dead recoverer’s node id'})`, () => {
    let redis: RedisFixture;
    let doomed: CliNode;
    let recoverer: GatedNode;
    let last: (TestBroker & { nodeId: number }) | undefined;

    before(async () => {
      redis = await RedisFixture.start();
      const file = join(mkdtempSync(join(tmpdir(), 'pipit-rt-')), 'pipit.yaml');
      // A lease long enough for the frozen node's inbox to fill before it is removed.
      writeFileSync(file, `cluster:\n  url: ${redis.url}\n  leaseMs: 4000\n  heartbeatMs: 100\n`);
      doomed = await startCliNode(undefined, ['-c', file]);
      recoverer = await startGatedNode(redis.url, {
        GATE_CLIENTS: SESSIONS.map((s) => s.clientId!).join(','),
      });
    });

    after(async () => {
      if (doomed) await killNode(doomed);
      if (recoverer) await kill(recoverer.child);
      await last?.close();
      await redis?.stop();
    });

    it('the next node takes the dead recoverer’s recovery over: every session adopted, every acknowledged message delivered, QoS 2 exactly once', async () => {
      const r = redis.redis;
      await subscribeOffline(doomed.url, SESSIONS, topicOf);
      const { nodeId: doomedId, instance, inbox } = await ownerNode(r, 'rt-a');
      const lastEntry = async () => (await r.xrevrange(inbox, '+', '-', 'COUNT', 1))[0]?.[0];
      const onV = new Publisher(await connectClient(recoverer.url, { protocolVersion: 5 }));
      // V routes each topic to D: a forward lands in D's inbox.
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
      let n = 0;
      const round = async (phase: string, publisher: Publisher) => {
        for (const { clientId } of SESSIONS) {
          n++;
          await publisher.send(topicOf(clientId!), `${phase}-${n}`, n % 2 === 0 ? 1 : 2);
        }
      };
      for (let i = 0; i < 4; i++) await round('read', onV);
      // D read them and committed its position with what they queued.
      await waitFor(
        async () => (await r.get(`pipit:cursor:inbox:${instance}`)) === (await lastEntry()),
        15_000,
        'node D to commit its inbox position',
      );
      doomed.child.kill('SIGSTOP');
      const read = await r.xlen(inbox);
      for (let i = 0; i < 4; i++) await round('unread', onV);
      assert.equal(await r.xlen(inbox), read + 12, 'the unread messages wait in D’s inbox');
      await killNode(doomed);
      await endClient(onV.client);

      // V removes D, adopts one session, takes the next one's owner key and stops there.
      const gatedId = await recoverer.gated;
      const vOwner = await r.get(`pipit:recoverer:${doomedId}`);
      assert.match(vOwner ?? '', new RegExp(`^${recoverer.nodeId}/`), 'V recovers D');
      assert.equal(await r.scard(`pipit:adopted:${doomedId}`), 2, 'V adopted one, took another');
      assert.equal(await r.get(`pipit:owner:${gatedId}`), vOwner);
      const owners = await r.mget(SESSIONS.map((s) => `pipit:owner:${s.clientId}`));
      assert.equal(
        owners.filter((owner) => owner === `${doomedId}/${instance}`).length,
        1,
        'one session still names D',
      );

      const publishers = [onV];
      // While V is stuck: acknowledged only where routed (V's adopted session), else refused.
      if (mode === 'removes') last = await startSharedNode(redis);
      const stuck = new Publisher(
        await connectClient((last ?? recoverer).url, { protocolVersion: 5 }),
      );
      publishers.push(stuck);
      await round('stuck', stuck);
      await endClient(stuck.client);
      await kill(recoverer.child);
      if (mode === 'claims') {
        const lease = `pipit:node:${recoverer.nodeId}`;
        await waitFor(async () => (await r.exists(lease)) === 0, 10_000, 'V’s lease to expire');
        last = await startSharedNode(redis, {
          cluster: { url: redis.url, nodeId: recoverer.nodeId },
        });
      }
      const onW = new Publisher(await connectClient(last!.url, { protocolVersion: 5 }));
      publishers.push(onW);
      try {
        const status = () => last!.broker.cluster!.status();
        await waitFor(
          async () =>
            status().orphans.takenOver === 1 &&
            (await r.exists(`pipit:recovering:${doomedId}`)) === 0 &&
            (await r.exists(`pipit:recovering:${recoverer.nodeId}`)) === 0,
          30_000,
          'the next node to take D’s recovery over',
        );
        // An inbox inherited with the node id (every member has one since forwards need it to
        // exist) is read by the same recovery chain, after the takeover: wait for it too.
        await waitFor(
          async () => (await r.keys('pipit:orphan:*')).length === 0,
          10_000,
          'the renamed inboxes to be read',
        );
        assert.deepEqual(await r.keys('pipit:orphan:*'), [], 'the renamed inboxes are read');
        for (const key of ['recoverer', 'adopted']) {
          assert.deepEqual(await r.keys(`pipit:${key}:*`), [], `no ${key} key is left`);
        }
        for (let i = 0; i < 2; i++) await round('after', onW);
      } finally {
        await endClient(onW.client);
      }

      for (const options of SESSIONS) {
        const topic = topicOf(options.clientId!);
        const expected = publishers.flatMap((publisher) => publisher.acked.get(topic) ?? []);
        const back = await connectCollecting(last!.url, options);
        try {
          assert.equal(back.sessionPresent, true, `${options.clientId}: session present`);
          const has = (payload: string) => back.messages.some((m) => m.payload === payload);
          await waitFor(
            () => expected.every((m) => has(m.payload)),
            15_000,
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
      assert.equal(last!.broker.cluster!.status().orphans.inboxes >= 1, true);
    });
  });
}
