/**
 * A node that joins while a survivor recovers a dead node (issue #11: nothing acknowledged is
 * lost when a node dies). The survivor removes the dead node from `nodes` first, then adopts
 * its sessions and routes them, then announces the departure. A node that joined in between
 * once found no route table of the dead node (deleted with its membership) and none of the
 * survivor's yet: a publish there for the dead node's sessions was acknowledged and routed
 * nowhere (one crash-loop loss). Now the table stays until the departure is announced and a
 * joining node reads it: such a publish is refused (v5 PUBACK 0x97: the node left), and the
 * publisher sends it again once the survivor routes the session.
 *
 * The survivor is a real node whose store holds the dead node's session read (a gate around
 * its real Redis store's `loadSession`), so the test controls how long the recovery lasts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import type { BrokerStore } from '../../src/ports/index.js';
import { RedisStore } from '../../src/storage/redis/redis-store.js';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import { connectCollecting, routesOf, startSharedNode } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

const SUBSCRIBER: IClientOptions = {
  protocolVersion: 5,
  clientId: 'jr-sub',
  clean: false,
  properties: { sessionExpiryInterval: 300 },
};

/** A real Redis store whose `loadSession(clientId)` waits until {@link open} is called. */
function gatedStore(url: string, clientId: string): { store: BrokerStore; open: () => void } {
  const real = new RedisStore({ url });
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const store = new Proxy(real, {
    get(target, key) {
      if (key === 'loadSession') {
        return async (id: string) => {
          if (id === clientId) await gate;
          return target.loadSession(id);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store, open };
}

describe('cluster: a node that joins while a dead node is recovered', () => {
  let redis: RedisFixture;
  let doomed: CliNode;
  let survivor: TestBroker & { nodeId: number };
  let joiner: (TestBroker & { nodeId: number }) | undefined;
  let gate: ReturnType<typeof gatedStore>;

  before(async () => {
    redis = await RedisFixture.start();
    const file = join(mkdtempSync(join(tmpdir(), 'pipit-jr-')), 'pipit.yaml');
    writeFileSync(file, `cluster:\n  url: ${redis.url}\n  leaseMs: 1000\n  heartbeatMs: 100\n`);
    doomed = await startCliNode(redis.url, ['-c', file]);
    gate = gatedStore(redis.url, 'jr-sub');
    survivor = await startSharedNode(redis, { store: gate.store });
  });

  after(async () => {
    gate?.open();
    if (doomed) await killNode(doomed);
    await joiner?.close();
    await survivor?.close();
    await redis?.stop();
  });

  it('reads the dead node’s routes until the survivor announces its departure: a publish for its sessions is refused (0x97), never acknowledged and routed nowhere', async () => {
    const r = redis.redis;
    const first = await connectCollecting(doomed.url, SUBSCRIBER);
    await first.client.subscribeAsync('jr/t', { qos: 1 });
    await endClient(first.client);
    const doomedId = Number((await r.get('pipit:owner:jr-sub'))?.split('/')[0]);
    await waitFor(
      () => routesOf(survivor, doomedId).includes('jr/t'),
      10_000,
      'the survivor to know the dead node’s route',
    );

    await killNode(doomed);
    // The survivor removed the node from `nodes` and is recovering it (held at the gate).
    await waitFor(
      async () =>
        (await r.sismember('pipit:nodes', String(doomedId))) === 0 &&
        (await r.exists(`pipit:recovering:${doomedId}`)) === 1,
      15_000,
      'the survivor to remove the dead node',
    );
    assert.equal(await r.exists(`pipit:routes:${doomedId}`), 1, 'its route table is kept');

    joiner = await startSharedNode(redis);
    assert.deepEqual(routesOf(joiner, doomedId), ['jr/t'], 'the joining node read it');
    const publisher = await connectClient(joiner.url, { protocolVersion: 5 });
    try {
      // Refused, not acknowledged: its only route is the node that left.
      await assert.rejects(publisher.publishAsync('jr/t', 'during', { qos: 1 }), (err) => {
        assert.equal((err as { code?: number }).code, 0x97);
        return true;
      });

      gate.open();
      // The survivor routes the session, then announces the departure: the table goes.
      await waitFor(
        () => routesOf(joiner!, survivor.nodeId).includes('jr/t'),
        15_000,
        'the joining node to learn the survivor’s route',
      );
      await waitFor(
        () => routesOf(joiner!, doomedId).length === 0,
        15_000,
        'the dead node’s routes to go',
      );
      assert.equal(await r.exists(`pipit:routes:${doomedId}`), 0, 'its table is deleted');
      await publisher.publishAsync('jr/t', 'after', { qos: 1 });
    } finally {
      await endClient(publisher);
    }
    const back = await connectCollecting(survivor.url, SUBSCRIBER);
    try {
      assert.equal(back.sessionPresent, true);
      await waitFor(() => back.messages.length >= 1, 10_000, 'the queued message');
      assert.deepEqual(
        back.messages.map((m) => m.payload),
        ['after'],
      );
    } finally {
      await endClient(back.client);
    }
  });
});
