/**
 * Child process for the Redis store's kill -9 tests (redis-release-kill.test.ts): opens the
 * Redis store at argv[2] and, by argv[3]:
 *
 * - `once`: commits messages ONCE_BASE + 1-6 referenced by queue and inflight entries, then one batch
 *   that removes every entry but the one of message 4 (a dequeue, an inflight entry
 *   deleted, one replaced, a queue deleted), and kills itself (SIGKILL) as soon as that
 *   commit resolves: nothing the store would send after it (a later batch) goes out.
 * - `loop`: four clients each queue a message (the same one for two clients), move it to an
 *   inflight entry under a packet id reused every 5 messages (so a put replaces an older
 *   message), dequeue it, sometimes delete an inflight entry or the whole queue, and print a
 *   line after each commit, until the test kills the process (at most 30 s).
 */
import { RedisStore } from '../../src/storage/index.js';
import { delivery, plainMessage } from '../contracts/store-fixtures.js';
import { ONCE_BASE } from './redis-release-ids.js';

const store = new RedisStore({ url: process.argv[2] ?? '', commandTimeoutMs: 5000 });
await store.open();

if (process.argv[3] === 'once') {
  // Ids of the size a cluster node hands out (blocks of 2^24 per node id: above 10^15),
  // where Lua prints a number with an exponent unless told otherwise.
  const id = (n: number) => ONCE_BASE + n;
  for (let n = 1; n <= 6; n++) store.putMessage(plainMessage(id(n)));
  store.enqueue('a', 1, delivery(id(1)));
  store.putInflight('b', { packetId: 1, state: 'publish', delivery: delivery(id(2)) });
  store.putInflight('c', { packetId: 1, state: 'publish', delivery: delivery(id(3)) });
  store.enqueue('d', 1, delivery(id(5)));
  store.putInflight('d', { packetId: 1, state: 'publish', delivery: delivery(id(6)) });
  await store.commit();
  store.dequeue('a', 1);
  store.deleteInflight('b', 1);
  store.putMessage(plainMessage(id(4)));
  store.putInflight('c', { packetId: 1, state: 'publish', delivery: delivery(id(4)) });
  store.deleteQueue('d');
  await store.commit();
  process.stdout.write('committed\n');
  process.kill(process.pid, 'SIGKILL');
} else {
  const deadline = Date.now() + 30_000;
  let nextId = (await store.load()).lastMessageId;
  const client = async (n: number): Promise<void> => {
    // Names of this run's own (a run after a kill starts its clients' queues afresh).
    const clientId = `c${n}-${process.pid}`;
    const other = `c${(n + 1) % 4}-${process.pid}`;
    let seq = 0;
    for (let i = 1; Date.now() < deadline; i++) {
      const message = plainMessage(++nextId);
      store.putMessage(message);
      store.enqueue(clientId, ++seq, delivery(message.id));
      if (i % 3 === 0) store.enqueue(`${other}-fan`, i, delivery(message.id));
      await store.commit();
      store.putMessage(message);
      store.putInflight(clientId, {
        packetId: (i % 5) + 1,
        state: 'publish',
        delivery: delivery(message.id),
      });
      store.dequeue(clientId, seq);
      if (i % 7 === 0) store.deleteInflight(clientId, ((i + 2) % 5) + 1);
      if (i % 11 === 0) store.dequeue(`${other}-fan`, i);
      if (i % 50 === 0) store.deleteQueue(clientId);
      await store.commit();
      process.stdout.write(`${clientId} ${i}\n`);
    }
  };
  await Promise.all([0, 1, 2, 3].map(client));
  await store.close();
}
