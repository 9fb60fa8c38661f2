/**
 * A Redis store batch that fails at once (the connection down: ioredis refuses the commands
 * without sending them) is still reported to a commit taken later in the same round of
 * `setImmediate` callbacks. Persistence looks at its turn's commit that way (CommitTurns
 * .onTurnFailure, commitAfterTurn): the store's own flush runs first, its batch fails within
 * microtasks, and a commit that found nothing pending or in flight then resolved. The sentinel
 * failover test lost two acknowledged messages so: queued for an away subscriber right after
 * the master's kill, reported committed, never held in memory, not in the store.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RedisStore } from '../../src/storage/index.js';
import { waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const servers: RedisServer[] = [];
after(async () => {
  for (const s of servers) await s.destroy();
});

describe('the Redis store, a batch that fails at once', () => {
  it('is reported to a commit taken after its flush in the same round of immediates', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const lines: string[] = [];
    const store = new RedisStore({ url: server.url, logger: capturingLogger(lines) });
    await store.open();
    after(() => store.close());
    await server.stop();
    await waitFor(
      () => lines.some((l) => l.startsWith('store: Redis connection lost')),
      10_000,
      'the store to see its connection lost',
    );
    // A write, then a commit looked at on a later immediate than the store's flush (as
    // Persistence does at the end of a turn).
    store.deleteWill('c');
    const later = await new Promise<{ commit: Promise<void> }>((resolve) =>
      setImmediate(() => resolve({ commit: store.commit() })),
    );
    await assert.rejects(later.commit, /unavailable|not writeable|connection/i);
  });
});
